"""``percentage``: a share of the money amount each event carries (payments, transfers).

Per event, in time order:

* the first ``free_events`` events of the month cost nothing at all;
* the first ``free_amount`` of the month's carried amounts bears no percentage;
* the rest of the amount pays ``rate`` (a fraction: ``0.029`` is 2.9%), plus ``fixed_fee``;
* the event's fee is then held between ``per_transaction_min`` and ``per_transaction_max``
  (shown as separate adjustment parts so the line still explains itself).

That is ``free_allowance = "separate"`` (the default): the free events come first, then the
free amount. ``free_allowance = "combined"`` makes them ONE allowance, as Lago's
``free_units_per_events`` / ``free_units_per_total_aggregation``: events are free, in time
order, until either ``free_events`` events or ``free_amount`` of carried amount is used up,
whichever comes first (an allowance left at 0 is no limit; one of them must be set). An event
the allowance covers fully costs nothing at all: no percentage, no fixed fee, no
per-transaction minimum. The event during which the amount runs out is covered only in part:
the rest of its amount pays the rate, and it pays its fixed fee and is clamped like any paid
event. Once either limit is reached no later event is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from pydantic import model_validator

from ratecard.errors import RatingError
from ratecard.money import EXACT, ZERO, add, mul
from ratecard.prices.base import Price, Rate, Units, usage_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part


def carried_amount(usage: Usage) -> Decimal:
    """The money amount an event carries; a percentage price cannot rate an event without one."""
    if usage.amount is None:
        raise RatingError(
            f"event '{usage.event_id}' of category '{usage.category}' has no 'amount': "
            "a percentage price needs the amount the event carries"
        )
    return usage.amount


class PercentagePrice(Price):
    """A percentage of each event's amount, with per-event fee, free allowances and clamps."""

    model: Literal["percentage"]
    rate: Rate
    fixed_fee: Rate = ZERO
    free_events: int = 0
    free_amount: Units = ZERO
    per_transaction_min: Rate | None = None
    per_transaction_max: Rate | None = None
    free_allowance: Literal["separate", "combined"] = "separate"

    @model_validator(mode="after")
    def _clamp_range(self) -> PercentagePrice:
        low, high = self.per_transaction_min, self.per_transaction_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"per_transaction_min {low} is above per_transaction_max {high}")
        if self.free_events < 0:
            raise ValueError("free_events must not be negative")
        if self.free_allowance == "combined" and not (self.free_events or self.free_amount):
            raise ValueError(
                "free_allowance: 'combined' needs free_events or free_amount (or both) above 0"
            )
        return self

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        if self.free_allowance == "combined":
            return self._charge_combined(usages)
        parts: list[Part] = []
        free_left = self.free_amount
        for number, usage in enumerate(usages):
            amount = carried_amount(usage)
            if number < self.free_events:
                parts.append(usage_part(usage, amount, ZERO, label="free event"))
                continue
            exempt = min(free_left, amount)
            free_left = EXACT.subtract(free_left, exempt)
            parts.extend(self._paid(usage, amount, exempt, "free amount"))
        return parts

    def _charge_combined(self, usages: Sequence[Usage]) -> list[Part]:
        """One allowance of events and amount: the first limit reached closes it."""
        parts: list[Part] = []
        events_left = self.free_events or None  # None: not a limit
        amount_left = self.free_amount or None
        open_ = True
        for usage in usages:
            amount = carried_amount(usage)
            if not open_:
                parts.extend(self._paid(usage, amount, ZERO, ""))
                continue
            exempt = amount if amount_left is None else min(amount_left, amount)
            if amount_left is not None:
                amount_left = EXACT.subtract(amount_left, exempt)
            if events_left is not None:
                events_left -= 1
            open_ = events_left != 0 and amount_left != 0
            if exempt == amount:
                parts.append(usage_part(usage, amount, ZERO, label="free allowance"))
            else:  # the amount ran out during this event: the rest is paid
                open_ = False
                parts.extend(self._paid(usage, amount, exempt, "free allowance"))
        return parts

    def _paid(self, usage: Usage, amount: Decimal, exempt: Decimal, free: str) -> list[Part]:
        """A paid event: ``exempt`` of its ``amount`` free (a part labelled ``free``), the
        rest at ``rate``, plus the fixed fee, then held between the per-transaction limits.
        Money exact, in catalog currency."""
        parts: list[Part] = []
        if exempt:
            parts.append(usage_part(usage, exempt, ZERO, label=free))
        share = usage_part(usage, EXACT.subtract(amount, exempt), self.rate)
        parts.append(share)
        fee = share.amount
        if self.fixed_fee:
            parts.append(self._event_part(usage, Kind.FIXED_FEE, self.fixed_fee))
            fee = add(fee, self.fixed_fee)
        parts.extend(self._clamp(usage, fee))
        return parts

    def _clamp(self, usage: Usage, fee: Decimal) -> list[Part]:
        low, high = self.per_transaction_min, self.per_transaction_max
        if low is not None and fee < low:
            return [self._event_part(usage, Kind.TRANSACTION_MINIMUM, EXACT.subtract(low, fee))]
        if high is not None and fee > high:
            return [self._event_part(usage, Kind.TRANSACTION_MAXIMUM, EXACT.subtract(high, fee))]
        return []

    def _event_part(self, usage: Usage, kind: Kind, amount: Decimal) -> Part:
        return Part(
            category=usage.category,
            kind=kind,
            quantity=Decimal(1),
            unit_price=amount,
            amount=mul(Decimal(1), amount),
            account=usage.account,
            events=(usage.event_id,),
        )
