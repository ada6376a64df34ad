"""Usage triggers in the store (SQLite and PostgreSQL): firing once per period after
ingestion, values equal to the Usage Records, the outbox delivered signed, with retries and
backoff, and nothing lost when a process dies between the commit and the delivery."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ratecard.catalog import load_catalog
from ratecard.service import triggers, webhooks
from ratecard.service.accounts import create_account
from ratecard.service.importer import import_file
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.service.usage_records import Query, money_text, usage_records
from ratecard.store.database import Database
from ratecard.store.tables import WebhookOutboxRow

DAY1 = datetime(2026, 7, 20, 10, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
CATALOG = load_catalog("us")


def _call(account: str, number: int, at: datetime, minutes: int) -> dict[str, Any]:
    return {
        "type": "call",
        "id": f"c{number}",
        "account": account,
        "time": at.isoformat().replace("+00:00", "Z"),
        "call_id": f"CA{number}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": minutes * 60,
    }


def _account(db: Database) -> str:
    account, _ = create_account(db, "Trigger Co", None, date(2026, 1, 1))
    return account.sid


def _trigger(db: Database, account: str, url: str, **fields: str) -> triggers.Trigger:
    params = {"trigger_value": "5", "usage_category": "calls-outbound", "recurring": "daily"}
    params.update(fields)
    return triggers.create_trigger(db, CATALOG, account, DAY1, callback_url=url, **params)


def _outbox(db: Database) -> list[dict[str, str]]:
    with db.session() as session:
        rows = session.scalars(select(WebhookOutboxRow).order_by(WebhookOutboxRow.id)).all()
        return [json.loads(row.params) for row in rows]


def test_a_daily_trigger_fires_once_a_day_when_ingestion_crosses_it(
    db: Database, settings: Settings
) -> None:
    sid = _account(db)
    trigger = _trigger(db, sid, "http://127.0.0.1:9/hook")
    ingest_batch(db, [_call(sid, 1, DAY1, 3)], settings, DAY1)
    assert _outbox(db) == []  # 3 minutes: below 5
    ingest_batch(db, [_call(sid, 2, DAY1, 3)], settings, DAY1)
    ingest_batch(db, [_call(sid, 3, DAY1, 3)], settings, DAY1)  # the same day: no second fire
    ingest_batch(db, [_call(sid, 4, DAY2, 2)], settings, DAY2)  # the next day: 2 < 5
    ingest_batch(db, [_call(sid, 5, DAY2, 4)], settings, DAY2)  # 6 >= 5: fires again
    fired = _outbox(db)
    assert [(p["CurrentValue"], p["DateFired"]) for p in fired] == [
        ("6", "Mon, 20 Jul 2026 10:00:00 +0000"),
        ("6", "Tue, 21 Jul 2026 10:00:00 +0000"),
    ]
    first = fired[0]
    assert first["UsageTriggerSid"] == trigger.sid
    assert first["AccountSid"] == sid
    assert first["TriggerValue"] == "5"
    assert first["TriggerBy"] == "usage"
    assert first["Recurring"] == "daily"
    assert first["UsageCategory"] == "calls-outbound"
    assert first["IdempotencyToken"] == f"{sid}-FIRES-{trigger.sid}-2026-07-20"
    assert first["UsageRecordUri"].endswith(
        "/Usage/Records.json?Category=calls-outbound&StartDate=2026-07-20&EndDate=2026-07-20"
    )
    assert triggers.get_trigger(db, sid, trigger.sid).date_fired == DAY2


def test_price_and_count_triggers_agree_with_the_usage_records(
    db: Database, settings: Settings
) -> None:
    sid = _account(db)
    by_price = _trigger(db, sid, "http://127.0.0.1:9/p", trigger_by="price", trigger_value="0.10",
                        recurring="monthly")  # fmt: skip
    by_count = _trigger(db, sid, "http://127.0.0.1:9/c", trigger_by="count", trigger_value="2")
    total = _trigger(db, sid, "http://127.0.0.1:9/t", usage_category="totalprice",
                     trigger_by="price", trigger_value="0.10", recurring="monthly")  # fmt: skip
    calls = _trigger(db, sid, "http://127.0.0.1:9/k", usage_category="calls", trigger_by="count",
                     trigger_value="2")  # fmt: skip
    ingest_batch(db, [_call(sid, 1, DAY1, 7)], settings, DAY1)  # 7 x 0.013 = 0.091: neither
    assert _outbox(db) == []
    ingest_batch(db, [_call(sid, 2, DAY1, 1)], settings, DAY1)  # 0.104, two calls: both
    fired = {p["UsageTriggerSid"]: p for p in _outbox(db)}
    (record,) = usage_records(
        db, CATALOG, Query(sid, date(2026, 7, 1), date(2026, 7, 31), category="calls-outbound"),
        DAY1.date(),
    )  # fmt: skip
    assert fired[by_price.sid]["CurrentValue"] == money_text(record.price) == "0.10"
    assert fired[by_count.sid]["CurrentValue"] == "2"
    assert fired[total.sid]["CurrentValue"] == "0.10"  # the rollup: every category's price
    assert fired[calls.sid]["CurrentValue"] == "2"  # the vendor's rollup of every call
    assert fired[by_price.sid]["IdempotencyToken"].endswith("-2026-07")


def test_a_relative_value_is_the_current_value_plus_n_at_creation(
    db: Database, settings: Settings
) -> None:
    sid = _account(db)
    ingest_batch(db, [_call(sid, 1, DAY1, 4)], settings, DAY1)
    trigger = _trigger(db, sid, "http://127.0.0.1:9/r", trigger_value="+3", recurring="")
    assert trigger.trigger_value == 7
    ingest_batch(db, [_call(sid, 2, DAY1, 2)], settings, DAY1)  # 6 < 7
    assert _outbox(db) == []
    ingest_batch(db, [_call(sid, 3, DAY2, 1)], settings, DAY2)  # all time: 7
    later = DAY2 + timedelta(days=40)
    ingest_batch(db, [_call(sid, 4, later, 9)], settings, later)
    assert [p["CurrentValue"] for p in _outbox(db)] == ["7"]  # non-recurring: once ever


def test_webhooks_are_signed_retried_with_backoff_and_logged(
    db: Database, settings: Settings, receiver: Any
) -> None:
    sid = _account(db)
    trigger = _trigger(db, sid, receiver.url)
    receiver.fail_first = 2
    ingest_batch(db, [_call(sid, 1, DAY1, 5)], settings, DAY1)
    key = triggers.signing_key(db, sid, DAY1)
    assert webhooks.deliver_pass(db, DAY1) == webhooks.Pass(retrying=1)
    assert webhooks.deliver_pass(db, DAY1 + timedelta(seconds=29)) == webhooks.Pass()  # not due
    assert webhooks.deliver_pass(db, DAY1 + timedelta(seconds=30)) == webhooks.Pass(retrying=1)
    assert webhooks.deliver_pass(db, DAY1 + timedelta(seconds=89)) == webhooks.Pass()
    assert webhooks.deliver_pass(db, DAY1 + timedelta(seconds=90)) == webhooks.Pass(delivered=1)
    assert webhooks.deliver_pass(db, DAY1 + timedelta(days=1)) == webhooks.Pass()
    assert len(receiver.requests) == 3
    assert all(receiver.valid(key, r) for r in receiver.requests)
    assert not receiver.valid("0" * 32, receiver.requests[0])
    assert receiver.requests[0]["params"]["CurrentValue"] == "5"
    (delivery,) = webhooks.deliveries(db, sid, trigger.sid)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert [(a["status_code"], a["error"]) for a in delivery["log"]] == [
        (500, "HTTP 500"),
        (500, "HTTP 500"),
        (200, None),
    ]
    assert [a["started_at"] for a in delivery["log"]] == [
        "2026-07-20T10:00:00Z",
        "2026-07-20T10:00:30Z",
        "2026-07-20T10:01:30Z",
    ]


def test_a_get_callback_signs_its_full_url(db: Database, settings: Settings, receiver: Any) -> None:
    sid = _account(db)
    _trigger(db, sid, receiver.url + "?source=ratecard", callback_method="GET")
    ingest_batch(db, [_call(sid, 1, DAY1, 5)], settings, DAY1)
    assert webhooks.deliver_pass(db, DAY1) == webhooks.Pass(delivered=1)
    (request,) = receiver.requests
    assert request["method"] == "GET"
    assert "UsageTriggerSid=UT" in request["url"]
    assert receiver.valid(triggers.signing_key(db, sid, DAY1), request)


def test_attempts_are_bounded(db: Database, settings: Settings, receiver: Any) -> None:
    sid = _account(db)
    trigger = _trigger(db, sid, receiver.url)
    receiver.fail_first = 100
    ingest_batch(db, [_call(sid, 1, DAY1, 5)], settings, DAY1)
    moment = DAY1
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        webhooks.deliver_pass(db, moment)
        moment += webhooks.backoff(attempt)
    assert webhooks.deliver_pass(db, moment + timedelta(days=1)) == webhooks.Pass()
    (delivery,) = webhooks.deliveries(db, sid, trigger.sid)
    assert delivery["status"] == "failed"
    assert len(delivery["log"]) == delivery["attempts"] == webhooks.MAX_ATTEMPTS


def test_a_committed_outbox_row_survives_a_crash_and_is_delivered_by_the_next_pass(
    db: Database, settings: Settings, receiver: Any
) -> None:
    sid = _account(db)
    first = _trigger(db, sid, receiver.url, friendly_name="committed, never sent")
    second = _trigger(db, sid, receiver.url, friendly_name="claimed, worker died")
    ingest_batch(db, [_call(sid, 1, DAY1, 5)], settings, DAY1)
    # a worker claimed the second trigger's webhook, then its process died mid-attempt
    with db.session() as session:
        session.execute(
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.trigger_sid == second.sid)
            .values(next_attempt_at=DAY1 + webhooks.LEASE)
        )
        session.commit()
    db.dispose()  # the process is gone; a new one opens the store
    restarted = Database(db.url)
    try:
        assert webhooks.deliver_pass(restarted, DAY1) == webhooks.Pass(delivered=1)
        later = DAY1 + webhooks.LEASE
        assert webhooks.deliver_pass(restarted, later) == webhooks.Pass(delivered=1)
    finally:
        restarted.dispose()
    assert sorted(r["params"]["UsageTriggerSid"] for r in receiver.requests) == sorted(
        [first.sid, second.sid]
    )


def test_an_import_of_a_subaccounts_usage_fires_its_parents_trigger(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    parent = _account(db)
    sub, _ = create_account(db, "Trigger Sub", parent, date(2026, 1, 1))
    other = _trigger(db, sub.sid, "http://127.0.0.1:9/sub", trigger_value="100", recurring="")
    mine = _trigger(db, parent, "http://127.0.0.1:9/parent", trigger_value="2", recurring="")
    now = datetime.now(UTC).replace(microsecond=0)  # an import runs at the real clock
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(_call(sub.sid, 1, now - timedelta(hours=1), 3)) + "\n")
    assert import_file(db, events, settings).stored == 1
    (fired,) = _outbox(db)
    assert fired["UsageTriggerSid"] == mine.sid != other.sid
    assert (fired["AccountSid"], fired["CurrentValue"]) == (parent, "3")
