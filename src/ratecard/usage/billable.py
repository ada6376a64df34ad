"""Events that can never be billed, refused at ingestion (issue 11 item 3).

Validation (:mod:`ratecard.usage.events`) says whether an event is well formed; this says
whether the catalog can ever price it. A ``usage`` event names its category itself, so it may
name one the catalog does not have, or leave out the country of a category the catalog prices
by country only (the US/Canada pools): stored, such an event would make its account's invoice,
Usage Records and the month close fail, for good. So it is refused, naming the field.

Pure: the catalog is given (the service layer loads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ratecard.errors import Problem, RatingError
from ratecard.usage.events import Event, UsageRecord, excerpt, screened

if TYPE_CHECKING:
    from ratecard.catalog import Catalog


def billable(
    events: Sequence[tuple[str, Event]], catalog: Catalog
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """The events the catalog can price, and one problem per other event."""
    if all(type(event) is not UsageRecord for _, event in events):
        return list(events), []  # the usual batch of calls, messages, ...: nothing to check
    return screened(events, lambda event: _refusals(event, catalog))


def _refusals(event: Event, catalog: Catalog) -> list[tuple[str, str]]:
    """``(field, reason)`` of why the catalog can never price ``event`` (none: it can)."""
    if not isinstance(event, UsageRecord):
        return []  # their categories follow from their fields (calls, messages, ...)
    category = event.category
    if category not in catalog.categories:
        reason = (
            f"{excerpt(category)} is not a category of the catalog '{catalog.name}' "
            "('ratecard catalog check' lists them)"
        )
        return [("category", reason)]
    try:
        version = catalog.at(event.time)
    except RatingError as exc:  # before the catalog's first version: never priced
        return [("time", str(exc))]
    if event.country is not None or version.charge_for(category, None) is not None:
        return []
    countries = sorted(
        {c for pool in version.pools if category in pool.rates for c in pool.countries}
        | {c for price in version.prices if price.category == category for c in price.countries}
    )
    if not countries:
        return []  # no price in any country: the invoice says so (NoPriceError), as before
    reason = f"category '{category}' is priced by country ({', '.join(countries)}): give the "
    return [("country", reason + "event's country")]
