"""The vendor's official Python SDK as a real client of the Usage Records API.

The SDK talks to the local server (``client.api.base_url``); its records must agree with
ratecard's own invoices: a whole month's records equal the invoice's rounded lines per
category, and daily records add up to the invoice's exact (precise) amounts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import httpx
import pytest
from twilio.rest import Client

from .conftest import Server


@pytest.fixture
def sdk(server: Server, monkeypatch: pytest.MonkeyPatch) -> Client:
    # an edge or region makes the SDK rewrite the host, away from the local server
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    client = Client(*server.parent)
    client.api.base_url = server.url
    return client


def _invoice(server: Server, month: str) -> dict[str, object]:
    sid = server.parent[0]
    with httpx.Client(base_url=server.url, auth=server.parent) as client:
        answer = client.post(f"/v1/accounts/{sid}/invoices", json={"month": month})
        assert answer.status_code == 200, answer.text
        doc: dict[str, object] = answer.json()["invoice"]
        return doc


def _per_category(lines: object, field: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    assert isinstance(lines, list)
    for line in lines:
        sums[line["category"]] += Decimal(line[field])
    return dict(sums)


def test_this_month_records_equal_the_invoice_lines_per_category(
    sdk: Client, server: Server
) -> None:
    invoice = _invoice(server, "2026-07")
    records = sdk.usage.records.this_month.list()
    assert {r.category: r.price for r in records} == _per_category(invoice["lines"], "amount")
    assert sum(r.price for r in records) == Decimal(str(invoice["total"]))
    assert all(r.start_date == date(2026, 7, 1) for r in records)
    assert all(r.account_sid == server.parent[0] for r in records)


def test_last_month_and_monthly_records_agree_with_the_june_invoice(
    sdk: Client, server: Server
) -> None:
    invoice = _invoice(server, "2026-06")
    last = {r.category: r.price for r in sdk.usage.records.last_month.list()}
    assert last == _per_category(invoice["lines"], "amount")
    monthly = sdk.usage.records.monthly.list(
        start_date=date(2026, 6, 1), end_date=date(2026, 6, 30)
    )
    assert {r.category: r.price for r in monthly} == last


def test_daily_records_page_through_and_add_up_to_the_exact_invoice(
    sdk: Client, server: Server
) -> None:
    invoice = _invoice(server, "2026-07")
    daily = sdk.usage.records.daily.list(
        start_date=date(2026, 7, 1), end_date=date(2026, 7, 31), page_size=25
    )
    assert len(daily) > 25  # more than one page was followed
    keys = [(r.start_date, r.category) for r in daily]
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for record in daily:
        assert record.start_date == record.end_date
        sums[record.category] += record.price
    assert dict(sums) == _per_category(invoice["lines"], "precise_amount")


def test_records_list_with_a_category_and_a_limit_pages_too(sdk: Client, server: Server) -> None:
    records = sdk.usage.records.list(
        category="calls-outbound", start_date=date(2026, 6, 20), end_date=date(2026, 7, 20)
    )
    assert [r.category for r in records] == ["calls-outbound"]
    assert records[0].count_unit == "calls"
    assert int(records[0].count) > 0
    limited = sdk.usage.records.daily.list(start_date="-20days", limit=30)
    assert len(limited) == 30


def test_a_subaccount_scope_and_include_subaccounts_false(sdk: Client, server: Server) -> None:
    whole = {r.category for r in sdk.usage.records.this_month.list()}
    alone = {r.category for r in sdk.usage.records.this_month.list(include_subaccounts=False)}
    assert "sms-outbound" in whole
    assert "sms-outbound" not in alone
    marketing = Client(*server.marketing)
    marketing.api.base_url = server.url
    own = marketing.usage.records.this_month.list()
    assert {r.category for r in own} == {"phonenumbers-local", "sms-outbound"}
