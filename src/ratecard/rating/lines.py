"""Rated lines: priced parts -> lines, rounded once each (SPEC section 6).

Lines group parts of the same category, kind, pool, tier and unit price. Each line keeps its
precise amount (exact sum of its parts) beside its amount, rounded half-up to the currency's
minor unit by :func:`ratecard.money.round_money`, the only rounding of money. The live and
batch raters return lines built here; billing's invoices group the reference engine's parts
with the same function.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ratecard.catalog.model import Catalog
from ratecard.money import ZERO, add, plain, round_money, total
from ratecard.prices.parts import Kind, Part
from ratecard.rating.grouping import line_key

_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}


@dataclass(frozen=True)
class Line:
    """One invoice line. Money in the invoice currency: ``precise_amount`` exact, ``amount``
    rounded half-up to the minor unit; ``unit_price`` is per unit of ``quantity``."""

    category: str
    description: str
    unit: str
    kind: Kind
    pool: str | None
    tier: int | None
    tier_label: str | None
    quantity: Decimal
    unit_price: Decimal | None
    precise_amount: Decimal
    amount: Decimal
    events: tuple[str, ...]


def assemble_lines(parts: Iterable[Part], catalog: Catalog) -> tuple[Line, ...]:
    """Group parts into lines and round each line once."""
    groups: dict[tuple[object, ...], list[Part]] = {}
    for part in parts:
        key = line_key(
            part.category, part.kind, part.pool, part.tier, part.tier_label, part.unit_price
        )
        groups.setdefault(key, []).append(part)
    order = {name: i for i, name in enumerate(catalog.categories)}
    lines = [_line(group, catalog) for group in groups.values()]
    lines.sort(
        key=lambda ln: (
            order.get(ln.category, len(order)),
            ln.category,
            _KIND_ORDER[ln.kind],
            ln.tier or 0,
            ln.tier_label or "",
            ln.unit_price if ln.unit_price is not None else ZERO,
        )
    )
    return tuple(lines)


def _line(parts: Sequence[Part], catalog: Catalog) -> Line:
    first = parts[0]
    category = catalog.categories.get(first.category)
    precise = total(part.amount for part in parts)
    quantity = ZERO
    events: list[str] = []
    for part in parts:
        quantity = add(quantity, part.quantity)
        events.extend(part.events)
    return Line(
        category=first.category,
        description=category.description if category else first.category,
        unit=first.unit or (category.unit if category else "units"),
        kind=first.kind,
        pool=first.pool,
        tier=first.tier,
        tier_label=first.tier_label,
        quantity=plain(quantity),
        unit_price=first.unit_price,
        precise_amount=precise,
        amount=round_money(precise, catalog.currency),
        events=tuple(events),
    )
