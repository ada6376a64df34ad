"""``graduated``: marginal tiers; each unit pays the rate of the tier it falls in.

Units are counted in time order, so the same split applies to events as to totals: the first
``up_to`` units pay tier 1, the next ones tier 2, and so on; an event straddling a bound is
split. A tier's flat fee is charged once, when its first unit is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from ratecard.money import add
from ratecard.rating.models.base import Price, Tiered, fee_part, usage_part
from ratecard.rating.parts import Kind, Part
from ratecard.rating.tiers import walk
from ratecard.usage.metered import Usage

if TYPE_CHECKING:
    from ratecard.rating.models.graduated_percentage import GraduatedPercentagePrice


class GraduatedPrice(Tiered, Price):
    """Marginal tiers for one category."""

    model: Literal["graduated"]

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        return graduated_parts(self, usages, lambda usage: usage.quantity)


def graduated_parts(
    price: GraduatedPrice | GraduatedPercentagePrice,
    usages: Sequence[Usage],
    measure: Callable[[Usage], Decimal],
) -> list[Part]:
    """Walk ``measure(usage)`` of each usage through the tiers in time order.

    Each piece pays its tier's rate (exact product); a tier's flat fee is charged once, when
    the tier is entered (any usage enters the first tier, even an empty one).
    """
    parts: list[Part] = []
    counted = Decimal(0)
    entered: set[int] = set()
    for usage in usages:
        for index, units in walk(price.bounds, counted, measure(usage)):
            tier, label = price.tiers[index], price.label(index)
            if index not in entered and (units > 0 or index == 0):
                entered.add(index)
                if tier.flat_fee:
                    parts.append(
                        fee_part(
                            price.category,
                            Kind.FLAT_FEE,
                            tier.flat_fee,
                            tier=index + 1,
                            tier_label=label,
                        )
                    )
            parts.append(usage_part(usage, units, tier.rate, tier=index + 1, label=label))
            counted = add(counted, units)
    return parts
