"""Normalization: usage events -> metered :class:`Usage` in catalog categories.

Each type's category and quantity come from the one table of
:data:`ratecard.usage.metering.METERS` (the month close meters stored columns by it too):

* ``call``: billable minutes per call, rounded up per call to the category's increment
  (SPEC section 4: with 60 s, an 80-second call bills 2 minutes), in the category given by
  direction and number type (``calls-inbound-local``, ``calls-inbound-tollfree``,
  ``calls-inbound-mobile``, ``calls-outbound``).
* ``message``: segments, by direction and channel (``sms-outbound``, ``sms-outbound-tollfree``,
  ``sms-outbound-shortcode``, ...); an MMS (``channel = "mms"``) is ``mms-<direction>``.
* ``number_purchased`` / ``number_released``: one monthly charge per anniversary (see
  :mod:`ratecard.periods`), ``phonenumbers-<type>``.
* ``taskrouter_task`` / ``studio_engagement``: one unit each; ``usage``: as sent.

Flex seat and session events are not metered here: seats are counted per plan by
:mod:`ratecard.flex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from ratecard.catalog.schema import Category
from ratecard.errors import EventError, Problem
from ratecard.money import D, quotient
from ratecard.periods import charge_times
from ratecard.prices.metered import Usage
from ratecard.usage.events import Event, NumberPurchased, NumberReleased
from ratecard.usage.metering import (
    DEFAULT_INCREMENT_SECONDS,
    METERS,
    Measure,
    call_category,
    increment_seconds,
    message_category,
)

__all__ = [
    "DEFAULT_INCREMENT_SECONDS",
    "billable_minutes",
    "call_category",
    "message_category",
    "normalize",
    "number_charges",
]

ONE = Decimal(1)
SIXTY = Decimal(60)


def billable_minutes(duration_seconds: int, increment_seconds: int) -> Decimal:
    """Minutes billed for one call: its seconds rounded UP to the increment, as minutes.

    ``billable_minutes(80, 60) == 2``; ``billable_minutes(80, 1) == 80/60`` (kept to 20
    places); ``billable_minutes(0, 60) == 0``.
    """
    increments = -(-duration_seconds // increment_seconds)  # ceiling division, exact in int
    return quotient(D(increments * increment_seconds), SIXTY)


def normalize(
    events: Iterable[Event],
    categories: Mapping[str, Category],
    start: datetime,
    end: datetime,
) -> list[Usage]:
    """Metered usage in ``[start, end)`` from ``events`` (number history may start earlier)."""
    usages: list[Usage] = []
    numbers: list[NumberPurchased | NumberReleased] = []
    for event in events:
        if isinstance(event, NumberPurchased | NumberReleased):
            if event.time < end:
                numbers.append(event)
        elif start <= event.time < end:
            usage = _meter(event, categories)
            if usage is not None:
                usages.append(usage)
    usages.extend(u for u in number_charges(numbers, end) if u.time >= start)
    return usages


def _meter(event: Event, categories: Mapping[str, Category]) -> Usage | None:
    """The usage of one event as :data:`~ratecard.usage.metering.METERS` meters its type
    (None: a type not metered one event at a time)."""
    meter = METERS.get(event.type)
    if meter is None:
        return None
    category: str = meter.category(event)
    quantity = D(meter.quantity(event))
    if meter.measure is Measure.SECONDS:
        quantity = billable_minutes(int(quantity), increment_seconds(categories, category))
    country: str | None = event.country if meter.located else None  # type: ignore[union-attr]
    amount = None if meter.amount is None else meter.amount(event)
    return Usage(event.id, event.account, event.time, category, quantity, country, amount)


def number_charges(
    events: Iterable[NumberPurchased | NumberReleased], until: datetime
) -> list[Usage]:
    """Every monthly number charge before ``until``, from purchase and release events.

    A charge's event id is the purchase event's id, plus ``@YYYY-MM-DD`` for anniversaries.
    Raise EventError for a release of a number not held, or a purchase of one already held.
    """
    held: dict[tuple[str, str], NumberPurchased] = {}
    charges: list[Usage] = []
    problems: list[Problem] = []
    for event in sorted(events, key=lambda e: (e.time, e.id)):
        key = (event.account, event.number)
        if isinstance(event, NumberPurchased):
            if key in held:
                problems.append(
                    Problem(
                        f"event {event.id}",
                        f"number {event.number} is already held (bought by event {held[key].id})",
                        "number",
                    )
                )
                continue
            held[key] = event
        else:
            bought = held.pop(key, None)
            if bought is None:
                problems.append(
                    Problem(
                        f"event {event.id}",
                        f"number {event.number} is released but not held",
                        "number",
                    )
                )
                continue
            charges.extend(_charges(bought, until, event.time))
    for bought in held.values():
        charges.extend(_charges(bought, until, None))
    if problems:
        raise EventError(problems)
    return charges


def _charges(bought: NumberPurchased, until: datetime, released: datetime | None) -> list[Usage]:
    category = f"phonenumbers-{bought.number_type}"
    result = []
    for moment in charge_times(bought.time, until, released):
        event_id = bought.id if moment == bought.time else f"{bought.id}@{moment.date()}"
        result.append(Usage(event_id, bought.account, moment, category, ONE, bought.country))
    return result
