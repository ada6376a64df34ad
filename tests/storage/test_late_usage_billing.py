"""Late usage of a finalized month: priced at the position the month had reached, billed once.

Hand-computed figures (catalog us 2026.1, the US/Canada voice pool: one 500,000-minute
threshold; outbound 0.013 -> 0.012, inbound local 0.0085 -> 0.0080 after it).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ratecard.catalog import load_catalog
from ratecard.periods import Month
from ratecard.service import close, invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.service.usage_records import Query, usage_records
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork

JULY, AUGUST = Month(2026, 7), Month(2026, 8)
OCTOBER, NOVEMBER = Month(2026, 10), Month(2026, 11)


def call(
    account: str, n: str, time: str, minutes: int, direction: str = "outbound"
) -> dict[str, Any]:
    return {
        "type": "call",
        "id": f"call-{n}",
        "account": account,
        "time": time,
        "call_id": f"CA{n}",
        "direction": direction,
        "number_type": "local",
        "country": "US",
        "duration_seconds": minutes * 60,
    }


def july_at_499_990_minutes(account: str) -> list[dict[str, Any]]:
    """Nine 50,000-minute outbound calls and one of 49,990: 499,990 minutes, 6,499.87."""
    calls = [call(account, f"big{i}", f"2026-07-{10 + i:02d}T12:00:00Z", 50_000) for i in range(9)]
    return [*calls, call(account, "last", "2026-07-28T12:00:00Z", 49_990)]


def document(db: Database, account: str, month: Month) -> dict[str, Any]:
    with UnitOfWork(db) as uow:
        found = uow.invoices.current(account, str(month))
    assert found is not None
    doc: dict[str, Any] = json.loads(found.document)
    return doc


def adjustments(doc: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (
            ln["category"],
            ln["tier"],
            ln["quantity"],
            ln["unit_price"],
            ln["precise_amount"],
            ln["amount"],
        )
        for ln in doc["lines"]
        if ln["kind"] == "adjustment"
    ]


@pytest.fixture
def volume_account(db: Database, settings: Settings) -> str:
    account, _ = create_account(db, "Volume Co", None, date(2025, 1, 1))
    ingest_batch(db, july_at_499_990_minutes(account.sid), settings)
    invoices.generate(db, JULY, settings, account.sid)
    assert document(db, account.sid, JULY)["total"] == "6499.87"
    invoices.finalize(db, JULY, account.sid)
    return account.sid


def test_a_late_call_is_priced_after_what_the_finalized_month_billed(
    db: Database, settings: Settings, volume_account: str
) -> None:
    # a 20-minute call dated July 1st, before everything July billed: 10 minutes remain below
    # the threshold at 0.013 (0.13), the other 10 are over it at 0.012 (0.12); July's own
    # minutes are not re-split
    ingest_batch(db, [call(volume_account, "late", "2026-07-01T08:00:00Z", 20)], settings)
    invoices.generate(db, AUGUST, settings, volume_account)
    doc = document(db, volume_account, AUGUST)
    assert adjustments(doc) == [
        ("calls-outbound", "first 500,000", "10", "0.013", "0.130", "0.13"),
        ("calls-outbound", "over 500,000", "10", "0.012", "0.120", "0.12"),
    ]
    assert doc["total"] == "0.25"


def test_a_late_call_of_another_category_takes_the_volume_rate_of_its_own_category(
    db: Database, settings: Settings, volume_account: str
) -> None:
    # 20 inbound minutes at position 499,990: 10 x 0.0085 = 0.085 -> 0.09, 10 x 0.0080 = 0.08.
    # Re-rating July in time order would instead bill the 20 inbound minutes at 0.0085 and move
    # 10 outbound minutes July billed at 0.013 to 0.012 (0.17 - 0.13 + 0.12 = 0.16).
    late = call(volume_account, "late-in", "2026-07-01T08:00:00Z", 20, direction="inbound")
    ingest_batch(db, [late], settings)
    invoices.generate(db, AUGUST, settings, volume_account)
    doc = document(db, volume_account, AUGUST)
    assert adjustments(doc) == [
        ("calls-inbound-local", "first 500,000", "10", "0.0085", "0.0850", "0.09"),
        ("calls-inbound-local", "over 500,000", "10", "0.0080", "0.0800", "0.08"),
    ]
    assert doc["total"] == "0.17"


def test_a_second_late_call_continues_from_where_the_first_adjustment_left_the_pool(
    db: Database, settings: Settings, volume_account: str
) -> None:
    ingest_batch(db, [call(volume_account, "late1", "2026-07-01T08:00:00Z", 5)], settings)
    invoices.generate(db, AUGUST, settings, volume_account)
    assert adjustments(document(db, volume_account, AUGUST)) == [
        ("calls-outbound", "first 500,000", "5", "0.013", "0.065", "0.07"),
    ]
    invoices.finalize(db, AUGUST, volume_account)
    # July has billed 499,995 minutes: 5 more below the threshold, 15 over it. An adjustment's
    # amount is the difference of the rounded lines (6,500.00 - 6,499.94 = 0.06, precise 0.065),
    # so July's lines and their adjustments add up to July rated once and nothing is rounded twice
    ingest_batch(db, [call(volume_account, "late2", "2026-07-02T08:00:00Z", 20)], settings)
    invoices.generate(db, Month(2026, 9), settings, volume_account)
    assert adjustments(document(db, volume_account, Month(2026, 9))) == [
        ("calls-outbound", "first 500,000", "5", "0.013", "0.065", "0.06"),
        ("calls-outbound", "over 500,000", "15", "0.012", "0.180", "0.18"),
    ]


def billed_minutes(db: Database, account: str) -> Counter[str]:
    """Minutes per category over every finalized invoice (lines and adjustment lines)."""
    with UnitOfWork(db) as uow:
        finalized = uow.invoices.finalized(account)
    minutes: Counter[str] = Counter()
    for inv in finalized:
        for line in json.loads(inv.document)["lines"]:
            minutes[line["category"]] += int(Decimal(line["quantity"]))
    return minutes


def october_finalized_then_a_late_call(db: Database, settings: Settings) -> str:
    """An account whose October (100 minutes, 1.30) is finalized, then a late 30-minute call."""
    account, _ = create_account(db, "Void Co", None, date(2025, 1, 1))
    sid = account.sid
    ingest_batch(db, [call(sid, "oct", "2026-10-05T12:00:00Z", 100)], settings)
    invoices.generate(db, OCTOBER, settings, sid)
    invoices.finalize(db, OCTOBER, sid)
    ingest_batch(db, [call(sid, "late", "2026-10-20T12:00:00Z", 30)], settings)
    return sid


LATE_30 = [("calls-outbound", "first 500,000", "30", "0.013", "0.390", "0.39")]


@pytest.mark.parametrize("path", ["one account", "month close"])
def test_voiding_and_regenerating_a_month_does_not_bill_an_adjusted_late_call_again(
    db: Database, settings: Settings, path: str
) -> None:
    sid = october_finalized_then_a_late_call(db, settings)
    ingest_batch(db, [call(sid, "nov", "2026-11-03T12:00:00Z", 10)], settings)
    invoices.generate(db, NOVEMBER, settings, sid)
    assert adjustments(document(db, sid, NOVEMBER)) == LATE_30
    invoices.finalize(db, NOVEMBER, sid)

    invoices.void(db, OCTOBER, sid)
    if path == "month close":
        close.generate(db, OCTOBER, settings)
    else:
        invoices.generate(db, OCTOBER, settings, sid)
    october = document(db, sid, OCTOBER)
    # the 30 late minutes are on November's invoice: October bills its 100 minutes only
    assert [(ln["quantity"], ln["amount"]) for ln in october["lines"]] == [("100", "1.30")]
    invoices.finalize(db, OCTOBER, sid)
    assert billed_minutes(db, sid) == Counter({"calls-outbound": 140})


def test_voiding_the_invoice_that_carried_an_adjustment_bills_the_late_call_again_later(
    db: Database, settings: Settings
) -> None:
    sid = october_finalized_then_a_late_call(db, settings)
    invoices.generate(db, NOVEMBER, settings, sid)
    invoices.finalize(db, NOVEMBER, sid)
    invoices.void(db, NOVEMBER, sid)
    assert billed_minutes(db, sid) == Counter({"calls-outbound": 100})
    invoices.generate(db, NOVEMBER, settings, sid)
    assert adjustments(document(db, sid, NOVEMBER)) == LATE_30
    invoices.finalize(db, NOVEMBER, sid)
    assert billed_minutes(db, sid) == Counter({"calls-outbound": 130})


def test_the_usage_records_of_a_finalized_month_equal_its_invoice_after_a_late_call(
    db: Database, settings: Settings, volume_account: str
) -> None:
    # July was finalized at 499,990 minutes (6,499.87); the late 20 minutes are billed on
    # August's invoice as an adjustment, so July's monthly record stays what July's invoice says
    ingest_batch(db, [call(volume_account, "late", "2026-07-01T08:00:00Z", 20)], settings)
    query = Query(volume_account, date(2026, 7, 1), date(2026, 7, 31), "monthly")
    catalog = load_catalog(settings.catalog)
    (record,) = usage_records(db, catalog, query, date(2026, 12, 3))
    assert (record.category, record.count, record.usage, record.price) == (
        "calls-outbound",
        10,
        Decimal("499990"),
        Decimal("6499.87"),
    )
