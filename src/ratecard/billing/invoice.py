"""Invoice assembly: priced parts -> lines, rounded once each (SPEC section 6).

Lines group parts of the same category, kind, pool, tier and unit price. Each line keeps its
precise amount (exact sum of its parts) beside its amount, rounded half-up to the currency's
minor unit by :func:`ratecard.money.round_money`, the only rounding of money. The invoice total
is the sum of the rounded lines. A per-account breakdown repeats the same assembly on each
account's own parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ratecard.accounts import Account
from ratecard.billing.periods import Month
from ratecard.catalog.model import Catalog
from ratecard.money import ZERO, add, plain, round_money, total
from ratecard.rating.parts import Kind, Part

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


@dataclass(frozen=True)
class AccountBreakdown:
    """One account's share of an invoice: its own lines, rounded the same way."""

    account: str
    name: str
    lines: tuple[Line, ...]
    total: Decimal


@dataclass(frozen=True)
class Invoice:
    """A billing account's invoice for one month. ``total`` = sum of rounded line amounts."""

    account: str
    name: str
    month: Month
    currency: str
    catalog: str
    lines: tuple[Line, ...]
    total: Decimal
    breakdown: tuple[AccountBreakdown, ...] = field(default=())


def assemble_lines(parts: Iterable[Part], catalog: Catalog) -> tuple[Line, ...]:
    """Group parts into lines and round each line once."""
    groups: dict[tuple[object, ...], list[Part]] = {}
    for part in parts:
        key = (part.category, part.kind, part.pool, part.tier, part.tier_label, part.unit_price)
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


def assemble_invoice(
    billing_account: Account,
    members: Sequence[Account],
    parts: Sequence[Part],
    month: Month,
    catalog: Catalog,
) -> Invoice:
    """The invoice of ``billing_account`` (with ``members``: itself and its subaccounts)."""
    lines = assemble_lines(parts, catalog)
    names: Mapping[str, str] = {a.sid: a.name for a in members}
    breakdown = []
    if len(members) > 1:
        for account in members:
            own = [p for p in parts if (p.account or billing_account.sid) == account.sid]
            own_lines = assemble_lines(own, catalog)
            total_ = _sum(own_lines, catalog.currency)
            breakdown.append(AccountBreakdown(account.sid, names[account.sid], own_lines, total_))
    return Invoice(
        account=billing_account.sid,
        name=billing_account.name,
        month=month,
        currency=catalog.currency,
        catalog=catalog.label(month.start),
        lines=lines,
        total=_sum(lines, catalog.currency),
        breakdown=tuple(breakdown),
    )


def _sum(lines: Sequence[Line], currency: str) -> Decimal:
    """Sum of rounded line amounts, written to the minor unit (an empty invoice is 0.00)."""
    return round_money(total(line.amount for line in lines), currency)
