"""Idempotent, atomic ingestion of event batches, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from ratecard.errors import ConflictError, EventError
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork


def task(account: str, n: int, **extra: Any) -> dict[str, Any]:
    event = {
        "type": "taskrouter_task",
        "id": f"task-{n}",
        "account": account,
        "time": "2026-07-01T09:00:00Z",
        "task": f"WT{n:032d}",
    }
    return event | extra


def stored_count(db: Database) -> int:
    with UnitOfWork(db) as uow:
        return uow.events.count()


def test_a_batch_is_stored_and_counted(db: Database, settings: Settings, account: str) -> None:
    outcome = ingest_batch(db, [task(account, n) for n in range(5)], settings)
    assert (outcome.stored, outcome.duplicates, outcome.refused) == (5, 0, 0)
    assert stored_count(db) == 5


def test_resending_the_same_events_is_a_no_op_reported_as_duplicates(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, [task(account, n) for n in range(3)], settings)
    again = ingest_batch(db, [task(account, n) for n in range(4)], settings)
    assert (again.stored, again.duplicates) == (1, 3)
    assert stored_count(db) == 4


def test_the_same_instant_written_differently_is_still_a_duplicate(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, [task(account, 1)], settings)
    again = ingest_batch(db, [task(account, 1, time="2026-07-01T11:00:00+02:00")], settings)
    assert again.duplicates == 1


def test_a_batch_with_one_bad_event_stores_nothing_and_names_it(
    db: Database, settings: Settings, account: str
) -> None:
    batch = [task(account, n) for n in range(5)]
    batch[3] = {**batch[3], "time": "2026-07-01 09:00"}
    with pytest.raises(EventError) as caught:
        ingest_batch(db, batch, settings)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("events[3]", "time")
    assert "offset" in problem.reason
    assert stored_count(db) == 0


def test_same_id_with_different_content_is_refused_as_a_conflict_and_rolls_back(
    db: Database, settings: Settings, account: str
) -> None:
    ingest_batch(db, [task(account, 1)], settings)
    batch = [task(account, 2), task(account, 1, task="WT" + "9" * 32)]
    with pytest.raises(ConflictError) as caught:
        ingest_batch(db, batch, settings)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("events[1]", "id")
    assert "different content" in problem.reason
    assert stored_count(db) == 1  # task-2 was not stored either


def test_an_event_of_an_unknown_account_refuses_the_batch(
    db: Database, settings: Settings, account: str
) -> None:
    with pytest.raises(EventError, match="does not exist"):
        ingest_batch(db, [task(account, 1), task("AC" + "f" * 32, 2)], settings)
    assert stored_count(db) == 0


def test_a_float_quantity_is_refused_naming_the_field(
    db: Database, settings: Settings, account: str
) -> None:
    usage = {
        "type": "usage",
        "id": "u1",
        "account": account,
        "time": "2026-07-02T00:00:00Z",
        "category": "lookups",
        "quantity": 1.5,
    }
    with pytest.raises(EventError) as caught:
        ingest_batch(db, [usage], settings)
    assert caught.value.problems[0].field == "quantity"
