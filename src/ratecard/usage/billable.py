"""Events that can never be billed, refused at ingestion (issue 11 item 3).

Validation (:mod:`ratecard.usage.events`) says whether an event is well formed; this says
whether the catalog can ever price it. Every metered event falls in one category in one
country (a ``usage`` event names its category itself; a call, a message, a number or a task
gets its own from its fields, as :mod:`ratecard.usage.normalize` meters it). An event whose
category the catalog does not have, or whose category the catalog prices by country but not in
the event's country (a call to FR when only the US/Canada pool prices calls), or not without
a country, would make its account's invoice, Usage Records and the month close fail, for
good. So it is refused, naming the field.

A category priced in no country at all is let through: the invoice says so
(:class:`~ratecard.errors.NoPriceError`), as before (a catalog may leave a category to the
Flex plans). Events that meter nothing here (releases, Flex seat events) are not checked.

Pure: the catalog is given (the service layer loads it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ratecard.errors import Problem, RatingError
from ratecard.usage.events import Event, NumberPurchased, UsageRecord, excerpt, screened
from ratecard.usage.metering import METERS

if TYPE_CHECKING:
    from ratecard.catalog import Catalog, CatalogVersion

#: ``(field, reason)`` pairs: why an event can never be priced (none: it can).
Refusals = list[tuple[str, str]]


def metered_as(event: Event) -> tuple[str, str | None] | None:
    """The category and country ``event`` is metered in (None: it meters nothing here), by
    the one metering table (:data:`~ratecard.usage.metering.METERS`); a number purchase, not
    metered one event at a time, in the category of its monthly charges."""
    if isinstance(event, NumberPurchased):
        return f"phonenumbers-{event.number_type}", event.country
    meter = METERS.get(event.type)
    if meter is None:
        return None
    country = getattr(event, "country", None) if meter.located else None
    return meter.category(event), country


def billable(
    events: Sequence[tuple[str, Event]], catalog: Catalog
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """The events the catalog can price, and one problem per other event."""
    return screened(events, _judge(catalog))


def priced_throughout(
    catalog: Catalog, pairs: Collection[tuple[str, str | None]], first: datetime, last: datetime
) -> bool:
    """Whether every ``(category, country)`` of ``pairs`` is a category of the catalog and can
    be priced at every moment from ``first`` to ``last`` (each catalog version in force then
    is asked): the ingestion fast path's check of a whole batch at once."""
    if any(category not in catalog.categories for category, _ in pairs):
        return False
    try:
        versions = [catalog.at(first)]
    except RatingError:
        return False
    versions += [v for v in catalog.versions if first.date() < v.effective <= last.date()]
    return all(
        not _unpriced(catalog, version, category, country)
        for version in versions
        for category, country in pairs
    )


def _judge(catalog: Catalog) -> Callable[[Event], Refusals]:
    """The refusals of one event, remembered per (category, country, version): a batch of
    calls has a handful of distinct ones."""
    known: dict[tuple[str, str | None, str], Refusals] = {}

    def refusals(event: Event) -> Refusals:
        metered = metered_as(event)
        if metered is None:
            return []
        category, country = metered
        if category not in catalog.categories:
            return [("category", _unknown(catalog, category, event))]
        try:
            version = catalog.at(event.time)
        except RatingError as exc:  # before the catalog's first version: never priced
            return [("time", str(exc))]
        key = (category, country, version.label)
        if key not in known:
            known[key] = _unpriced(catalog, version, category, country)
        return known[key]

    return refusals


def _unknown(catalog: Catalog, category: str, event: Event) -> str:
    if isinstance(event, UsageRecord):
        return (
            f"{excerpt(category)} is not a category of the catalog '{catalog.name}' "
            "('ratecard catalog check' lists them)"
        )
    return (  # the category follows from the event's fields: say which
        f"this {event.type} is metered as '{category}', which is not a category of the "
        f"catalog '{catalog.name}' ('ratecard catalog check' lists them)"
    )


def _unpriced(
    catalog: Catalog, version: CatalogVersion, category: str, country: str | None
) -> Refusals:
    """Why ``category`` in ``country`` has no price in ``version`` (none: it has one, or no
    country prices it at all, which the invoice reports as before)."""
    if version.charge_for(category, country) is not None:
        return []
    countries = sorted(
        {c for pool in version.pools if category in pool.rates for c in pool.countries}
        | {c for price in version.prices if price.category == category for c in price.countries}
    )
    if not countries:
        return []  # no price in any country: the invoice says so (NoPriceError), as before
    listed = ", ".join(countries)
    if country is None:
        return [
            (
                "country",
                f"category '{category}' is priced by country ({listed}): give the event's country",
            )
        ]
    where = "" if len(catalog.versions) == 1 else f" (version {version.label})"
    return [
        (
            "country",
            f"category '{category}' has no price in country {country} in the catalog "
            f"'{catalog.name}'{where}: it is priced in {listed} only",
        )
    ]
