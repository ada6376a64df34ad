"""Usage events (SPEC section 7): validation naming the field, batches, de-duplication."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ratecard.errors import EventError, Problem
from ratecard.usage.events import UsageRecord, dedupe, parse_event, parse_events

ACCOUNT = "AC" + "d" * 32


def record(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "usage",
        "id": "u1",
        "account": ACCOUNT,
        "time": "2026-07-01T09:30:00+02:00",
        "category": "lookups",
        "quantity": "3",
    }
    data.update(changes)
    return data


def problems_of(data: Any) -> list[Problem]:
    with pytest.raises(EventError) as caught:
        parse_event(data, "events.jsonl:7")
    return caught.value.problems


def test_a_valid_event_keeps_its_decimal_quantity_and_stores_time_in_utc() -> None:
    event = parse_event(record())
    assert isinstance(event, UsageRecord)
    assert event.quantity == Decimal(3)
    # 09:30 at +02:00 is 07:30 UTC
    assert event.time.isoformat() == "2026-07-01T07:30:00+00:00"


def test_a_json_float_quantity_is_refused_naming_the_field() -> None:
    (problem,) = problems_of(record(quantity=1.5))
    assert (problem.where, problem.field) == ("events.jsonl:7", "quantity")
    assert "float 1.5 refused" in problem.reason


def test_a_float_call_duration_is_refused_naming_the_field() -> None:
    call = {
        "type": "call",
        "id": "c1",
        "account": ACCOUNT,
        "time": "2026-07-01T00:00:00Z",
        "call_id": "CA1",
        "direction": "inbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": 80.0,
    }
    (problem,) = problems_of(call)
    assert problem == Problem(
        "events.jsonl:7", "must be a whole number, not 80.0", "duration_seconds"
    )


def test_a_time_without_offset_is_refused() -> None:
    (problem,) = problems_of(record(time="2026-07-01T09:30:00"))
    assert problem == Problem(
        "events.jsonl:7",
        "time '2026-07-01T09:30:00' has no UTC offset (add Z or +HH:MM)",
        "time",
    )


def test_an_unknown_field_is_refused_naming_it() -> None:
    (problem,) = problems_of(record(colour="red"))
    assert problem == Problem("events.jsonl:7", "is not a field of this event type", "colour")


def test_an_unknown_event_type_is_refused() -> None:
    (problem,) = problems_of(record(type="fax"))
    assert (problem.field, problem.reason.split(";")[0]) == ("type", "unknown event type")


def test_a_missing_type_is_refused() -> None:
    data = record()
    del data["type"]
    assert problems_of(data) == [Problem("events.jsonl:7", "is required", "type")]


def test_a_negative_quantity_is_refused() -> None:
    (problem,) = problems_of(record(quantity="-1"))
    assert (problem.field, problem.reason) == ("quantity", "must not be negative")


def test_an_event_that_is_not_an_object_is_refused() -> None:
    assert problems_of([1, 2]) == [Problem("events.jsonl:7", "an event must be a JSON object")]


def test_a_batch_reports_every_bad_event_with_its_place() -> None:
    batch = [
        ("e.jsonl:1", record(id="a")),
        ("e.jsonl:2", record(id="b", quantity=0.5)),
        ("e.jsonl:3", record(id="c")),
        ("e.jsonl:4", record(id="d", time="yesterday")),
        ("e.jsonl:5", record(id="e", type="fax")),
    ]
    with pytest.raises(EventError) as caught:
        parse_events(batch)
    found = [(p.where, p.field) for p in caught.value.problems]
    assert found == [("e.jsonl:2", "quantity"), ("e.jsonl:4", "time"), ("e.jsonl:5", "type")]


def test_a_batch_of_good_events_is_returned_whole_and_in_order() -> None:
    events = parse_events([("1", record(id="a")), ("2", record(id="b"))])
    assert [e.id for e in events] == ["a", "b"]


def test_an_exact_resend_is_dropped() -> None:
    first = parse_event(record())
    again = parse_event(record())
    assert dedupe([("e.jsonl:1", first), ("e.jsonl:9", again)]) == [first]


def test_a_resend_of_the_same_instant_with_another_offset_is_the_same_event() -> None:
    # 09:30+02:00 and 07:30Z are the same instant: stored in UTC, the copies are identical
    first = parse_event(record())
    again = parse_event(record(time="2026-07-01T07:30:00Z"))
    assert dedupe([("e.jsonl:1", first), ("e.jsonl:2", again)]) == [first]


def test_the_same_id_with_different_content_is_refused_naming_both_places() -> None:
    first = parse_event(record(quantity="3"))
    changed = parse_event(record(quantity="4"))
    with pytest.raises(EventError) as caught:
        dedupe([("e.jsonl:1", first), ("e.jsonl:9", changed)])
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("e.jsonl:9", "id")
    assert "already used at e.jsonl:1 with different content" in problem.reason


def test_the_same_id_in_another_account_is_another_event() -> None:
    first = parse_event(record())
    other = parse_event(record(account="AC" + "e" * 32))
    assert dedupe([("1", first), ("2", other)]) == [first, other]
