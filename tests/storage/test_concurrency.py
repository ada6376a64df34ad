"""Concurrent writers of overlapping batches: every event is stored exactly once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from ratecard.service.ingest import Outcome, ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork

WRITERS = 4
EVENTS = 400
BATCH = 50


def _events(account: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "taskrouter_task",
            "id": f"t{n}",
            "account": account,
            "time": "2026-07-01T09:00:00Z",
            "task": f"WT{n:032d}",
        }
        for n in range(EVENTS)
    ]


def _writer(url: str, account: str, writer: int) -> tuple[int, int, int]:
    """Send all events in overlapping batches, each writer starting at a different offset."""
    db = Database(url)
    events = _events(account)
    shift = writer * EVENTS // WRITERS
    rotated = events[shift:] + events[:shift]
    total = Outcome()
    sent = 0
    for start in range(0, EVENTS, BATCH // 2):  # every event is sent twice by each writer
        batch = rotated[start : start + BATCH]
        total.add(ingest_batch(db, batch, Settings(database_url=url)))
        sent += len(batch)
    db.dispose()
    return total.stored, total.duplicates, sent


def _check(db: Database, results: list[tuple[int, int, int]]) -> None:
    stored = sum(r[0] for r in results)
    duplicates = sum(r[1] for r in results)
    sent = sum(r[2] for r in results)
    with UnitOfWork(db) as uow:
        assert uow.events.count() == EVENTS
    assert stored == EVENTS
    assert stored + duplicates == sent


def test_threads_ingesting_overlapping_batches_store_each_event_once(
    db: Database, db_url: str, account: str
) -> None:
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(lambda w: _writer(db_url, account, w), range(WRITERS)))
    _check(db, results)


def test_processes_ingesting_overlapping_batches_store_each_event_once(
    db: Database, db_url: str, account: str
) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(WRITERS) as pool:
        results = pool.starmap(_writer, [(db_url, account, w) for w in range(WRITERS)])
    _check(db, results)


def test_a_copy_that_meets_an_event_stored_meanwhile_falls_back_to_the_constraint(
    postgres_db: Database, postgres_url: str, monkeypatch: Any
) -> None:
    """PostgreSQL copies new events straight into ``events`` after reading which are stored.
    When another writer stores one in between (simulated: the read answers "none stored"),
    the copy is refused by the unique constraint and the batch is stored row by row under
    ON CONFLICT instead: the new event stored once, the other counted as a duplicate."""
    from ratecard.service.accounts import create_account
    from ratecard.store.repositories import EventRepository

    account, _ = create_account(postgres_db, "Racer", None, date(2025, 1, 1))
    settings = Settings(database_url=postgres_url)
    first, second, third = _events(account.sid)[:3]
    assert ingest_batch(postgres_db, [first, second], settings).stored == 2
    monkeypatch.setattr(EventRepository, "_stored_keys", staticmethod(lambda *_: set()))
    outcome = ingest_batch(postgres_db, [second, third], settings)
    assert (outcome.stored, outcome.duplicates, outcome.problems) == (1, 1, [])
    with UnitOfWork(postgres_db) as uow:
        assert uow.events.count() == 3


SHUFFLED_THREADS = 8
SHUFFLED_EVENTS = 3_000
ROUNDS = 5


def _round_events(account: str, round_no: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "taskrouter_task",
            "id": f"r{round_no}-t{n}",
            "account": account,
            "time": "2026-07-01T09:00:00Z",
            "task": f"WT{n:032d}",
        }
        for n in range(SHUFFLED_EVENTS)
    ]


def test_eight_threads_sending_the_same_events_shuffled_never_fail_and_store_each_once(
    postgres_db: Database, postgres_url: str
) -> None:
    """Issue 12 item 1: the same 3,000 events, in a different order per thread, all at once
    (a barrier), 5 rounds. Every call succeeds (no DeadlockDetected) and each event is
    stored once: per round the stored counts sum to 3,000 and the rest are duplicates."""
    import random
    import threading

    from ratecard.service.accounts import create_account

    account, _ = create_account(postgres_db, "Crowd", None, date(2025, 1, 1))
    settings = Settings(database_url=postgres_url)
    barrier = threading.Barrier(SHUFFLED_THREADS)

    def send(events: list[dict[str, Any]]) -> Outcome:
        barrier.wait()
        return ingest_batch(postgres_db, events, settings)

    for round_no in range(ROUNDS):
        events = _round_events(account.sid, round_no)
        batches = []
        for thread in range(SHUFFLED_THREADS):
            order = list(events)
            random.Random(round_no * 100 + thread).shuffle(order)
            batches.append(order)
        with ThreadPoolExecutor(SHUFFLED_THREADS) as pool:
            outcomes = list(pool.map(send, batches))
        assert sum(o.stored for o in outcomes) == SHUFFLED_EVENTS
        assert sum(o.duplicates for o in outcomes) == SHUFFLED_EVENTS * (SHUFFLED_THREADS - 1)
        assert all(o.problems == [] for o in outcomes)
    with UnitOfWork(postgres_db) as uow:
        assert uow.events.count() == SHUFFLED_EVENTS * ROUNDS


def test_a_deadlock_or_serialization_failure_runs_the_whole_transaction_again() -> None:
    """The server retries what PostgreSQL rolled back (bounded), never answers it as an error;
    anything else is raised at once."""
    import psycopg
    import pytest

    from ratecard.store.database import retrying

    def failing(*errors: Exception) -> tuple[list[int], Callable[[], str]]:
        """A transaction that raises ``errors`` in turn, then succeeds; and its run count."""
        runs: list[int] = []

        def work() -> str:
            runs.append(1)
            if len(runs) <= len(errors):
                raise errors[len(runs) - 1]
            return "stored"

        return runs, work

    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    runs, work = failing(deadlock, psycopg.errors.SerializationFailure("could not serialize"))
    assert (retrying(work), len(runs)) == ("stored", 3)
    runs, work = failing(deadlock, deadlock, deadlock)
    with pytest.raises(psycopg.errors.DeadlockDetected):
        retrying(work, attempts=3)
    assert len(runs) == 3
    runs, work = failing(psycopg.errors.UniqueViolation("duplicate key"))
    with pytest.raises(psycopg.errors.UniqueViolation):
        retrying(work)
    assert len(runs) == 1


def test_under_reject_an_ingestion_racing_a_finalize_never_lands_in_the_finalized_month(
    db: Database, db_url: str, account: str, monkeypatch: Any
) -> None:
    """The ``reject`` policy reads which months are finalized, then stores. A finalize that
    committed in between let the event into a finalized month (billed as an adjustment, which
    ``reject`` promises never happens). Forced here: the ingestion pauses right after its
    read while a finalize runs. Either the finalize waits for the ingestion and then finds its
    draft stale, or the ingestion sees the month finalized and refuses: never both stored."""
    import threading
    from dataclasses import replace

    from ratecard.errors import EventError, StateError
    from ratecard.periods import Month
    from ratecard.service import invoices
    from ratecard.service.settings import LatePolicy
    from ratecard.store.repositories import InvoiceRepository

    july = Month(2026, 7)
    strict = replace(Settings(database_url=db_url), late_policy=LatePolicy.REJECT)
    ingest_batch(db, _events(account)[:2], strict)
    invoices.generate(db, july, strict)
    read, go = threading.Event(), threading.Event()
    original = InvoiceRepository.finalized_months

    def paused(self: InvoiceRepository, accounts: Any) -> set[tuple[str, str]]:
        found = original(self, accounts)
        read.set()
        go.wait(timeout=30)
        return found

    monkeypatch.setattr(InvoiceRepository, "finalized_months", paused)
    results: dict[str, object] = {}

    def ingest() -> None:
        try:
            results["ingest"] = ingest_batch(db, _events(account)[2:3], strict)
        except EventError as exc:
            results["ingest"] = exc

    def finalize() -> None:
        try:
            results["finalize"] = invoices.finalize(db, july, account, policy=LatePolicy.REJECT)
        except StateError as exc:
            results["finalize"] = exc

    ingesting = threading.Thread(target=ingest)
    ingesting.start()
    assert read.wait(timeout=30)
    monkeypatch.setattr(InvoiceRepository, "finalized_months", original)
    finalizing = threading.Thread(target=finalize)
    finalizing.start()
    finalizing.join(timeout=1.0)  # the old code finalized here, while the ingestion waited
    go.set()
    ingesting.join(timeout=60)
    finalizing.join(timeout=60)
    stored = not isinstance(results["ingest"], EventError)
    finalized = not isinstance(results["finalize"], StateError)
    assert (stored, finalized) in {(True, False), (False, True)}
    with UnitOfWork(db) as uow:
        assert uow.events.count() == (3 if stored else 2)
        assert uow.invoices.current(account, "2026-07").status == (  # type: ignore[union-attr]
            "finalized" if finalized else "draft"
        )
