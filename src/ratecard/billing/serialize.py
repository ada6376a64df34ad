"""Invoices as plain JSON-ready data: every number a decimal string (never a float).

:func:`document_to_dict` is the one serializer of an invoice document
(:class:`~ratecard.billing.document.InvoiceDocument`), whichever path computed it;
:func:`render_json` writes such data as the stored document's text.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from json.encoder import encode_basestring as _encode
from typing import Any

from ratecard.billing.document import (
    InvoiceDocument,
    LineDocument,
    ShareDocument,
    invoice_document,
    line_document,
)
from ratecard.billing.invoice import Invoice
from ratecard.rating.lines import Line


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def line_document_to_dict(line: LineDocument) -> dict[str, Any]:
    """A line's JSON object (``events`` only when the document was explained)."""
    data: dict[str, Any] = {
        "category": line.category,
        "description": line.description,
        "kind": line.kind,
        "pool": line.pool,
        "tier": line.tier,
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": _text(line.unit_price),
        "precise_amount": str(line.precise_amount),
        "amount": str(line.amount),
        "event_count": line.event_count,
    }
    if line.events is not None:
        data["events"] = list(line.events)
    return data


def _share_to_dict(share: ShareDocument) -> dict[str, Any]:
    return {
        "account": share.account,
        "name": share.name,
        "lines": [line_document_to_dict(line) for line in share.lines],
        "total": str(share.total),
    }


def document_to_dict(document: InvoiceDocument) -> dict[str, Any]:
    """The invoice JSON object of ``ratecard invoice BOOK --format json`` (a contract)."""
    return {
        "account": document.account,
        "name": document.name,
        "month": document.month,
        "currency": document.currency,
        "catalog": document.catalog,
        "lines": [line_document_to_dict(line) for line in document.lines],
        "subaccounts": [_share_to_dict(share) for share in document.subaccounts],
        "total": str(document.total),
    }


def line_to_dict(line: Line, explain: bool = False) -> dict[str, Any]:
    return line_document_to_dict(line_document(line, explain))


def invoice_to_dict(invoice: Invoice, explain: bool = False) -> dict[str, Any]:
    """The invoice JSON object of ``ratecard invoice BOOK --format json`` (a contract)."""
    return document_to_dict(invoice_document(invoice, explain))


def render_json(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, character for character (the
    stored text of an invoice document), several times faster: the standard library encodes
    indented JSON in pure Python generators."""
    return _json(value, "\n")


def _json(value: Any, newline: str) -> str:
    if isinstance(value, str):
        return _encode(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{_encode(str(k))}: {_json(v, inner)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_json(v, inner) for v in value) + newline + "]"
    return json.dumps(value, ensure_ascii=False)  # anything else: as json would (or its error)


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
