"""Invoices from stored events: same as the book, stable drafts, frozen finals, adjustments."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ratecard.billing.serialize import invoice_to_dict
from ratecard.book import load_book
from ratecard.errors import EventError, StateError
from ratecard.periods import Month
from ratecard.service import invoices
from ratecard.service.importer import import_file
from ratecard.service.ingest import ingest_batch
from ratecard.service.ports import Store
from ratecard.service.settings import LatePolicy, Settings
from ratecard.usage.events import parse_event

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
StoreAccounts = Callable[[Store, str], None]
ACME = "ACacbeacbeacbeacbeacbeacbeacbeacbe"
JULY, AUGUST, SEPTEMBER = Month(2026, 7), Month(2026, 8), Month(2026, 9)


def late_call(n: int = 1, seconds: int = 600) -> dict[str, Any]:
    return {
        "type": "call",
        "id": f"late-{n}",
        "account": ACME,
        "time": "2026-07-20T12:00:00Z",
        "call_id": f"CAlate{n}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": seconds,
    }


def stored_document(db: Store, month: Month) -> str:
    with db.unit_of_work() as uow:
        found = uow.invoices.current(ACME, str(month))
    assert found is not None
    return found.document


@pytest.fixture
def acme(db: Store, settings: Settings, store_book_accounts: StoreAccounts) -> Store:
    store_book_accounts(db, "acme")
    result = import_file(db, EXAMPLES / "acme" / "events.jsonl", settings)
    assert (result.stored, result.refused) == (21, 0)
    return db


@pytest.mark.parametrize(("book", "month"), [("acme", "2026-07"), ("number-volume", "2026-08")])
def test_the_store_and_the_book_give_identical_invoices(
    db: Store, settings: Settings, store_book_accounts: StoreAccounts, book: str, month: str
) -> None:
    store_book_accounts(db, book)
    import_file(db, EXAMPLES / book / "events.jsonl", settings)
    period = Month.parse(month)
    invoices.generate(db, period, settings)
    expected = [
        invoice_to_dict(i) for i in load_book(EXAMPLES / book / "book.toml").invoices(period)
    ]
    shown = invoices.show(db, period)
    assert [{k: v for k, v in doc.items() if k != "status"} for doc in shown] == expected
    assert {doc["status"] for doc in shown} == {"draft"}


def test_regenerating_a_draft_from_the_same_data_gives_the_identical_invoice(
    acme: Store, settings: Settings
) -> None:
    (first,) = invoices.generate(acme, JULY, settings, ACME)
    before = stored_document(acme, JULY)
    (again,) = invoices.generate(acme, JULY, settings, ACME)
    assert (first.action, again.action) == ("created", "unchanged")
    assert stored_document(acme, JULY) == before


def test_late_events_become_adjustments_next_month_and_the_final_never_changes(
    acme: Store, settings: Settings
) -> None:
    invoices.generate(acme, JULY, settings)
    invoices.finalize(acme, JULY, ACME)
    final = stored_document(acme, JULY)
    ingest_batch(acme, [late_call()], settings)  # 10 outbound minutes at 0.013 = 0.13

    (july,) = invoices.generate(acme, JULY, settings, ACME)
    (august,) = invoices.generate(acme, AUGUST, settings, ACME)
    assert august.action == "created"
    assert july.action == "finalized"
    assert stored_document(acme, JULY) == final  # byte for byte

    doc = json.loads(stored_document(acme, AUGUST))
    (adjustment,) = [line for line in doc["lines"] if line["kind"] == "adjustment"]
    assert adjustment["original_month"] == "2026-07"
    assert (adjustment["category"], adjustment["quantity"]) == ("calls-outbound", "10")
    assert (adjustment["amount"], adjustment["precise_amount"]) == ("0.13", "0.130")
    assert adjustment["description"].startswith("Adjustment for 2026-07")
    assert Decimal(doc["total"]) == sum(Decimal(line["amount"]) for line in doc["lines"])
    (own,) = [p for p in doc["subaccounts"] if p["account"] == ACME]
    assert [line["original_month"] for line in own["lines"] if line["kind"] == "adjustment"] == [
        "2026-07"
    ]
    # July as finalized plus its adjustments is July re-billed with every event
    rebilled = json.loads(final)["total"]
    assert Decimal(rebilled) + Decimal(adjustment["amount"]) == Decimal(
        _book_total_with_late_call(JULY)
    )


def _book_total_with_late_call(month: Month) -> str:
    book = load_book(EXAMPLES / "acme" / "book.toml")
    events = (*book.events, parse_event(late_call()))
    (invoice,) = replace(book, events=events).invoices(month)
    return str(invoice.total)


def test_an_adjustment_is_billed_once_across_later_finalized_months(
    acme: Store, settings: Settings
) -> None:
    invoices.generate(acme, JULY, settings)
    invoices.finalize(acme, JULY, ACME)
    ingest_batch(acme, [late_call()], settings)
    invoices.generate(acme, AUGUST, settings)
    invoices.finalize(acme, AUGUST, ACME)
    invoices.generate(acme, SEPTEMBER, settings)
    september = json.loads(stored_document(acme, SEPTEMBER))
    assert not [line for line in september["lines"] if line["kind"] == "adjustment"]

    ingest_batch(acme, [late_call(2, 60)], settings)  # one more late July minute
    invoices.generate(acme, SEPTEMBER, settings)
    september = json.loads(stored_document(acme, SEPTEMBER))
    (adjustment,) = [line for line in september["lines"] if line["kind"] == "adjustment"]
    assert (adjustment["quantity"], adjustment["original_month"]) == ("1", "2026-07")


def test_a_stale_draft_cannot_be_finalized(acme: Store, settings: Settings) -> None:
    invoices.generate(acme, JULY, settings)
    invoices.generate(acme, AUGUST, settings)
    invoices.finalize(acme, JULY, ACME)
    with pytest.raises(StateError, match="stale"):
        invoices.finalize(acme, AUGUST, ACME)
    invoices.generate(acme, AUGUST, settings)
    invoices.finalize(acme, AUGUST, ACME)


def test_the_reject_policy_refuses_events_for_a_finalized_month(
    acme: Store, settings: Settings
) -> None:
    invoices.generate(acme, JULY, settings)
    invoices.finalize(acme, JULY, ACME)
    strict = replace(settings, late_policy=LatePolicy.REJECT)
    with pytest.raises(EventError, match="finalized") as caught:
        ingest_batch(acme, [late_call()], strict)
    assert caught.value.problems[0].field == "time"


def test_under_the_reject_policy_a_draft_that_events_arrived_after_is_not_finalized(
    acme: Store, settings: Settings
) -> None:
    """Under ``reject`` nothing may reach a month after its invoice: a call stored after the
    draft was generated used to be finalized without it and billed as an adjustment anyway."""
    strict = replace(settings, late_policy=LatePolicy.REJECT)
    invoices.generate(acme, JULY, strict)
    ingest_batch(acme, [late_call()], strict)  # July is not finalized: accepted
    with pytest.raises(StateError) as caught:
        invoices.finalize(acme, JULY, ACME, policy=LatePolicy.REJECT)
    assert str(caught.value) == (
        f"the 2026-07 draft of {ACME} is stale: 1 event(s) for the month were stored after it "
        "was generated, and the late-event policy is 'reject' (they could never be billed "
        "later); run 'ratecard invoices generate' again"
    )
    assert invoices.show(acme, JULY, ACME)[0]["status"] == "draft"
    invoices.generate(acme, JULY, strict)
    assert (
        invoices.finalize(acme, JULY, ACME, policy=LatePolicy.REJECT)["total"] == "181.21"
    )  # + 10 min x 0.013


def test_under_adjust_next_a_draft_is_finalized_as_it_was_generated(
    acme: Store, settings: Settings
) -> None:
    invoices.generate(acme, JULY, settings)
    ingest_batch(acme, [late_call()], settings)  # billed as an adjustment next month
    assert invoices.finalize(acme, JULY, ACME)["total"] == "181.08"


def test_finalize_and_void_follow_the_lifecycle(acme: Store, settings: Settings) -> None:
    invoices.generate(acme, JULY, settings)
    invoices.finalize(acme, JULY, ACME)
    with pytest.raises(StateError, match="already finalized"):
        invoices.finalize(acme, JULY, ACME)
    assert invoices.void(acme, JULY, ACME) == "finalized"
    (shown,) = invoices.show(acme, JULY, ACME)
    assert shown["status"] == "void"
    (again,) = invoices.generate(acme, JULY, settings, ACME)
    assert again.action == "created"
    assert invoices.show(acme, JULY, ACME)[0]["status"] == "draft"
