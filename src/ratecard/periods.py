"""Calendar periods, plain values at the bottom of the core beside money.

``Month``: one calendar month in UTC, the billing period of every invoice.
:func:`charge_times`: phone-number anniversary billing (SPEC section 4, "Phone numbers").

A number's monthly fee is charged in full when it is bought (no proration, no refund on
release), then every month on the day of the month it was bought, at the same time of day
(UTC). When that day does not exist in a month (29th-31st), the charge falls on the month's
last day, and that day becomes the number's billing day from then on (Jan 31 -> Feb 28 ->
Mar 28). A charge at or after the release instant is not made.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month, ``[start, end)`` in UTC."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9998:
            raise ValueError(f"not a month: {self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raise ValueError naming the expected form otherwise."""
        match = _MONTH.match(text.strip())
        if not match:
            raise ValueError(f"month must look like YYYY-MM (e.g. 2026-07), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        """The month containing ``moment`` (a datetime is taken in UTC)."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def charge_times(
    purchased: datetime, until: datetime, released: datetime | None = None
) -> Iterator[datetime]:
    """Instants of every monthly charge of a number bought at ``purchased``, before ``until``.

    The first charge is the purchase itself. Charges stop before ``released`` (if given) and
    before ``until``; both bounds are exclusive.
    """
    purchased = purchased.astimezone(UTC)
    stop = until if released is None else min(until, released.astimezone(UTC))
    if purchased >= until:
        return
    yield purchased  # the purchase charge is made even if the number is released at once
    billing_day = purchased.day
    month = Month.of(purchased)
    while True:
        month = month.next()
        billing_day = min(billing_day, month.days)
        moment = purchased.replace(year=month.year, month=month.month, day=billing_day)
        if moment >= stop:
            return
        yield moment
