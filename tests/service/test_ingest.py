"""Idempotent, atomic ingestion of event batches (on the in-memory store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ratecard.errors import ConflictError, EventError
from ratecard.service.ingest import ingest_batch
from ratecard.service.ports import Store
from ratecard.service.settings import Settings


def task(account: str, n: int, **extra: Any) -> dict[str, Any]:
    event = {
        "type": "taskrouter_task",
        "id": f"task-{n}",
        "account": account,
        "time": "2026-07-01T09:00:00Z",
        "task": f"WT{n:032d}",
    }
    return event | extra


def stored_count(db: Store) -> int:
    with db.unit_of_work() as uow:
        return uow.events.count()


def test_a_batch_is_stored_and_counted(db: Store, settings: Settings, account: str) -> None:
    outcome = ingest_batch(db, [task(account, n) for n in range(5)], settings)
    assert (outcome.stored, outcome.duplicates, outcome.refused) == (5, 0, 0)
    assert stored_count(db) == 5


def test_resending_the_same_events_is_a_no_op_reported_as_duplicates(
    db: Store, settings: Settings, account: str
) -> None:
    ingest_batch(db, [task(account, n) for n in range(3)], settings)
    again = ingest_batch(db, [task(account, n) for n in range(4)], settings)
    assert (again.stored, again.duplicates) == (1, 3)
    assert stored_count(db) == 4


def test_the_same_instant_written_differently_is_still_a_duplicate(
    db: Store, settings: Settings, account: str
) -> None:
    ingest_batch(db, [task(account, 1)], settings)
    again = ingest_batch(db, [task(account, 1, time="2026-07-01T11:00:00+02:00")], settings)
    assert again.duplicates == 1


def test_a_batch_with_one_bad_event_stores_nothing_and_names_it(
    db: Store, settings: Settings, account: str
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
    db: Store, settings: Settings, account: str
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
    db: Store, settings: Settings, account: str
) -> None:
    with pytest.raises(EventError, match="does not exist"):
        ingest_batch(db, [task(account, 1), task("AC" + "f" * 32, 2)], settings)
    assert stored_count(db) == 0


def test_a_float_quantity_is_refused_naming_the_field(
    db: Store, settings: Settings, account: str
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


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "task\x00one"}, "id"),
        ({"task": "WT\x00"}, "task"),
        ({"id": "task\x1bone"}, "id"),
        ({"time": "9999-12-31T23:59:59-01:00"}, "time"),
        ({"time": "0001-01-01T00:00:00+01:00"}, "time"),
        ({"time": "1969-12-31T23:59:59Z"}, "time"),
        ({"time": "2026-07-03T00:00:01Z"}, "time"),  # past now (2026-07-02) + the 1-day skew
    ],
)
def test_a_control_character_or_a_time_out_of_the_window_is_refused_on_every_backend(
    db: Store, settings: Settings, account: str, changes: dict[str, Any], field: str
) -> None:
    """Issue 12 items 2 and 4: PostgreSQL failed on NUL (500) where SQLite stored it, and
    years 1 and 9999 overflowed; now both refuse the batch naming the field."""
    now = datetime(2026, 7, 2, tzinfo=UTC)
    batch = [task(account, 1), task(account, 2, **changes)]
    with pytest.raises(EventError) as caught:
        ingest_batch(db, batch, settings, now)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("events[1]", field)
    assert stored_count(db) == 0
    assert ingest_batch(db, batch[:1], settings, now).stored == 1


def test_an_event_before_the_catalog_takes_effect_is_refused_naming_time(
    db: Store, settings: Settings, account: str
) -> None:
    """Nothing before the catalog's first version is priced: stored, a 2001 call made the
    account's all-time Usage Records fail for good."""
    now = datetime(2026, 7, 2, tzinfo=UTC)
    with pytest.raises(EventError) as caught:
        ingest_batch(db, [task(account, 1, time="2019-12-31T23:59:59Z")], settings, now)
    (problem,) = caught.value.problems
    assert (problem.field, problem.reason) == (
        "time",
        "is before the accepted window of event times, 2020-01-01T00:00:00Z to "
        "2026-07-03T00:00:00Z (now plus the allowed clock skew); the catalog 'us' takes "
        "effect on 2020-01-01: nothing before is priced",
    )
    assert ingest_batch(db, [task(account, 1, time="2020-01-01T00:00:00Z")], settings, now).stored


def test_the_future_skew_is_a_setting(db: Store, settings: Settings, account: str) -> None:
    now = datetime(2026, 7, 2, tzinfo=UTC)
    ahead = task(account, 1, time="2026-07-04T00:00:00Z")  # two days ahead
    with pytest.raises(EventError, match="accepted window"):
        ingest_batch(db, [ahead], settings, now)
    wider = replace(settings, future_skew=timedelta(days=3))
    assert ingest_batch(db, [ahead], wider, now).stored == 1
    env = {"RATECARD_DATABASE_URL": settings.database_url, "RATECARD_FUTURE_SKEW": "72h"}
    assert Settings.from_env(env).future_skew == timedelta(days=3)


