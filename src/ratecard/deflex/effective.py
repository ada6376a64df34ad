"""Where Flex billing ends: split a month at a processed request's effective time.

Usage strictly before the effective time is rated on the account's Flex plan; usage at or after
it on standard billing (SPEC section 5). The billing layer asks :func:`split_month` for the
month's parts and rates each with its own rules; :func:`is_flex_billed` decides one moment, and
:meth:`Interval.clip` cuts a span (a Flex activity session, say) to one part. Plan pricing itself
lives elsewhere: this module only says which rules apply when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from ratecard.deflex.workflow import DeflexRequest
from ratecard.errors import DeflexError
from ratecard.periods import Month

Billing = Literal["flex", "standard"]
T = TypeVar("T")


@dataclass(frozen=True)
class Interval:
    """``[start, end)`` in UTC, rated with ``billing`` rules."""

    start: datetime
    end: datetime
    billing: Billing

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def clip(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of ``[start, end)`` inside this interval, or None when they do not meet."""
        low, high = max(start, self.start), min(end, self.end)
        return (low, high) if low < high else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DeflexError(f"time {moment.isoformat()} has no UTC offset")
    return moment.astimezone(UTC)


def effective_time(request: DeflexRequest) -> datetime | None:
    """When Flex billing stops for ``request``: its effective time once processed, else None."""
    return request.effective if request.status == "processed" else None


def is_flex_billed(at: datetime, effective: datetime | None) -> bool:
    """True when usage at ``at`` is rated on the Flex plan (no effective time: always)."""
    return effective is None or _utc(at) < _utc(effective)


def split_month(month: Month, effective: datetime | None) -> tuple[Interval, ...]:
    """The month's Flex-billed part ``[start, effective)`` and standard part ``[effective, end)``.

    One interval when the effective time is outside the month (or None): all Flex before it,
    all standard from the month it falls in onwards. Two when it falls inside, split exactly
    at the effective time.
    """
    if effective is None or _utc(effective) >= month.end:
        return (Interval(month.start, month.end, "flex"),)
    cut = _utc(effective)
    if cut <= month.start:
        return (Interval(month.start, month.end, "standard"),)
    return (Interval(month.start, cut, "flex"), Interval(cut, month.end, "standard"))


def partition(
    items: Iterable[T], effective: datetime | None, time: Callable[[T], datetime]
) -> tuple[list[T], list[T]]:
    """Split items (usage events, say) into (Flex-billed, standard) by ``time(item)``.

    Order within each part is kept, so chronological rating stays chronological.
    """
    flex: list[T] = []
    standard: list[T] = []
    for item in items:
        (flex if is_flex_billed(time(item), effective) else standard).append(item)
    return flex, standard
