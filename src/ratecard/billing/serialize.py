"""Invoices as plain JSON-ready data: every number a decimal string (never a float)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from ratecard.billing.invoice import Invoice, Line


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def line_to_dict(line: Line, explain: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": line.category,
        "description": line.description,
        "kind": line.kind.value,
        "pool": line.pool,
        "tier": line.tier_label,
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": _text(line.unit_price),
        "precise_amount": str(line.precise_amount),
        "amount": str(line.amount),
        "event_count": len(line.events),
    }
    if explain:
        data["events"] = list(line.events)
    return data


def invoice_to_dict(invoice: Invoice, explain: bool = False) -> dict[str, Any]:
    """The invoice JSON object of ``ratecard invoice BOOK --format json`` (a contract)."""
    return {
        "account": invoice.account,
        "name": invoice.name,
        "month": str(invoice.month),
        "currency": invoice.currency,
        "catalog": invoice.catalog,
        "lines": [line_to_dict(line, explain) for line in invoice.lines],
        "subaccounts": [
            {
                "account": part.account,
                "name": part.name,
                "lines": [line_to_dict(line, explain) for line in part.lines],
                "total": str(part.total),
            }
            for part in invoice.breakdown
        ],
        "total": str(invoice.total),
    }


#: Columns of the invoice CSV (``invoices show --format csv``, the API's ``?format=csv``).
CSV_COLUMNS = (
    "account",
    "month",
    "status",
    "section",
    "category",
    "description",
    "kind",
    "tier",
    "quantity",
    "unit",
    "unit_price",
    "precise_amount",
    "amount",
    "original_month",
)


def invoices_to_csv(docs: list[dict[str, Any]]) -> str:
    """Stored invoice documents as CSV, one row per line. ``section`` is ``invoice`` for the
    invoice's own lines and an account sid for that account's share (the breakdown)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for doc in docs:
        sections = [("invoice", doc["lines"])]
        sections += [(part["account"], part["lines"]) for part in doc["subaccounts"]]
        head = {"account": doc["account"], "month": doc["month"], "status": doc["status"]}
        for section, lines in sections:
            for line in lines:
                writer.writerow({**line, **head, "section": section})
    return buffer.getvalue()
