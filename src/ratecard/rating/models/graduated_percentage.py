"""``graduated_percentage``: marginal tiers over the month's carried amounts.

The amounts events carry are counted in time order; the part of the running total inside
each tier pays that tier's rate (a fraction), and a tier's flat fee is charged once when it is
entered, like ``graduated`` but over money instead of units.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from ratecard.rating.models.base import Price, Tiered, fee_part, usage_part
from ratecard.rating.models.percentage import carried_amount
from ratecard.rating.parts import Kind, Part
from ratecard.rating.tiers import walk
from ratecard.usage.metered import Usage


class GraduatedPercentagePrice(Tiered, Price):
    """Percentage rates in marginal tiers of the month's carried amount."""

    model: Literal["graduated_percentage"]

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        parts: list[Part] = []
        counted = Decimal(0)
        entered: set[int] = set()
        for usage in usages:
            amount = carried_amount(usage)
            for index, share in walk(self.bounds, counted, amount):
                tier, label = self.tiers[index], self.label(index)
                if index not in entered and (share > 0 or index == 0):
                    entered.add(index)
                    if tier.flat_fee:
                        parts.append(
                            fee_part(
                                self.category,
                                Kind.FLAT_FEE,
                                tier.flat_fee,
                                tier=index + 1,
                                tier_label=label,
                            )
                        )
                parts.append(usage_part(usage, share, tier.rate, tier=index + 1, label=label))
                counted += share
        return parts
