"""The in-memory store through the services: the demo bills as on SQLite, errors leave nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ratecard import Month
from ratecard.errors import EventError, NotFoundError
from ratecard.service import invoices
from ratecard.service.accounts import create_account, list_accounts
from ratecard.service.demo import PARENT, ensure_demo
from ratecard.service.ingest import ingest_batch
from ratecard.service.memory import MemoryStore
from ratecard.service.ports import Store
from ratecard.service.settings import Settings
from ratecard.store.database import Database

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)


def _demo_invoices(db: Store, settings: Settings) -> list[str]:
    """Seed the demo, draft and finalize June, draft July; every stored document as text."""
    assert next(c.sid for c in ensure_demo(db, settings, NOW)) == PARENT
    june, july = Month(2026, 6), Month(2026, 7)
    invoices.generate(db, june, settings, now=NOW)
    invoices.finalize(db, june, PARENT, now=NOW)
    invoices.generate(db, july, settings, only=PARENT, now=NOW)
    return [repr(doc) for month in (june, july) for doc in invoices.show(db, month)]


def test_the_demo_bills_the_same_in_memory_as_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    database = Database(url)
    database.upgrade()
    settings = Settings(database_url=url)
    try:
        on_sqlite = _demo_invoices(database, settings)
    finally:
        database.dispose()
    in_memory = _demo_invoices(MemoryStore(), settings)
    assert len(in_memory) == 2
    assert in_memory == on_sqlite


def test_a_refused_batch_stores_no_event_and_a_refused_account_nothing(
    db: MemoryStore, settings: Settings
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2026, 1, 1))
    good = {
        "type": "taskrouter_task",
        "id": "task-1",
        "account": parent.sid,
        "time": "2026-07-01T09:00:00Z",
        "task": "WT" + "1" * 32,
    }
    unknown = {**good, "id": "task-2", "account": "AC" + "f" * 32}
    with pytest.raises(EventError, match="does not exist"):
        ingest_batch(db, [good, unknown], settings, NOW)
    with pytest.raises(NotFoundError):
        create_account(db, "Orphan", "AC" + "e" * 32, date(2026, 1, 1))
    with db.unit_of_work() as uow:
        assert uow.events.count() == 0
    assert [a.sid for a in list_accounts(db)] == [parent.sid]


def test_a_repository_outside_its_unit_of_work_is_refused() -> None:
    uow = MemoryStore().unit_of_work()
    with pytest.raises(AssertionError, match="outside 'with'"):
        uow.accounts.list()
    with uow:
        assert uow.accounts.list() == []
    with pytest.raises(AssertionError, match="outside 'with'"):
        uow.commit()
