"""Issue 13 item 3: each event's rating columns are stored beside its body (migration 0006
backfills older rows), and the month close rates from them without reading the JSON."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from ratecard.periods import Month
from ratecard.service import close
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch, ingest_new
from ratecard.service.settings import Settings
from ratecard.store.database import Database, _alembic_config
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.usage.events import new_event, parse_event
from ratecard.usage.fastpath import decode_batch

JULY = Month(2026, 7)
PG_SERVER = os.environ.get("RATECARD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def call(n: int, sid: str, seconds: int, country: str = "US") -> dict[str, Any]:
    return {
        "type": "call",
        "id": f"c{n}",
        "account": sid,
        "time": "2026-07-02T10:00:00Z",
        "call_id": f"CA{n}",
        "direction": "outbound",
        "number_type": "local",
        "country": country,
        "duration_seconds": seconds,
    }


USAGE = {
    "type": "usage",
    "id": "u1",
    "time": "2026-07-03T00:00:00Z",
    "category": "recordings",
    "quantity": "2.50",
    "amount": "0.125",
}
TASK = {"type": "taskrouter_task", "id": "t1", "time": "2026-07-03T00:00:00Z", "task": "WT1"}


def columns(db: Database) -> list[tuple[Any, ...]]:
    with UnitOfWork(db) as uow:
        rows = uow.events.session.execute(
            text("SELECT event_id, category, quantity, country, amount FROM events ORDER BY seq")
        )
        return [(e, c, None if q is None else Decimal(q), o, a) for e, c, q, o, a in rows]


def expected() -> list[tuple[Any, ...]]:
    return [
        ("c1", "calls-outbound", Decimal(61), "US", None),
        ("u1", "recordings", Decimal("2.50"), None, Decimal("0.125")),
        ("t1", "taskrouter-tasks", Decimal(1), None, None),
        ("n1", None, None, None, None),
    ]


NUMBER = {
    "type": "number_purchased",
    "id": "n1",
    "time": "2026-07-01T00:00:00Z",
    "number": "+14155550100",
    "number_type": "local",
    "country": "US",
}


def events_of(sid: str) -> list[dict[str, Any]]:
    return [
        call(1, sid, 61),
        USAGE | {"account": sid},
        TASK | {"account": sid},
        NUMBER | {"account": sid},
    ]


def test_ingestion_stores_each_events_metering_beside_its_body(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, events_of(account), settings)
    found = columns(db)
    assert [(e, c, q, o, None if a is None else Decimal(a)) for e, c, q, o, a in found] == (
        expected()
    )


def test_the_fast_ingestion_path_stores_the_same_columns_as_the_models(
    db: Database, settings: Settings, account: str
) -> None:
    raw = json.dumps({"events": [call(1, account, 61), call(2, account, 0, "CA")]})
    fast = decode_batch(raw.encode())
    assert fast is not None
    models = [new_event(parse_event(item)) for item in json.loads(raw)["events"]]
    assert [row.metering for row in fast] == [row.metering for row in models]
    ingest_new(db, [(f"events[{i}]", row) for i, row in enumerate(fast)], settings)
    assert columns(db) == [
        ("c1", "calls-outbound", Decimal(61), "US", None),
        ("c2", "calls-outbound", Decimal(0), "CA", None),
    ]


def test_the_close_rates_from_the_columns_and_never_reads_a_body(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, [call(1, account, 61), call(2, account, 60)], settings)
    with UnitOfWork(db) as uow:  # bodies no parser would read
        uow.events.session.execute(text("UPDATE events SET body = 'not json'"))
        uow.commit()
    closed = close.generate(db, JULY, settings)
    # 2 + 1 minutes at 0.013 = 0.039, rounded half-up once
    assert [(g.account, g.total) for g in closed.generated] == [(account, "0.04")]


def test_an_event_stored_without_its_columns_is_billed_from_its_body(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, [call(1, account, 61), call(2, account, 60)], settings)
    with UnitOfWork(db) as uow:  # as if written by something that skipped the metering
        uow.events.session.execute(
            text("UPDATE events SET category = NULL, quantity = NULL WHERE event_id = 'c1'")
        )
        uow.commit()
    closed = close.generate(db, JULY, settings)
    assert [(g.account, g.total) for g in closed.generated] == [(account, "0.04")]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (no schema yet), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"ratecard_test_{secrets.token_hex(6)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def migrate(db: Database, revision: str) -> None:
    config = _alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_the_migration_backfills_the_columns_of_events_stored_before_it(
    fresh_url: str, tmp_path: Path
) -> None:
    db = Database(fresh_url)
    migrate(db, "0005")
    sid = create_account(db, "Old", None, date(2025, 1, 1))[0].sid
    stored = datetime(2026, 7, 4, tzinfo=UTC)
    rows = [new_event(parse_event(item)) for item in events_of(sid)]
    with db.engine.begin() as connection:
        for row in rows:  # the columns of 0005 only
            connection.execute(
                text(
                    "INSERT INTO events (account_sid, event_id, type, time, body, stored_at) "
                    "VALUES (:a, :e, :t, :time, :b, :s)"
                ),
                {
                    "a": row.account,
                    "e": row.event_id,
                    "t": row.type,
                    "time": _stamp(db, row.time),
                    "b": row.body,
                    "s": _stamp(db, stored),
                },
            )
    db.upgrade()
    found = columns(db)
    assert [(e, c, q, o, None if a is None else Decimal(a)) for e, c, q, o, a in found] == (
        expected()
    )
    db.dispose()


def _stamp(db: Database, moment: datetime) -> Any:
    """A time as the store writes it (SQLite: naive UTC text with six decimals)."""
    return moment if db.dialect == "postgresql" else moment.strftime("%Y-%m-%d %H:%M:%S.%f")
