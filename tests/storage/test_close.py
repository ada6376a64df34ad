"""Fast month close (batch kernel from the store) == the existing path, document for document."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ratecard.catalog import load_catalog
from ratecard.periods import Month
from ratecard.service import close, invoices
from ratecard.service.accounts import create_account
from ratecard.service.importer import import_file
from ratecard.service.ingest import ingest_batch
from ratecard.service.invoices import _line_values
from ratecard.service.settings import Settings
from ratecard.store import bulk
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
StoreAccounts = Callable[[Database, str], None]


def documents(db: Database, month: Month) -> list[dict[str, Any]]:
    return [{k: v for k, v in doc.items() if k != "status"} for doc in invoices.show(db, month)]


def stored_lines(db: Database, month: Month) -> dict[str, list[Any]]:
    with UnitOfWork(db) as uow:
        return {
            inv.account: uow.invoices.lines(inv.id) for inv in uow.invoices.for_month(str(month))
        }


def fast_then_existing(
    db: Database, month: Month, settings: Settings, shard_rows: int = close.SHARD_ROWS
) -> list[dict[str, Any]]:
    """Close with the fast path, then with the existing one: every draft must be unchanged."""
    closed = close.generate(db, month, settings, shard_rows=shard_rows)
    assert closed.failed == []
    fast = closed.generated
    stored, lines = documents(db, month), stored_lines(db, month)
    again = invoices.generate(db, month, settings)
    assert [g.action for g in again] == ["unchanged"] * len(again)
    assert [(g.account, g.total) for g in fast] == [(g.account, g.total) for g in again]
    assert documents(db, month) == stored
    assert stored_lines(db, month) == lines
    assert close.generate(db, month, settings).generated == again  # a second close: unchanged
    return stored


@pytest.mark.parametrize(("book", "month"), [("acme", "2026-07"), ("number-volume", "2026-08")])
def test_fast_close_stores_the_existing_paths_documents_for_the_example_books(
    db: Database, settings: Settings, store_book_accounts: StoreAccounts, book: str, month: str
) -> None:
    store_book_accounts(db, book)
    import_file(db, EXAMPLES / book / "events.jsonl", settings)
    assert fast_then_existing(db, Month.parse(month), settings)


def generated_events(sids: list[str], count: int, seed: int) -> list[dict[str, Any]]:
    """Calls, messages, tasks, engagements and usage records, with ties in time."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(count):
        base = {
            "id": f"ev{n:05d}",
            "account": rng.choice(sids),
            "time": f"2026-07-{rng.randint(1, 31):02d}T10:00:0{rng.randint(0, 2)}Z",
        }
        kind = rng.randrange(5)
        if kind == 0:
            events.append(
                base
                | {
                    "type": "call",
                    "call_id": f"CA{n}",
                    "direction": rng.choice(["inbound", "outbound"]),
                    "number_type": rng.choice(["local", "tollfree", "mobile"]),
                    "country": rng.choice(["US", "CA"]),
                    "duration_seconds": rng.randint(0, 90_000),  # pools cross their bounds
                }
            )
        elif kind == 1:
            events.append(
                base
                | {
                    "type": "message",
                    "direction": rng.choice(["inbound", "outbound"]),
                    "channel": rng.choice(["longcode", "tollfree", "shortcode"]),
                    "country": "US",
                    "segments": rng.randint(1, 40_000),
                }
            )
        elif kind == 2:
            events.append(base | {"type": "taskrouter_task", "task": f"WT{n}"})
        elif kind == 3:
            events.append(base | {"type": "studio_engagement", "flow": "FW1", "engagement": f"{n}"})
        else:
            events.append(
                base
                | {
                    "type": "usage",
                    "category": "recordings",
                    "quantity": str(rng.randint(0, 30)),
                    "country": "US",
                }
            )
    return events


