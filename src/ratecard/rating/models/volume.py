"""``volume``: the month's total picks ONE tier, whose rate applies to every unit.

With bounds 1,000 / 10,000 / unbounded, a month of 1,000 units pays tier 1's rate on all of
them and 1,001 units pay tier 2's rate on all of them. The chosen tier's flat fee is added once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ratecard.money import total
from ratecard.rating.models.base import Price, Tiered, fee_part, usage_part
from ratecard.rating.parts import Kind, Part
from ratecard.rating.tiers import tier_holding
from ratecard.usage.metered import Usage


class VolumePrice(Tiered, Price):
    """All units at the rate of the tier the month's total falls in."""

    model: Literal["volume"]

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        if not usages:
            return []
        index = tier_holding(self.bounds, total(usage.quantity for usage in usages))
        tier, label = self.tiers[index], self.label(index)
        parts = [usage_part(u, u.quantity, tier.rate, tier=index + 1, label=label) for u in usages]
        if tier.flat_fee:
            parts.append(
                fee_part(
                    self.category, Kind.FLAT_FEE, tier.flat_fee, tier=index + 1, tier_label=label
                )
            )
        return parts
