"""The one table of how each usage event type is metered: its catalog category and quantity.

:data:`METERS` maps an event type to its :class:`Meter`. Everything that meters events reads
it: :func:`ratecard.usage.normalize.normalize` (events as Python objects, Decimal quantities),
ingestion (:func:`metering`: the rating columns stored beside each event's body) and the month
close (:mod:`ratecard.service.close`, which meters those columns as Polars expressions).

A meter gives the quantity in the event's own *measure*: a call's is its duration in seconds
(:attr:`Measure.SECONDS`, billed in minutes rounded up per call to the category's increment:
that rounding needs the catalog, so it is applied when rating, never stored); every other
type's is a count or a quantity billed as it is (:attr:`Measure.UNITS`).

Types not in the table (number purchases and releases, Flex events, workers) are not metered
one event at a time: number charges come from anniversaries, Flex seats from their history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple, Protocol

from ratecard.money import D

#: The billing increment of a call in a category that names none (whole minutes).
DEFAULT_INCREMENT_SECONDS = 60


class _Increments(Protocol):
    @property
    def increment_seconds(self) -> int | None: ...


def increment_seconds(categories: Mapping[str, _Increments], category: str) -> int:
    """The seconds a call in ``category`` is rounded up to (the catalog's increment, else
    :data:`DEFAULT_INCREMENT_SECONDS`)."""
    known = categories.get(category)
    return (known.increment_seconds if known else None) or DEFAULT_INCREMENT_SECONDS


def call_category(direction: str, number_type: str) -> str:
    """The voice category of a call: inbound by number type, outbound as one category."""
    return f"calls-inbound-{number_type}" if direction == "inbound" else "calls-outbound"


def message_category(direction: str, channel: str) -> str:
    """The messaging category of a message: long code is the plain ``sms-<direction>``, MMS
    the vendor's ``mms-<direction>`` (whatever number sent it)."""
    if channel == "mms":
        return f"mms-{direction}"
    suffix = "" if channel == "longcode" else f"-{channel}"
    return f"sms-{direction}{suffix}"


class Measure(Enum):
    """What a meter's quantity counts."""

    #: A duration in whole seconds, billed in minutes rounded up to the category's increment.
    SECONDS = "seconds"
    #: Units billed as they are (segments, tasks, a usage record's quantity).
    UNITS = "units"


#: A meter's view of an event: any object with the event model's attributes (a parsed
#: :data:`~ratecard.usage.events.Event`, or the fast ingestion path's decoded struct).
Reader = Callable[[Any], Any]


@dataclass(frozen=True)
class Meter:
    """How one event type is metered: its category, quantity (in ``measure``), whether the
    usage keeps the event's country, and the money amount it may carry."""

    category: Reader
    quantity: Reader
    measure: Measure
    located: bool
    amount: Reader | None = None


def _one(_: Any) -> int:
    return 1


METERS: dict[str, Meter] = {
    "call": Meter(
        lambda e: call_category(e.direction, e.number_type),
        lambda e: e.duration_seconds,
        Measure.SECONDS,
        located=True,
    ),
    "message": Meter(
        lambda e: message_category(e.direction, e.channel),
        lambda e: e.segments,
        Measure.UNITS,
        located=True,
    ),
    "taskrouter_task": Meter(lambda _: "taskrouter-tasks", _one, Measure.UNITS, located=False),
    "studio_engagement": Meter(lambda _: "studio-engagements", _one, Measure.UNITS, located=False),
    "usage": Meter(
        lambda e: e.category,
        lambda e: e.quantity,
        Measure.UNITS,
        located=True,
        amount=lambda e: e.amount,
    ),
}


class Metering(NamedTuple):
    """An event's rating columns, as stored beside its body (all None: a type not metered
    one event at a time). ``quantity`` is in the meter's measure (seconds for a call) and
    exact; ``amount`` is the money amount a usage record carries, in the catalog currency."""

    category: str | None = None
    quantity: Decimal | None = None
    country: str | None = None
    amount: Decimal | None = None


NOT_METERED = Metering()


def metering(event: Any) -> Metering:
    """The rating columns of ``event`` (an object with the event model's attributes)."""
    meter = METERS.get(event.type)
    if meter is None:
        return NOT_METERED
    quantity = meter.quantity(event)
    amount = None if meter.amount is None else meter.amount(event)
    return Metering(
        meter.category(event),
        # a count (int) is exact as it is: D()'s checks cost a third of this on ingestion
        Decimal(quantity) if type(quantity) is int else D(quantity),
        event.country if meter.located else None,
        None if amount is None else D(amount),
    )
