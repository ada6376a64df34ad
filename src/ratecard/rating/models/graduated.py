"""``graduated``: marginal tiers; each unit pays the rate of the tier it falls in.

Units are counted in time order, so the same split applies to events as to totals: the first
``up_to`` units pay tier 1, the next ones tier 2, and so on; an event straddling a bound is
split. A tier's flat fee is charged once, when its first unit is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from ratecard.rating.models.base import Price, Tiered, fee_part, usage_part
from ratecard.rating.parts import Kind, Part
from ratecard.rating.tiers import walk
from ratecard.usage.metered import Usage


class GraduatedPrice(Tiered, Price):
    """Marginal tiers for one category."""

    model: Literal["graduated"]

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        parts: list[Part] = []
        counted = Decimal(0)
        entered: set[int] = set()
        for usage in usages:
            for index, units in walk(self.bounds, counted, usage.quantity):
                tier = self.tiers[index]
                if index not in entered and (units > 0 or (index == 0 and usage.quantity == 0)):
                    entered.add(index)
                    if tier.flat_fee:
                        parts.append(
                            fee_part(
                                self.category,
                                Kind.FLAT_FEE,
                                tier.flat_fee,
                                tier=index + 1,
                                tier_label=self.label(index),
                            )
                        )
                parts.append(
                    usage_part(usage, units, tier.rate, tier=index + 1, label=self.label(index))
                )
                counted += units
        return parts
