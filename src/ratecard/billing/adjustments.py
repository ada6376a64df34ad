"""Adjustment lines: late usage of a finalized month, billed on a later invoice. Pure.

A finalized invoice never changes. When a later month is invoiced, each finalized earlier
month with events that no finalized invoice bills is rated twice: from what is billed, and
with the late events rated after all of it (:func:`ratecard.service.invoices._adjusted`). The
difference becomes lines of kind ``adjustment`` carrying the original month: only the late
events' own units, at the tier position the month had reached.

Money in the invoice currency. Per line key (category, kind, pool, tier, unit price):
``precise_amount`` is the exact difference of precise amounts and ``amount`` the difference of
the rounded amounts, so no rounding happens twice. The invoice total stays the sum of rounded
lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ratecard.money import EXACT, ZERO, D, plain, round_money, total

Doc = dict[str, Any]
Key = tuple[str, str, str | None, str | None, str | None]


def _key(line: Doc) -> Key:
    kind = line.get("adjusts") or line["kind"]
    return (line["category"], kind, line["pool"], line["tier"], line["unit_price"])


def _text(value: Decimal) -> str:
    return f"{value:f}"


def adjustment_lines(
    rebilled: Sequence[Doc], billed: Sequence[Doc], original_month: str, currency: str
) -> list[Doc]:
    """Lines bringing ``billed`` (invoice lines as JSON objects) up to ``rebilled``."""
    sums: dict[Key, list[Decimal]] = {}  # quantity, precise, amount, event count
    samples: dict[Key, Doc] = {}
    for sign, lines in ((1, rebilled), (-1, billed)):
        for line in lines:
            key = _key(line)
            samples.setdefault(key, line)
            acc = sums.setdefault(key, [ZERO, ZERO, ZERO, ZERO])
            values = (line["quantity"], line["precise_amount"], line["amount"])
            for i, value in enumerate(values):
                acc[i] = EXACT.add(acc[i], sign * D(value))
            acc[3] += sign * int(line.get("event_count", 0))
    result = []
    for key, (quantity, precise, amount, events) in sums.items():
        if quantity == 0 and precise == 0 and amount == 0:
            continue
        sample = samples[key]
        result.append(
            {
                "category": sample["category"],
                "description": f"Adjustment for {original_month}: {sample['description']}",
                "kind": "adjustment",
                "pool": sample["pool"],
                "tier": sample["tier"],
                "quantity": _text(plain(quantity)),
                "unit": sample["unit"],
                "unit_price": sample["unit_price"],
                "precise_amount": _text(precise),
                "amount": _text(round_money(amount, currency)),
                "event_count": int(events),
                "adjusts": key[1],
                "original_month": original_month,
            }
        )
    return result


def lines_for(doc: Doc, account: str | None) -> list[Doc]:
    """The invoice's own lines (``account`` None) or a subaccount's breakdown lines."""
    if account is None:
        return list(doc["lines"])
    for part in doc["subaccounts"]:
        if part["account"] == account:
            return list(part["lines"])
    return []


def with_adjustments(
    doc: Doc, main: Sequence[Doc], per_account: dict[str, list[Doc]], currency: str
) -> Doc:
    """``doc`` with adjustment lines appended (and its totals recomputed from rounded lines)."""
    result = dict(doc)
    result["lines"] = [*doc["lines"], *main]
    result["total"] = _sum(result["lines"], currency)
    parts = []
    for part in doc["subaccounts"]:
        extra = per_account.get(part["account"], [])
        lines = [*part["lines"], *extra]
        parts.append({**part, "lines": lines, "total": _sum(lines, currency)})
    result["subaccounts"] = parts
    return result


def _sum(lines: Sequence[Doc], currency: str) -> str:
    return str(round_money(total(D(line["amount"]) for line in lines), currency))
