"""Live rating in the service agrees exactly with a fresh month close, on both backends.

Events of a parent and a subaccount arrive in random order (late ones included) in small
batches; a usage query after each batch catches the live month up. At the end the live parts
give the same invoice lines as ``bill_month`` over every stored event, line for line, and the
usage records equal those computed from scratch (a new cache).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ratecard.accounts import Account
from ratecard.billing.monthly import bill_month
from ratecard.catalog import load_catalog
from ratecard.periods import Month
from ratecard.rating.lines import assemble_lines
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.live import live_months
from ratecard.service.settings import Settings
from ratecard.service.usage_records import Query, usage_records
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.usage.events import Event, parse_event

JULY = Month(2026, 7)
TODAY = date(2026, 7, 31)


def _events(parent: str, child: str, rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(240):
        moment = JULY.start + timedelta(seconds=rng.randrange(30 * 86400))
        common = {
            "id": f"e{n}",
            "account": rng.choice([parent, parent, child]),
            "time": moment.isoformat().replace("+00:00", "Z"),
            "country": "US",
        }
        if n % 3:
            duration = rng.randrange(1, 720_000)  # voice crosses its 500,000-minute tier
            events.append(
                common
                | {
                    "type": "call",
                    "call_id": f"CA{n:032d}",
                    "direction": rng.choice(["inbound", "outbound"]),
                    "number_type": "local",
                    "duration_seconds": duration,
                }
            )
        else:
            events.append(
                common
                | {
                    "type": "message",
                    "direction": "outbound",
                    "channel": "longcode",
                    "segments": rng.randrange(1, 12_000),
                }
            )
    rng.shuffle(events)  # arrival order is not time order: many events are late
    return events


def _stored(db: Database) -> tuple[list[Account], list[Event]]:
    with UnitOfWork(db) as uow:
        accounts = uow.accounts.list()
        bodies = uow.events.for_billing(None, JULY.start, JULY.end)
    return accounts, [parse_event(json.loads(body), "stored event") for body in bodies]


def test_live_month_equals_a_fresh_close_line_for_line(db: Database, settings: Settings) -> None:
    catalog = load_catalog("us")
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    child, _ = create_account(db, "Child", parent.sid, date(2025, 1, 1))
    rng = random.Random(7)
    events = _events(parent.sid, child.sid, rng)
    query = Query(parent.sid, JULY.start.date(), TODAY, "monthly")
    for start in range(0, len(events), 17):
        ingest_batch(db, events[start : start + 17], settings)
        usage_records(db, catalog, query, TODAY)  # the live month catches up after each batch

    members = [parent.sid, child.sid]
    live = live_months(db).month(db, catalog, parent.sid, members, JULY, True)
    assert live.parts is not None  # rated incrementally, not by the fallback
    accounts, stored = _stored(db)
    (invoice,) = bill_month(catalog, accounts, stored, JULY, only=parent.sid)
    assert assemble_lines(live.parts, catalog) == invoice.lines
    assert len(invoice.lines) > 2  # tiers were crossed

    cached = usage_records(db, catalog, query, TODAY)
    daily = usage_records(db, catalog, Query(parent.sid, date(2026, 7, 1), TODAY, "daily"), TODAY)
    fresh_db = Database(db.url)  # a new Database object: a new, empty live cache
    try:
        assert usage_records(fresh_db, catalog, query, TODAY) == cached
        daily_fresh = usage_records(
            fresh_db, catalog, Query(parent.sid, date(2026, 7, 1), TODAY, "daily"), TODAY
        )
        assert daily_fresh == daily
    finally:
        fresh_db.dispose()
    prices = {r.category: r.price for r in cached}
    for category in {line.category for line in invoice.lines}:
        on_invoice = sum(line.amount for line in invoice.lines if line.category == category)
        assert prices[category] == on_invoice


def test_another_writer_is_seen_and_number_events_fall_back_exactly(
    db: Database, settings: Settings
) -> None:
    catalog = load_catalog("us")
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    rng = random.Random(11)
    events = _events(parent.sid, parent.sid, rng)[:60]
    query = Query(parent.sid, JULY.start.date(), TODAY, "monthly")
    ingest_batch(db, events[:30], settings)
    usage_records(db, catalog, query, TODAY)
    other = Database(db.url)  # another process's connection writes behind the cache's back
    try:
        ingest_batch(other, events[30:], settings)
    finally:
        other.dispose()
    live = live_months(db).month(db, catalog, parent.sid, [parent.sid], JULY, True)
    assert live.parts is not None
    assert len(live.events) == 60
    number = {
        "type": "number_purchased",
        "id": "n1",
        "account": parent.sid,
        "time": datetime(2026, 7, 3, tzinfo=UTC).isoformat(),
        "number": "+14155550100",
        "number_type": "local",
        "country": "US",
    }
    ingest_batch(db, [number], settings)
    live = live_months(db).month(db, catalog, parent.sid, [parent.sid], JULY, True)
    assert live.parts is None  # number charges depend on history: rated by the month path
    accounts, stored = _stored(db)
    (invoice,) = bill_month(catalog, accounts, stored, JULY, only=parent.sid)
    prices = {r.category: r.price for r in usage_records(db, catalog, query, TODAY)}
    for category in {line.category for line in invoice.lines}:
        on_invoice = sum(line.amount for line in invoice.lines if line.category == category)
        assert prices[category] == on_invoice
