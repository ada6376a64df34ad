"""``POST /v1/events`` answers the same on its fast path (well-formed batches of calls or
messages in UTC) and its general path, on SQLite and PostgreSQL; the staged PostgreSQL insert
(COPY into a temporary table) stores every body exactly and keeps the batch's order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from ratecard.api import create_app
from ratecard.service.accounts import create_account
from ratecard.service.ingest import store_events
from ratecard.service.settings import LatePolicy, Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.usage.events import event_fingerprint, parse_event
from ratecard.usage.fastpath import decode_batch

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)


def call(account: str, n: int, time: str = "2026-07-01T09:00:00Z", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "call",
        "id": f"e{n}",
        "account": account,
        "time": time,
        "call_id": f"CA{n:032d}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": 30 + n,
    }
    return event | extra


OFFSET = "2026-07-01T11:00:00+02:00"  # the same instant, not in the fast path's form


@pytest.fixture
def tenant(db: Database) -> tuple[str, str]:
    created, token = create_account(db, "Tenant", None, date(2025, 1, 1))
    return created.sid, token


@dataclass
class Client:
    """The API app in process (no server), called as ``tenant``."""

    app: FastAPI
    auth: tuple[str, str]

    def post(self, events: list[dict[str, Any]]) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ratecard", auth=self.auth
            ) as client:
                return await client.post("/v1/events", content=json.dumps({"events": events}))

        return asyncio.run(send())


@pytest.fixture
def client(settings: Settings, tenant: tuple[str, str]) -> Iterator[Client]:
    app = create_app(settings, clock=lambda: NOW)
    yield Client(app, tenant)
    app.state.ratecard.db.dispose()


def post(client: Client, events: list[dict[str, Any]]) -> httpx.Response:
    return client.post(events)


def test_both_paths_store_the_same_and_see_each_others_events_as_duplicates(
    client: Client, tenant: tuple[str, str], db: Database
) -> None:
    sid = tenant[0]
    fast = [call(sid, n) for n in range(5)]
    general = [call(sid, n, OFFSET) for n in range(3, 8)]
    assert decode_batch(json.dumps({"events": fast}).encode()) is not None
    assert decode_batch(json.dumps({"events": general}).encode()) is None
    assert post(client, fast).json() == {"stored": 5, "duplicates": 0}
    assert post(client, general).json() == {"stored": 3, "duplicates": 2}
    assert post(client, fast + fast[:2]).json() == {"stored": 0, "duplicates": 7}
    with UnitOfWork(db) as uow:
        stored = uow.events.bodies([(sid, f"e{n}") for n in range(8)])
    assert stored == {
        (sid, f"e{n}"): event_fingerprint(parse_event(call(sid, n))) for n in range(8)
    }


def test_a_conflict_is_answered_the_same_on_both_paths(
    client: Client, tenant: tuple[str, str]
) -> None:
    sid = tenant[0]
    post(client, [call(sid, n) for n in range(3)])
    fast = post(client, [call(sid, 9), call(sid, 1, duration_seconds=999)])
    general = post(client, [call(sid, 9, OFFSET), call(sid, 1, OFFSET, duration_seconds=999)])
    assert fast.status_code == 409
    assert (general.status_code, general.json()) == (fast.status_code, fast.json())
    inside = post(client, [call(sid, 20), call(sid, 20, duration_seconds=1)])
    inside_general = post(
        client, [call(sid, 20, OFFSET), call(sid, 20, OFFSET, duration_seconds=1)]
    )
    assert inside.status_code == 409
    assert (inside_general.status_code, inside_general.json()) == (409, inside.json())
    assert post(client, [call(sid, 9)]).json() == {"stored": 1, "duplicates": 0}  # rolled back


def test_an_account_outside_the_tree_is_refused_the_same_on_both_paths(
    client: Client, tenant: tuple[str, str], db: Database
) -> None:
    sid = tenant[0]
    stranger, _ = create_account(db, "Stranger", None, date(2025, 1, 1))
    unknown = "AC" + "f" * 32
    for foreign in (stranger.sid, unknown):
        fast = post(client, [call(sid, 1), call(foreign, 2)])
        general = post(client, [call(sid, 1, OFFSET), call(foreign, 2, OFFSET)])
        assert fast.status_code == 422
        assert (general.status_code, general.json()) == (422, fast.json())
        assert [p["index"] for p in fast.json()["error"]["problems"]] == [1]
    assert post(client, [call(sid, 1)]).json() == {"stored": 1, "duplicates": 0}


def test_a_subaccounts_events_take_the_fast_path_for_its_parent(
    client: Client, tenant: tuple[str, str], db: Database
) -> None:
    sub, _ = create_account(db, "Sub", tenant[0], date(2025, 1, 1))
    events = [call(tenant[0], 1), call(sub.sid, 1), call(sub.sid, 2)]
    assert post(client, events).json() == {"stored": 3, "duplicates": 0}


def test_bodies_with_copy_format_characters_round_trip_exactly(db: Database, account: str) -> None:
    # control characters (tab, line breaks, NUL) are refused in ids (issue 12): what COPY
    # text still has to escape in an id is the backslash, and \N must stay text, not NULL
    odd = ["back\\slash", 'quote"s', "\\N", "\\t not a tab", "é😀", "end\\"]
    events = [
        (f"e[{i}]", parse_event(call(account, i, id=ident, call_id=ident)))
        for i, ident in enumerate(odd)
    ]
    for attempt in range(2):
        with UnitOfWork(db) as uow:
            outcome = store_events(uow, events, LatePolicy.ADJUST_NEXT, NOW)
            uow.commit()
        expected = (len(odd), 0) if attempt == 0 else (0, len(odd))
        assert (outcome.stored, outcome.duplicates, outcome.problems) == (*expected, [])
    with UnitOfWork(db) as uow:
        stored = uow.events.bodies([(account, ident) for ident in odd])
    assert stored == {(account, e.id): event_fingerprint(e) for _, e in events}


def test_two_batches_in_one_transaction_and_the_stored_order_is_the_batch_order(
    db: Database, account: str
) -> None:
    first = [(f"a[{n}]", parse_event(call(account, n))) for n in (5, 3, 9, 1)]
    second = [(f"b[{n}]", parse_event(call(account, n))) for n in (3, 7, 2)]
    with UnitOfWork(db) as uow:
        one = store_events(uow, first, LatePolicy.ADJUST_NEXT, NOW)
        two = store_events(uow, second, LatePolicy.ADJUST_NEXT, NOW)
        uow.commit()
    assert (one.stored, one.duplicates, two.stored, two.duplicates) == (4, 0, 2, 1)
    with db.engine.connect() as connection:
        ids = connection.execute(text("SELECT event_id FROM events ORDER BY seq")).scalars()
        assert list(ids) == ["e5", "e3", "e9", "e1", "e7", "e2"]


def test_concurrent_shuffled_posts_on_postgresql_all_answer_200_and_store_each_once(
    postgres_db: Database, postgres_url: str
) -> None:
    """Issue 12 item 1 over HTTP (the fast path of calls): 8 clients post the same 3,000 calls,
    each shuffled differently, at once, 3 rounds: every answer is 200 and the stored counts
    of a round sum to 3,000, the rest duplicates."""
    import random
    import threading
    from concurrent.futures import ThreadPoolExecutor

    created, token = create_account(postgres_db, "Crowd", None, date(2025, 1, 1))
    app = create_app(Settings(database_url=postgres_url), clock=lambda: NOW)
    client = Client(app, (created.sid, token))
    barrier = threading.Barrier(8)

    def send(events: list[dict[str, Any]]) -> httpx.Response:
        barrier.wait()
        return client.post(events)

    try:
        for round_no in range(3):
            calls = [call(created.sid, round_no * 3000 + n) for n in range(3000)]
            orders = [random.Random(round_no * 10 + t).sample(calls, len(calls)) for t in range(8)]
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(send, orders))
            assert [a.status_code for a in answers] == [200] * 8
            assert sum(a.json()["stored"] for a in answers) == 3000
            assert sum(a.json()["duplicates"] for a in answers) == 21000
    finally:
        app.state.ratecard.db.dispose()
    with UnitOfWork(postgres_db) as uow:
        assert uow.events.count() == 9000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "e1\x00"}, "id"),
        ({"call_id": "CA\x00"}, "call_id"),
        ({"call_id": "CA\x85x"}, "call_id"),
        ({"time": "9999-12-31T23:59:59-01:00"}, "time"),
        ({"time": "0001-01-01T00:00:00+01:00"}, "time"),
        ({"time": "1969-12-31T23:59:59Z"}, "time"),
        ({"time": "9999-12-31T23:59:59Z"}, "time"),  # the fast path's own shape of time
        ({"time": "2026-07-21T12:00:01Z"}, "time"),  # past NOW + 1 day
    ],
)
def test_control_characters_and_times_out_of_the_window_answer_422_naming_the_field(
    client: Client, tenant: tuple[str, str], changes: dict[str, Any], field: str
) -> None:
    """Issue 12 items 2 and 4 over HTTP, on SQLite and PostgreSQL (which answered 500)."""
    sid = tenant[0]
    answer = post(client, [call(sid, 0), call(sid, 1, **changes)])
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["error"]["problems"]
    assert (problem["index"], problem["field"]) == (1, field)
    assert post(client, [call(sid, 0)]).json() == {"stored": 1, "duplicates": 0}


def test_usage_with_an_unknown_category_or_without_a_pooled_country_answers_422(
    client: Client, tenant: tuple[str, str]
) -> None:
    sid = tenant[0]
    base = {"type": "usage", "account": sid, "time": "2026-07-01T00:00:00Z", "quantity": "1"}
    unknown = base | {"id": "u1", "category": "teleport"}
    no_country = base | {"id": "u2", "category": "calls-outbound"}
    answer = post(client, [unknown, no_country])
    assert answer.status_code == 422, answer.text
    problems = answer.json()["error"]["problems"]
    assert [(p["index"], p["field"]) for p in problems] == [(0, "category"), (1, "country")]
    assert post(client, [no_country | {"country": "US"}]).json() == {"stored": 1, "duplicates": 0}


def test_a_call_in_a_country_the_catalog_does_not_price_is_refused_on_the_fast_path_too(
    client: Client, tenant: tuple[str, str], db: Database
) -> None:
    """The fast path never refuses: it hands such a batch to the general path, which names
    the event (it used to store it, and the account's invoice then failed for good)."""
    sid = tenant[0]
    batch = [call(sid, 1), call(sid, 2, country="FR")]
    answer = post(client, batch)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["error"]["problems"]
    assert (problem["index"], problem["field"]) == (1, "country")
    assert problem["reason"] == (
        "category 'calls-outbound' has no price in country FR in the catalog 'us': it is "
        "priced in CA, US only"
    )
    with UnitOfWork(db) as uow:
        assert uow.events.count() == 0
    assert post(client, [call(sid, 1)]).json() == {"stored": 1, "duplicates": 0}
