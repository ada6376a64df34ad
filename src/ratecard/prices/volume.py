"""``volume``: the month's total picks ONE tier, whose rate applies to every unit.

With bounds 1,000 / 10,000 / unbounded, a month of 1,000 units pays tier 1's rate on all of
them and 1,001 units pay tier 2's rate on all of them. The chosen tier's flat fee is added once.

The chosen tier may bill in blocks (``block_size`` + ``block_price``): the month's units are
then billed per started block of that tier, a partial block rounded up.

``tier_by`` picks the tier by another measure of the same month than the one billed (Lago's
"tier selected by another quantity"); every unit billed is still the events' ``quantity``:

* ``quantity`` (default): the month's total quantity;
* ``peak``: the largest quantity of a single event in the month (e.g. daily storage snapshots
  billed as GB-days in total, tier by the peak day);
* ``events``: the number of events in the month;
* ``amount``: the month's total of the money amounts events carry (e.g. a per-transaction
  fee whose tier is set by payment volume).

The selecting measure is computed from the same events the price bills (the month of one
billing account and one price), so every engine (reference, batch, live) provides it by
handing the model the group it already rates; it is exact (a sum, a count or a maximum).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from ratecard.money import plain, total
from ratecard.prices.base import Price, Tiered, fee_part, usage_part
from ratecard.prices.graduated import block_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.percentage import carried_amount
from ratecard.prices.tiers import tier_holding

TierBy = Literal["quantity", "peak", "events", "amount"]


class VolumePrice(Tiered, Price):
    """All units at the rate (or block price) of the tier the month's ``tier_by`` falls in."""

    model: Literal["volume"]
    tier_by: TierBy = "quantity"

    def selecting(self, usages: Sequence[Usage]) -> Decimal:
        """The month's measure that picks the tier (see the module docstring); exact."""
        if self.tier_by == "peak":
            return max(usage.quantity for usage in usages)
        if self.tier_by == "events":
            return Decimal(len(usages))
        if self.tier_by == "amount":
            return total(carried_amount(usage) for usage in usages)
        return total(usage.quantity for usage in usages)

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        if not usages:
            return []
        measure = self.selecting(usages)
        index = tier_holding(self.bounds, measure)
        tier, label = self.tiers[index], self.label(index)
        if self.tier_by != "quantity":
            # plain: the label must not depend on how the quantities were written
            label = f"{label} (by {self.tier_by} {plain(measure):,})"
        if tier.rate is None:
            pieces = [(usage, usage.quantity) for usage in usages]
            parts = [block_part(self.category, tier, index, label, pieces)]
        else:
            parts = [
                usage_part(u, u.quantity, tier.rate, tier=index + 1, label=label) for u in usages
            ]
        if tier.flat_fee:
            parts.append(
                fee_part(
                    self.category, Kind.FLAT_FEE, tier.flat_fee, tier=index + 1, tier_label=label
                )
            )
        return parts
