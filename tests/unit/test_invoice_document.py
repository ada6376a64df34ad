"""The typed invoice document and its one serializer."""

from __future__ import annotations

import json
from decimal import Decimal

from ratecard.billing.document import InvoiceDocument, ShareDocument, line_document
from ratecard.billing.serialize import document_to_dict, line_to_dict, render_json
from ratecard.prices.parts import Kind
from ratecard.rating.lines import Line

LINE = Line(
    category="calls-outbound",
    description="Outbound calls",
    unit="min",
    kind=Kind.USAGE,
    pool=None,
    tier=1,
    tier_label="first 1,000",
    quantity=Decimal("3"),
    unit_price=Decimal("0.013"),
    precise_amount=Decimal("0.039"),
    amount=Decimal("0.04"),
    events=("c1", "c2"),
)


def test_a_line_shows_every_number_as_decimal_text_and_its_events_only_when_explained() -> None:
    assert line_to_dict(LINE) == {
        "category": "calls-outbound",
        "description": "Outbound calls",
        "kind": "usage",
        "pool": None,
        "tier": "first 1,000",
        "quantity": "3",
        "unit": "min",
        "unit_price": "0.013",
        "precise_amount": "0.039",
        "amount": "0.04",
        "event_count": 2,
    }
    assert line_to_dict(LINE, explain=True)["events"] == ["c1", "c2"]


def test_a_line_the_kernel_counted_shows_its_count_instead_of_its_listed_events() -> None:
    counted = line_document(LINE, event_count=5000)
    assert (counted.event_count, counted.events) == (5000, None)


def test_a_document_serializes_in_the_contracts_key_order_and_renders_as_json_dumps() -> None:
    line = line_document(LINE)
    share = ShareDocument("AC2", "Child \u00e9", (line,), Decimal("0.04"))
    document = InvoiceDocument(
        "AC1", "Parent", "2026-07", "USD", "catalog v1", (line,), (share,), Decimal("0.04")
    )
    data = document_to_dict(document)
    assert list(data) == [
        "account",
        "name",
        "month",
        "currency",
        "catalog",
        "lines",
        "subaccounts",
        "total",
    ]
    assert data["subaccounts"] == [
        {"account": "AC2", "name": "Child \u00e9", "lines": [line_to_dict(LINE)], "total": "0.04"}
    ]
    assert render_json(data) == json.dumps(data, indent=2, ensure_ascii=False)
