"""Draft invoices from the live month equal the stored-month path's, byte for byte.

A parent and a subaccount get call and message events in random order (many late) in small
batches, some written by another process's connection; after each batch the draft is generated
live and then again by the stored-month path (``_live_draft`` switched off), which must find
the identical document ("unchanged"). A late event re-rates only the tail of its own counter;
months the live rater cannot take (number events, Flex, unpriced usage, finalized) fall back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ratecard.errors import NoPriceError
from ratecard.periods import Month
from ratecard.service import flex as flex_service
from ratecard.service import invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch, store_events
from ratecard.service.live import live_months
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.usage.events import parse_event

JULY, AUGUST = Month(2026, 7), Month(2026, 8)
NOW = datetime(2026, 8, 1, 9, tzinfo=UTC)


def _event(
    n: int, account: str, moment: datetime, rng: random.Random, prefix: str = "e"
) -> dict[str, Any]:
    common = {
        "id": f"{prefix}{n}",
        "account": account,
        "time": moment.isoformat().replace("+00:00", "Z"),
        "country": "US",
    }
    if n % 3:
        return common | {
            "type": "call",
            "call_id": f"CA{prefix}{n:030d}",
            "direction": rng.choice(["inbound", "outbound"]),
            "number_type": "local",
            "duration_seconds": rng.randrange(1, 720_000),  # crosses the voice tier
        }
    return common | {
        "type": "message",
        "direction": "outbound",
        "channel": "longcode",
        "segments": rng.randrange(1, 12_000),
    }


def _events(
    accounts: list[str], count: int, month: Month, seed: int, prefix: str = "e"
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    seconds = month.days * 86400
    events = []
    for n in range(count):
        moment = month.start + timedelta(seconds=rng.randrange(seconds))
        events.append(_event(n, rng.choice(accounts), moment, rng, prefix))
    rng.shuffle(events)  # arrival order is not time order: many events are late
    return events


def _stored(db: Database, owner: str, month: Month) -> tuple[str, int]:
    with UnitOfWork(db) as uow:
        found = uow.invoices.current(owner, str(month))
    assert found is not None
    return found.document, found.through_seq


def _off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoices, "_live_draft", lambda *args: None)


Spy = Callable[[], int]


def _count_bill_month(monkeypatch: pytest.MonkeyPatch) -> Spy:
    calls: list[int] = []
    real = invoices.bill_month

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(invoices, "bill_month", spy)
    return lambda: len(calls)


def _generate(db: Database, settings: Settings, owner: str, month: Month = JULY) -> str:
    (result,) = invoices.generate(db, month, settings, owner, NOW)
    return result.action


def _same_as_stored_month_path(db: Database, settings: Settings, owner: str) -> None:
    """The stored-month path rewrites the live draft byte for byte (and the same seq)."""
    live = _stored(db, owner, JULY)
    with pytest.MonkeyPatch.context() as patch:
        _off(patch)
        assert _generate(db, settings, owner) == "unchanged"
    assert _stored(db, owner, JULY) == live


def test_live_drafts_equal_the_stored_month_path_byte_for_byte(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    child, _ = create_account(db, "Child", parent.sid, date(2025, 1, 1))
    events = _events([parent.sid, parent.sid, child.sid], 240, JULY, seed=5)
    bill_months = _count_bill_month(monkeypatch)
    other = Database(db.url)  # another process's connection: the cache must see its events
    try:
        for number, start in enumerate(range(0, len(events), 20)):
            writer = other if number % 3 == 2 else db
            ingest_batch(writer, events[start : start + 20], settings)
            before = bill_months()
            assert _generate(db, settings, parent.sid) == ("created" if start == 0 else "updated")
            assert bill_months() == before  # the live path rated it: no month rated again
            _same_as_stored_month_path(db, settings, parent.sid)
    finally:
        other.dispose()
    assert _generate(db, settings, parent.sid) == "unchanged"  # nothing new: same bytes
    document, through = _stored(db, parent.sid, JULY)
    assert '"tier": "over 500,000"' in document  # the voice tier was crossed
    assert '"subaccounts": []' not in document  # with the subaccount's breakdown
    with UnitOfWork(db) as uow:
        assert through == uow.events.last_seq()


def test_a_late_event_re_rates_only_the_tail_of_its_counter(
    db: Database, settings: Settings
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    rng = random.Random(3)
    events = [
        _event(n, parent.sid, JULY.start + timedelta(hours=2 * n + 1), rng) for n in range(1, 121)
    ]
    ingest_batch(db, events, settings)  # in time order
    _generate(db, settings, parent.sid)
    rater = live_months(db).rater([parent.sid], JULY)
    assert rater is not None
    counters = {key[1]: counter for key, counter in rater.counters.items()}
    assert all(counter.rerated == 0 for counter in counters.values())  # in order: no re-rating
    moment = JULY.start + timedelta(hours=60, minutes=30)
    late = _event(1000, parent.sid, moment, rng)  # a call: 1000 % 3 != 0
    ingest_batch(db, [late], settings)
    assert _generate(db, settings, parent.sid) == "updated"
    (pool,) = {name for name, c in counters.items() if any(u.event_id == "e1000" for u in c.usages)}
    calls = counters[pool]
    after = sum(1 for u in calls.usages if u.time > moment)
    assert calls.rerated == after  # only the usages after the late one, in its own counter
    assert calls.repriced <= 3  # of which only the few at the tier bound are priced again
    sizes = {name: len(c.usages) for name, c in counters.items()}
    assert 0 < after < sizes[pool]
    assert all(c.rerated == 0 for name, c in counters.items() if name != pool)
    _same_as_stored_month_path(db, settings, parent.sid)


def test_adjustments_for_a_finalized_month_are_the_same_on_the_live_path(
    db: Database, settings: Settings
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    ingest_batch(db, _events([parent.sid], 60, JULY, seed=9), settings)
    assert _generate(db, settings, parent.sid) == "created"
    invoices.finalize(db, JULY, parent.sid, NOW)
    final = _stored(db, parent.sid, JULY)
    late_july = _events([parent.sid], 3, JULY, seed=10, prefix="late")
    ingest_batch(db, late_july, settings)
    ingest_batch(db, _events([parent.sid], 40, AUGUST, seed=11, prefix="aug"), settings)
    assert _generate(db, settings, parent.sid) == "finalized"  # never rewritten
    assert _stored(db, parent.sid, JULY) == final
    (result,) = invoices.generate(db, AUGUST, settings, parent.sid, NOW)
    assert result.action == "created"
    august = _stored(db, parent.sid, AUGUST)
    assert '"kind": "adjustment"' in august[0]
    with pytest.MonkeyPatch.context() as patch:
        _off(patch)
        (again,) = invoices.generate(db, AUGUST, settings, parent.sid, NOW)
    assert again.action == "unchanged"
    assert _stored(db, parent.sid, AUGUST) == august


def test_number_events_fall_back_to_the_stored_month_path(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    ingest_batch(db, _events([parent.sid], 30, JULY, seed=1), settings)
    bill_months = _count_bill_month(monkeypatch)
    _generate(db, settings, parent.sid)
    assert bill_months() == 0
    number = {
        "type": "number_purchased",
        "id": "n1",
        "account": parent.sid,
        "time": "2026-06-03T00:00:00Z",  # history before the month drives its charges
        "number": "+14155550100",
        "number_type": "local",
        "country": "US",
    }
    ingest_batch(db, [number], settings)
    assert _generate(db, settings, parent.sid) == "updated"
    assert bill_months() == 1  # rated from the stored month
    assert '"category": "phonenumbers-local"' in _stored(db, parent.sid, JULY)[0]
    assert live_months(db).rater([parent.sid], JULY) is None  # the live month gave up
    _same_as_stored_month_path(db, settings, parent.sid)


def test_unpriced_usage_falls_back_and_is_reported(db: Database, settings: Settings) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    ingest_batch(db, _events([parent.sid], 12, JULY, seed=2), settings)
    _generate(db, settings, parent.sid)
    assert live_months(db).rater([parent.sid], JULY) is not None
    odd = _event(3001, parent.sid, JULY.start + timedelta(days=3), random.Random(1))
    odd["country"] = "AQ"
    with UnitOfWork(db) as uow:  # stored before ingestion refused calls in unpriced countries
        store_events(uow, [("old", parse_event(odd))], settings.late_policy, datetime.now(UTC))
        uow.commit()
    with pytest.raises(NoPriceError):
        _generate(db, settings, parent.sid)
    assert live_months(db).rater([parent.sid], JULY) is None  # the live month gave up


def test_an_account_with_flex_falls_back_to_the_stored_month_path(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    ingest_batch(db, _events([parent.sid], 30, JULY, seed=4), settings)
    day = date(2026, 7, 1)
    flex_service.change_plan(db, parent.sid, "enable", "named-user", day, day, settings=settings)
    bill_months = _count_bill_month(monkeypatch)
    assert _generate(db, settings, parent.sid) == "created"
    assert bill_months() == 1
    assert live_months(db).rater([parent.sid], JULY) is None  # the live month was not touched
    _same_as_stored_month_path(db, settings, parent.sid)
