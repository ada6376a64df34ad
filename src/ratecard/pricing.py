"""One-call pricing: price a quantity or a list of events under one price, no accounts, no months.

:func:`price` takes what to price (a catalog category in a country, or a price entry written as
in a catalog's ``[[prices]]``) and either a quantity or events, and returns a :class:`Quote`:
the lines that price gives, each with its tier, units, unit price, precise and rounded amount.
It runs the same price models and the same line assembly as an invoice (one billing account's
one month of that price, a pool's counter starting at 0), so a quote equals the invoice lines
that usage would get alone. Pure: no clock, no files, no environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ratecard.billing.serialize import line_to_dict
from ratecard.catalog import Catalog, Charge, load_catalog, parse_catalog
from ratecard.errors import EventError, Problem, RatingError
from ratecard.money import round_money, total
from ratecard.prices.metered import Usage
from ratecard.rating.lines import Line, assemble_lines
from ratecard.usage.events import Moment, Quantity

#: The account and category of a quote's usage when the caller names none.
QUOTE_ACCOUNT = "quote"
DEFAULT_CATEGORY = "usage"
#: Events without a time are taken in the order given, one microsecond apart from here.
_ORDER_BASE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Quote:
    """What a price charges for some usage.

    Money in ``currency``: each line's ``precise_amount`` is exact and its ``amount`` rounded
    half-up once (:func:`ratecard.money.round_money`); ``precise_total`` is the exact sum of
    the precise amounts; ``total`` is the sum of the rounded lines (as on an invoice).
    ``quantity`` is the usage's total in the category's ``unit``; ``charge`` says what priced it
    (``graduated``, ``pool us-canada-voice``, ...).
    """

    category: str
    country: str | None
    currency: str
    charge: str
    quantity: Decimal
    unit: str
    events: int
    lines: tuple[Line, ...]
    precise_total: Decimal
    total: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every number a decimal string."""
        return {
            "category": self.category,
            "country": self.country,
            "currency": self.currency,
            "charge": self.charge,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "events": self.events,
            "lines": [line_to_dict(line) for line in self.lines],
            "precise_total": str(self.precise_total),
            "total": str(self.total),
        }


def price(
    quantity: object = None,
    *,
    events: Iterable[Usage | Mapping[str, Any]] | None = None,
    category: str | None = None,
    using: Mapping[str, Any] | None = None,
    catalog: Catalog | str = "us",
    country: str | None = "US",
    on: date | None = None,
) -> Quote:
    """Price ``quantity`` units (one usage) or ``events`` under one price.

    What prices them: ``using``, a price entry as written in a catalog (``{"model":
    "graduated", "tiers": [...]}``; validated like a catalog, every problem at once, with
    optional ``currency`` (default USD) and ``unit``), or else the charge ``catalog`` gives
    ``category`` in ``country`` on ``on`` (default: its latest version). Quantities are in the
    category's unit (minutes for calls); decimal strings, ints or Decimals, never floats.

    ``events``: :class:`Usage` objects or mappings with ``quantity`` and optionally
    ``amount`` (percentage prices), ``id`` and ``time`` (ISO 8601 with an offset). They are
    rated in time order (ties by id); events without a time keep the order given.
    Raise :class:`RatingError` when nothing prices the category there,
    :class:`~ratecard.errors.CatalogError` for a bad price entry.
    """
    if (quantity is None) == (events is None):
        raise RatingError("give either a quantity or events, not both")
    book, charge, category, country = _charge(using, category, catalog, country, on)
    usages = _usages(
        [{"id": "quantity", "quantity": quantity}] if events is None else events,
        category,
        country,
        "quantity" if events is None else "events",
    )
    parts, _ = charge.rate_run(usages)  # a pool from an empty count; a price with its limits
    pool = charge.pool_name
    model = str(getattr(charge, "model", type(charge).__name__))
    name = model if pool is None else f"pool {pool}"
    lines = assemble_lines(parts, book)
    return Quote(
        category=category,
        country=country,
        currency=book.currency,
        charge=name,
        quantity=total(usage.quantity for usage in usages),
        unit=book.categories[category].unit if category in book.categories else "units",
        events=len(usages),
        lines=lines,
        precise_total=total(line.precise_amount for line in lines),
        total=round_money(total(line.amount for line in lines), book.currency),
    )


def _charge(
    using: Mapping[str, Any] | None,
    category: str | None,
    catalog: Catalog | str,
    country: str | None,
    on: date | None,
) -> tuple[Catalog, Charge, str, str | None]:
    """The catalog, the charge, the category and the country a quote prices by."""
    if using is not None:
        book = _one_price_catalog(using, category)
        # the entry itself, whatever its countries: a quote of one price has no country
        (price_,) = book.versions[0].prices
        return book, price_, price_.category, None
    book = load_catalog(catalog) if isinstance(catalog, str) else catalog
    if category is None:
        raise RatingError("give the category to price (or a price entry with using=)")
    version = book.at(on) if on is not None else book.versions[-1]
    charge = version.charge_for(category, country)
    if charge is None:
        raise RatingError(f"catalog '{book.name}' has no price for '{category}' in {country}")
    return book, charge, category, country


def _one_price_catalog(entry: Mapping[str, Any], category: str | None) -> Catalog:
    """A catalog holding only ``entry``: the catalog's own validation reports its problems
    (placed as ``prices[0] (category).field``)."""
    fields = dict(entry)
    currency = fields.pop("currency", "USD")
    unit = fields.pop("unit", "units")
    name = str(fields.setdefault("category", category or DEFAULT_CATEGORY))
    data = {
        "name": "price",
        "version": "1",
        "currency": currency,
        "effective": date(2000, 1, 1),
        "categories": {name: {"description": name, "unit": unit}},
        "prices": [fields],
    }
    return parse_catalog(data, source="price")


class QuoteEvent(BaseModel):
    """An event to quote: ``quantity`` (default 1) and optionally ``amount``, ``id``, ``time``.

    Other keys are ignored, so a SPEC ``usage`` event (with its account and category) can be
    quoted as it is. Numbers are decimal strings or integers (a float is refused).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = None
    time: Moment | None = None
    quantity: Quantity = Decimal(1)
    amount: Quantity | None = None


_EVENT: TypeAdapter[QuoteEvent] = TypeAdapter(QuoteEvent)


def _usages(
    events: Iterable[Usage | Mapping[str, Any]],
    category: str,
    country: str | None,
    where: str,
) -> list[Usage]:
    """The events as usage of ``category``, in rating order (time, then id); raise EventError
    naming every bad event (``events[3]``, or ``quantity`` for a quantity) and field at once."""
    usages: list[Usage] = []
    problems: list[Problem] = []
    for index, event in enumerate(events):
        if isinstance(event, Usage):
            usages.append(event)
            continue
        try:
            parsed = _EVENT.validate_python(event)
        except ValidationError as exc:
            for item in exc.errors(include_url=False):
                field = ".".join(str(step) for step in item["loc"]) or None
                reason = str(item["msg"]).removeprefix("Value error, ")
                place = f"{where}[{index}]" if where == "events" else where
                problems.append(Problem(place, reason, field))
            continue
        usages.append(
            Usage(
                event_id=parsed.id or f"event-{index + 1}",
                account=QUOTE_ACCOUNT,
                # without a time, the order given (one microsecond apart)
                time=parsed.time or _ORDER_BASE + timedelta(microseconds=index),
                category=category,
                quantity=parsed.quantity,
                country=country,
                amount=parsed.amount,
            )
        )
    if problems:
        raise EventError(problems, where)
    usages.sort(key=lambda usage: usage.order_key)
    return usages
