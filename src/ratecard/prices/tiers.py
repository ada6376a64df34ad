"""Tiers declared by upper bound only, and the walk that splits usage across them.

A tier list is a sequence of upper bounds, increasing, the last one ``None`` (unbounded).
Tier ``i`` (0-based) holds the units counted after ``bounds[i-1]`` up to and including
``bounds[i]``: with bounds ``[500000, None]`` units 1..500,000 are in the first tier and unit
500,001 onwards in the second. Gaps and overlaps cannot be written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from ratecard.money import EXACT, ZERO

Bounds = Sequence[Decimal | None]


def tier_of(bounds: Bounds, counted: Decimal) -> int:
    """Index of the tier the next unit falls in once ``counted`` units are already counted."""
    for index, bound in enumerate(bounds):
        if bound is None or counted < bound:
            return index
    raise ValueError("the last tier must be unbounded")


def tier_holding(bounds: Bounds, total: Decimal) -> int:
    """Index of the tier that holds a total of ``total`` units (volume pricing)."""
    for index, bound in enumerate(bounds):
        if bound is None or total <= bound:
            return index
    raise ValueError("the last tier must be unbounded")


def walk(bounds: Bounds, counted: Decimal, quantity: Decimal) -> Iterator[tuple[int, Decimal]]:
    """Split ``quantity`` units, counted after ``counted`` units, into ``(tier, units)`` pieces.

    A quantity that straddles a bound is split; a zero quantity yields one empty piece in the
    current tier so the event still appears on its line.
    """
    remaining = quantity
    while True:
        index = tier_of(bounds, counted)
        bound = bounds[index]
        room = remaining if bound is None else min(remaining, EXACT.subtract(bound, counted))
        yield index, room
        counted = EXACT.add(counted, room)
        remaining = EXACT.subtract(remaining, room)
        if remaining <= ZERO:
            return


def blocks(units: Decimal, size: Decimal) -> Decimal:
    """Whole blocks of ``size`` units needed for ``units`` units: a started block counts whole.

    Exact integer division (no quotient is rounded): 250 units in blocks of 100 are 3 blocks,
    200 are 2, 0 are 0.
    """
    whole = EXACT.divide_int(units, size)
    return EXACT.add(whole, 1) if EXACT.remainder(units, size) else whole


def tier_label(bounds: Bounds, index: int) -> str:
    """Words for a tier: ``first 500,000``, ``over 500,000 up to 1,000,000``, ``over 500,000``."""
    upper = bounds[index]
    if len(bounds) == 1:
        return "all units"
    if index == 0:
        return f"first {_n(upper)}"
    lower = bounds[index - 1]
    if upper is None:
        return f"over {_n(lower)}"
    return f"over {_n(lower)} up to {_n(upper)}"


def _n(value: Decimal | None) -> str:
    assert value is not None
    return f"{value:,}"


def check_bounds(bounds: Bounds) -> list[str]:
    """Every reason ``bounds`` is not a valid tier list (empty when it is valid)."""
    reasons: list[str] = []
    if not bounds:
        return ["at least one tier is required"]
    if bounds[-1] is not None:
        reasons.append("the last tier must have no up_to (it is unbounded)")
    previous = ZERO
    for index, bound in enumerate(bounds[:-1]):
        if bound is None:
            reasons.append(f"tier {index + 1}: only the last tier may omit up_to")
            continue
        if bound <= previous:
            reasons.append(
                f"tier {index + 1}: up_to {bound} does not increase (previous bound {previous})"
            )
        previous = bound
    return reasons
