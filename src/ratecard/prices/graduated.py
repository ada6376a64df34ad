"""``graduated``: marginal tiers; each unit pays the rate of the tier it falls in.

Units are counted in time order, so the same split applies to events as to totals: the first
``up_to`` units pay tier 1, the next ones tier 2, and so on; an event straddling a bound is
split. A tier's flat fee is charged once, when its first unit is counted.

A tier may bill in blocks (``block_size`` + ``block_price`` instead of ``rate``): the month's
units that fall in that tier are billed per started block, a partial block rounded up (Kill
Bill's tiered blocks). Tiers fill as before (the bounds count units, not blocks), so 250 units
in a ``first 1,000`` tier of blocks of 100 at 5.00 cost 3 x 5.00 = 15.00 and unit 1,001 goes
to tier 2. Rounding up happens per tier per month, never per event: one part per block tier,
carrying every event of the tier (the billing account's whole, like a package).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from ratecard.money import add, mul, plain, total
from ratecard.prices.base import Price, Tier, Tiered, fee_part, usage_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.tiers import blocks, walk

if TYPE_CHECKING:
    from ratecard.prices.graduated_percentage import GraduatedPercentagePrice


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
    the tier is entered (any usage enters the first tier, even an empty one). Pieces in a block
    tier are summed and billed in whole blocks at the end (:func:`block_part`).
    """
    parts: list[Part] = []
    counted = Decimal(0)
    entered: set[int] = set()
    in_blocks: dict[int, list[tuple[Usage, Decimal]]] = {}
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
            if tier.rate is None:
                in_blocks.setdefault(index, []).append((usage, units))
            else:
                parts.append(usage_part(usage, units, tier.rate, tier=index + 1, label=label))
            counted = add(counted, units)
    for index, pieces in in_blocks.items():
        label = price.label(index)
        parts.append(block_part(price.category, price.tiers[index], index, label, pieces))
    return parts


def block_part(
    category: str, tier: Tier, index: int, label: str, pieces: Sequence[tuple[Usage, Decimal]]
) -> Part:
    """One block tier's month: ``pieces`` (usage, units in the tier) billed in whole blocks.

    Money: quantity = blocks (units / block_size, rounded up to a whole block), unit price =
    ``block_price`` per block, amount = blocks x block_price exactly, in catalog currency.
    """
    assert tier.block_size is not None
    assert tier.block_price is not None
    units = total(units for _, units in pieces)
    count = blocks(units, tier.block_size)
    return Part(
        category=category,
        kind=Kind.USAGE,
        quantity=count,
        unit_price=tier.block_price,
        amount=mul(count, tier.block_price),
        tier=index + 1,
        # the label names the block size, not the units: a line keeps its identity when late
        # usage adds units (an adjustment is then the extra blocks on the same line)
        tier_label=f"{label}, blocks of {plain(tier.block_size):,}",
        events=tuple(usage.event_id for usage, _ in pieces),
        unit="blocks",
    )
