"""Invoice assembly: rated lines -> one invoice per billing account (SPEC section 6).

The lines come from :func:`ratecard.rating.lines.assemble_lines` (each rounded once there). The
invoice total is the sum of the rounded lines. A per-account breakdown repeats the same
assembly on each account's own parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ratecard.accounts import Account
from ratecard.catalog.model import Catalog
from ratecard.money import round_money, total
from ratecard.periods import Month
from ratecard.prices.parts import Part
from ratecard.rating.lines import Line, assemble_lines


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
