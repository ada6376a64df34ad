"""Phone-number anniversary billing (SPEC section 4, "Phone numbers").

A number's monthly fee is charged in full when it is bought (no proration, no refund on
release), then every month on the day of the month it was bought, at the same time of day
(UTC). When that day does not exist in a month (29th-31st), the charge falls on the month's
last day, and that day becomes the number's billing day from then on (Jan 31 -> Feb 28 ->
Mar 28). A charge at or after the release instant is not made.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from ratecard.billing.periods import Month


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