def test_fast_close_rates_generated_usage_exactly_as_the_existing_path(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    child, _ = create_account(db, "Child", parent.sid, date(2025, 1, 1))
    alone, _ = create_account(db, "Alone", None, date(2025, 1, 1))
    ingest_batch(db, generated_events([parent.sid, child.sid, alone.sid], 400, 7), settings)

    def existing_path_not_taken(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("every account here is plain usage: the kernel rates it all")

    monkeypatch.setattr(close, "bill_month", existing_path_not_taken)
    july = Month(2026, 7)
    stored = fast_then_existing(db, july, settings)
    assert {doc["account"] for doc in stored} == {parent.sid, alone.sid}
    assert any(line["pool"] and line["tier"] != "first 500,000" for line in stored[0]["lines"])
    assert stored[0]["subaccounts"] or stored[1]["subaccounts"]


def test_fast_close_in_small_shards_and_blocks_is_the_same(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several shards, each read in several blocks (PostgreSQL: one per 7 sequence numbers)."""
    sids = [create_account(db, f"A{n}", None, date(2025, 1, 1))[0].sid for n in range(3)]
    child, _ = create_account(db, "Child", sids[0], date(2025, 1, 1))
    ingest_batch(db, generated_events([*sids, child.sid], 300, 11), settings)
    monkeypatch.setattr(bulk, "BLOCK_SEQS", 7)
    stored = fast_then_existing(db, Month(2026, 7), settings, shard_rows=50)
    assert len(stored) == 3


def test_a_failed_block_read_fails_the_close_and_stops_the_reader(
    postgres_db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: there the blocks are read by a thread of their own."""
    db, settings = postgres_db, Settings(database_url=postgres_url)
    alone, _ = create_account(db, "Alone", None, date(2025, 1, 1))
    ingest_batch(db, generated_events([alone.sid], 50, 3), settings)
    read = bulk._postgresql_blocks

    def failing(*args: Any) -> Any:
        yield from itertools.islice(read(*args), 1)
        raise RuntimeError("connection lost")

    monkeypatch.setattr(bulk, "BLOCK_SEQS", 10)
    monkeypatch.setattr(bulk, "_postgresql_blocks", failing)
    with pytest.raises(RuntimeError, match="connection lost"):
        close.generate(db, Month(2026, 7), settings)
    assert not [t for t in threading.enumerate() if t.name == "close-reader"]
    assert invoices.show(db, Month(2026, 7)) == []


def test_new_drafts_are_stored_with_the_documents_line_values_verbatim(db: Database) -> None:
    """Bulk storing (PostgreSQL: COPY text) keeps odd text and every decimal exactly."""
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    child, _ = create_account(db, "Child", parent.sid, date(2025, 1, 1))
    line = {
        "category": "odd\tcategory\\with\nbreaks\r",
        "description": "d",
        "kind": "usage",
        "pool": None,
        "tier": "first 1,000",
        "quantity": "1E+3",
        "unit": "min",
        "unit_price": None,
        "precise_amount": "-0.0000001",
        "amount": "0.00",
        "event_count": 2,
    }
    doc = {
        "account": parent.sid,
        "name": "Parent",
        "month": "2026-07",
        "currency": "USD",
        "catalog": "c",
        "lines": [line, line | {"unit_price": "0.0085", "original_month": "2026-06"}],
        "subaccounts": [{"account": child.sid, "name": "Child", "lines": [line], "total": "0.00"}],
        "total": "0.00",
    }
    now = datetime(2026, 8, 1, tzinfo=UTC)
    with UnitOfWork(db) as uow:
        catalog = load_catalog(Settings(database_url=db.url).catalog)
        accounts = uow.accounts.list()
        close.store_documents(uow, catalog, accounts, [doc], Month(2026, 7), 5, now)
        uow.commit()
    with UnitOfWork(db) as uow:
        (stored,) = uow.invoices.for_month("2026-07")
        assert stored.document == invoices.render(doc)
        assert uow.invoices.lines(stored.id) == _line_values(doc)


def test_a_month_close_reports_each_account_it_cannot_rate_and_closes_the_others(
    db: Database, db_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 item 3: one account with unpriceable usage already stored made the whole
    close fail. Now it is reported by sid with the reason (on the kernel's path and on the
    per-account path alike) and every other account gets its draft."""
    import json

    from typer.testing import CliRunner

    from ratecard.cli.main import app
    from ratecard.service.ingest import store_events
    from ratecard.service.settings import LatePolicy
    from ratecard.usage.events import parse_event

    good, _ = create_account(db, "Good", None, date(2025, 1, 1))
    unknown, _ = create_account(db, "Unknown", None, date(2025, 1, 2))
    polar, _ = create_account(db, "Polar", None, date(2025, 1, 3))
    calls = [
        {
            "type": "call",
            "id": f"c{n}",
            "account": sid,
            "time": "2026-07-02T10:00:00Z",
            "call_id": f"CA{n:032d}",
            "direction": "outbound",
            "number_type": "local",
            "country": country,
            "duration_seconds": seconds,
        }
        for n, (sid, country, seconds) in enumerate(
            [
                (good.sid, "US", 60),
                (good.sid, "US", 61),
                (good.sid, "US", 120),
                (unknown.sid, "US", 60),
                (polar.sid, "AQ", 60),
            ]
        )
    ]
    number = {
        "type": "number_purchased",
        "id": "n1",
        "account": polar.sid,
        "time": "2026-07-01T00:00:00Z",
        "number": "+14155550100",
        "number_type": "local",
        "country": "US",
    }
    ingest_batch(db, [*calls[:4], number], settings)
    teleport = {
        "type": "usage",
        "id": "u1",
        "account": unknown.sid,
        "time": "2026-07-03T00:00:00Z",
        "category": "teleport",
        "quantity": "2",
    }
    with UnitOfWork(db) as uow:  # stored before ingestion refused such events
        now = datetime(2026, 7, 4, tzinfo=UTC)
        old = [("old", parse_event(teleport)), ("old", parse_event(calls[4]))]  # AQ: unpriced
        store_events(uow, old, LatePolicy.ADJUST_NEXT, now)
        uow.commit()

    closed = close.generate(db, Month(2026, 7), settings)
    # 1 + 2 + 2 minutes at 0.013 = 0.065, rounded half-up once
    assert [(g.account, g.action, g.total) for g in closed.generated] == [
        (good.sid, "created", "0.07")
    ]
    assert [(f.account, f.month) for f in closed.failed] == [
        (unknown.sid, "2026-07"),
        (polar.sid, "2026-07"),
    ]
    assert "category 'teleport'" in closed.failed[0].reason
    assert "country AQ" in closed.failed[1].reason
    assert [d["account"] for d in documents(db, Month(2026, 7))] == [good.sid]

    monkeypatch.setenv("RATECARD_DATABASE_URL", db_url)
    result = CliRunner().invoke(
        app, ["invoices", "generate", "--month", "2026-07", "--format", "json"]
    )
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert [(i["account"], i["action"]) for i in shown["invoices"]] == [(good.sid, "unchanged")]
    assert [f["account"] for f in shown["failed"]] == [unknown.sid, polar.sid]
    assert "2 billing account(s) could not be rated for 2026-07" in result.stderr
    table = CliRunner().invoke(app, ["invoices", "generate", "--month", "2026-07"])
    assert table.exit_code == 1
    assert "not rated" in table.stdout
    assert unknown.sid in table.stdout


def test_the_month_usage_read_gives_each_stored_instant_to_the_microsecond(db: Database) -> None:
    """The bulk read's time column is microseconds since 1970 for instants on both sides of
    PostgreSQL's own epoch (2000-01-01, below which its binary form is negative)."""
    rows = [
        ("e1", "2026-07-01 00:00:00.000001+00", 1782864000000001),
        ("e2", "2026-07-31 23:59:59.999999+00", 1785542399999999),
        ("e3", "1999-12-31 23:59:59.999999+00", 946684799999999),
        ("e4", "2000-01-01 00:00:00+00", 946684800000000),
    ]
    insert = (
        "INSERT INTO events (account_sid, event_id, type, time, body, stored_at, category, "
        "quantity, country) VALUES ('AC1', :id, 'call', :time, '{}', :time, 'calls-outbound', "
        "60, 'US')"
    )
    with UnitOfWork(db) as uow:
        for event_id, moment, _ in rows:
            stored = moment if uow.dialect == "postgresql" else moment.removesuffix("+00")
            uow.events.session.execute(text(insert), {"id": event_id, "time": stored})
        uow.commit()
    with UnitOfWork(db) as uow:
        start, end = datetime(1999, 12, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
        usage = bulk.month_usage(uow, start, end, None, (1, 4))
    assert sorted(usage.select("event_id", "time").iter_rows()) == [(r[0], r[2]) for r in rows]


def test_a_call_in_the_last_half_millisecond_of_the_month_is_on_its_invoice(
    db: Database, settings: Settings
) -> None:
    """SQLite keeps times in milliseconds: the fast close read 2026-07-31T23:59:59.9996 as
    2026-08-01T00:00:00.9996, rated the call in August and left it off July's invoice
    (3 minutes at 0.013 = 0.039, 0.04, where the existing path bills 4 minutes: 0.052, 0.05)."""
    owner, _ = create_account(db, "Late night", None, date(2025, 1, 1))
    calls = [
        {
            "type": "call",
            "id": f"c{n}",
            "account": owner.sid,
            "time": moment,
            "call_id": f"CA{n:032d}",
            "direction": "outbound",
            "number_type": "local",
            "country": "US",
            "duration_seconds": seconds,
        }
        for n, (moment, seconds) in enumerate(
            [("2026-07-02T10:00:00Z", 180), ("2026-07-31T23:59:59.999600Z", 60)]
        )
    ]
    ingest_batch(db, calls, settings)
    (doc,) = fast_then_existing(db, Month(2026, 7), settings)
    assert [(line["quantity"], line["amount"]) for line in doc["lines"]] == [("4", "0.05")]
    assert doc["total"] == "0.05"


def test_every_block_reader_sees_the_snapshot_the_read_began_with(
    postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads blocks on several connections at once; each imports the unit of
    work's snapshot, so an event committed after the read began is in none of the blocks
    (a reader on a READ COMMITTED connection of its own would see it)."""
    db = postgres_db
    insert = (
        "INSERT INTO events (account_sid, event_id, type, time, body, stored_at, category, "
        "quantity, country) VALUES ('AC1', :id, 'call', '2026-07-02 10:00:00+00', '{}', "
        "'2026-07-02 10:00:00+00', 'calls-outbound', 60, 'US')"
    )
    with db.engine.begin() as connection:
        for n in range(4):
            connection.execute(text(insert), {"id": f"before{n}"})
    read = bulk._postgresql_blocks

    def committing_first(*args: Any) -> Any:
        if args[-2] == (0, 2):  # reader 0, before its first block: a concurrent commit
            with db.engine.begin() as connection:
                connection.execute(text(insert), {"id": "after"})
        yield from read(*args)

    monkeypatch.setattr(bulk, "BLOCK_SEQS", 3)
    monkeypatch.setattr(bulk, "_postgresql_blocks", committing_first)
    with UnitOfWork(db) as uow:
        start, end = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
        usage = bulk.month_usage(uow, start, end, None, (1, 6))
    assert sorted(usage["event_id"]) == ["before0", "before1", "before2", "before3"]
    monkeypatch.setattr(bulk, "_postgresql_blocks", read)
    with UnitOfWork(db) as uow:
        assert bulk.month_usage(uow, start, end, None, (1, 6)).height == 5