def refused(db: Store, batch: list[dict[str, Any]], settings: Settings) -> list[tuple[str, ...]]:
    """``(where, field, reason)`` of each event of ``batch`` that ingestion refuses."""
    with pytest.raises(EventError) as caught:
        ingest_batch(db, batch, settings)
    return [(p.where, p.field or "", p.reason) for p in caught.value.problems]


def usage(account: str, n: int, **fields: Any) -> dict[str, Any]:
    event = {"type": "usage", "id": f"u{n}", "account": account, "time": "2026-07-02T00:00:00Z"}
    return event | fields


def test_usage_the_catalog_can_never_price_is_refused_naming_the_field(
    db: Store, settings: Settings, account: str
) -> None:
    """Issue 11 item 3: an unknown category, or a category priced only by country (the
    US/Canada pools) without a country, made the invoice and the month close fail later."""
    batch = [
        usage(account, 1, category="sms-outbound", quantity="3", country="US"),
        usage(account, 2, category="teleport", quantity="1"),
        usage(account, 3, category="sms-outbound", quantity="3"),
        usage(account, 4, category="calls-outbound", quantity="10"),
        usage(account, 5, category="sms-outbound-shortcode", quantity="1"),
        usage(account, 6, category="lookups", quantity="1"),  # priced in any country
    ]
    assert refused(db, batch, settings) == [
        (
            "events[1]",
            "category",
            "'teleport' is not a category of the catalog 'us' ('ratecard catalog check' lists "
            "them)",
        ),
        (
            "events[2]",
            "country",
            "category 'sms-outbound' is priced by country (CA, US): give the event's country",
        ),
        (
            "events[3]",
            "country",
            "category 'calls-outbound' is priced by country (CA, US): give the event's country",
        ),
        (
            "events[4]",
            "country",
            "category 'sms-outbound-shortcode' is priced by country "
            "(CA, US): give the event's country",
        ),
    ]
    assert stored_count(db) == 0
    outcome = ingest_batch(db, [batch[0], batch[5]], settings)
    assert (outcome.stored, outcome.problems) == (2, [])


def located(account: str, n: int, kind: str, country: str, **fields: Any) -> dict[str, Any]:
    base = {"id": f"{kind}-{n}", "account": account, "time": "2026-07-02T00:00:00Z"}
    shapes: dict[str, dict[str, Any]] = {
        "call": {
            "type": "call",
            "call_id": f"CA{n:032d}",
            "direction": "outbound",
            "number_type": "local",
            "duration_seconds": 60,
        },
        "message": {"type": "message", "direction": "outbound", "channel": "mms", "segments": 1},
        "number": {
            "type": "number_purchased",
            "number": f"+3314555{n:04d}",
            "number_type": "local",
        },
    }
    return base | shapes[kind] | {"country": country} | fields


def test_calls_messages_and_numbers_in_a_country_the_catalog_does_not_price_are_refused(
    db: Store, settings: Settings, account: str
) -> None:
    """A call to FR on the US catalog (priced only in the US/Canada pools) used to be stored,
    and then its account's invoice and the month close failed for good (NoPriceError)."""
    batch = [
        located(account, 1, "call", "US"),
        located(account, 2, "call", "FR"),
        located(account, 3, "message", "GB"),
        located(account, 4, "number", "FR"),
        located(account, 5, "message", "CA"),
    ]
    assert refused(db, batch, settings) == [
        (
            "events[1]",
            "country",
            "category 'calls-outbound' has no price in country FR in the catalog 'us': it is "
            "priced in CA, US only",
        ),
        (
            "events[2]",
            "country",
            "category 'mms-outbound' has no price in country GB in the catalog 'us': it is "
            "priced in CA, US only",
        ),
        (
            "events[3]",
            "country",
            "category 'phonenumbers-local' has no price in country FR in the catalog 'us': it "
            "is priced in CA, US only",
        ),
    ]
    assert stored_count(db) == 0
    outcome = ingest_batch(db, [batch[0], batch[4]], settings)
    assert (outcome.stored, outcome.problems) == (2, [])


def test_an_event_priced_in_any_country_is_stored_wherever_it_happened(
    db: Store, settings: Settings, account: str
) -> None:
    # taskrouter tasks and lookups carry a price for every country ("*"): nothing to refuse
    batch = [task(account, 1), usage(account, 2, category="lookups", quantity="1", country="FR")]
    assert ingest_batch(db, batch, settings).stored == 2
