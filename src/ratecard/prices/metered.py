"""Metered usage: what rating consumes once events are normalized."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Usage:
    """Units of one catalog category used by one account at one instant.

    ``quantity`` is in the category's unit (minutes after per-call rounding, segments, number
    charges, ...). ``amount`` is a money amount carried by the event, for percentage prices.
    ``event_id`` is the id of the event it came from (number charges add ``@YYYY-MM-DD``).
    ``phase`` orders usage billed at different times: an adjustment for late events of a
    finalized month rates them after everything that month already billed (phase 0 first),
    so they take the tier position the month had reached and nothing billed is re-priced.
    """

    event_id: str
    account: str
    time: datetime
    category: str
    quantity: Decimal
    country: str | None = None
    amount: Decimal | None = None
    phase: int = 0

    @property
    def order_key(self) -> tuple[int, datetime, str, str]:
        """Chronological order within a phase; ties broken by event id (SPEC section 4), then
        account."""
        return (self.phase, self.time, self.event_id, self.account)
