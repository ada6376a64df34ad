"""Issue 12 items 2 and 4: event times outside the accepted window, and control characters
in ids, are refused naming the field; the fast path never accepts what the general path
refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from event_data import SID, call

from ratecard.errors import EventError, Problem
from ratecard.usage.events import EARLIEST_TIME, TimeWindow, parse_batch, parse_event
from ratecard.usage.fastpath import decode_batch

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow.until(NOW, timedelta(days=1))


def usage(**changes: Any) -> dict[str, Any]:
    event = {"type": "usage", "id": "u1", "account": SID, "time": "2026-07-01T00:00:00Z"}
    return {**event, "category": "lookups", "quantity": "1", **changes}


def problems(data: dict[str, Any], window: TimeWindow | None = WINDOW) -> list[Problem]:
    valid, found = parse_batch([("events[0]", data)], window)
    assert valid == []
    return found


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_time_that_overflows_in_utc_is_refused_even_without_a_window(time: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(usage(time=time), "events[0]")
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("events[0]", "time")
    assert "out of range" in problem.reason


@pytest.mark.parametrize(
    ("time", "why"),
    [
        ("1969-12-31T23:59:59Z", "before"),
        ("1999-12-31T23:59:59.999999Z", "before"),
        ("9999-12-31T23:59:59Z", "after"),
        ("2026-07-21T12:00:00.000001Z", "after"),  # one microsecond past now + 1 day
    ],
)
def test_a_time_outside_the_window_is_refused_naming_time_and_the_window(
    time: str, why: str
) -> None:
    (problem,) = problems(usage(time=time))
    assert (problem.where, problem.field) == ("events[0]", "time")
    assert problem.reason == (
        f"is {why} the accepted window of event times, 2000-01-01T00:00:00Z to "
        "2026-07-21T12:00:00Z (now plus the allowed clock skew)"
    )


def test_the_window_bounds_themselves_are_accepted() -> None:
    assert datetime(2000, 1, 1, tzinfo=UTC) == EARLIEST_TIME
    for time in ("2000-01-01T00:00:00Z", "2026-07-21T12:00:00Z", "2026-07-21T14:00:00+02:00"):
        valid, found = parse_batch([("events[0]", usage(time=time))], WINDOW)
        assert (len(valid), found) == (1, [])


def test_a_flex_session_is_refused_when_its_start_or_end_is_outside_the_window() -> None:
    session = {
        "type": "flex_activity",
        "id": "s1",
        "account": SID,
        "time": "2026-07-01T10:00:00Z",
        "user": "ana",
        "activity": "Available",
        "start": "1999-06-30T09:00:00Z",
        "end": "2026-07-01T10:00:00Z",
    }
    assert [p.field for p in problems(session)] == ["start"]
    late = session | {"start": "2026-07-01T09:00:00Z", "end": "2030-01-01T00:00:00Z"}
    assert [p.field for p in problems(late)] == ["end"]


def test_the_fast_path_leaves_out_of_window_calls_to_the_general_path() -> None:
    inside = json.dumps({"events": [call(1)]}).encode()
    assert decode_batch(inside, WINDOW) is not None
    for time in ("1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-07-22T00:00:00Z"):
        body = json.dumps({"events": [call(1), call(2, time)]}).encode()
        assert decode_batch(body, WINDOW) is None
        (problem,) = problems(call(2, time))
        assert problem.field == "time"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\t", "\n", "\x1b", "\x7f", "\x85", "\x9f"])
@pytest.mark.parametrize("field", ["id", "call_id"])
def test_a_control_character_in_an_id_is_refused_naming_the_field(char: str, field: str) -> None:
    data = call(1) | {field: f"CA1{char}x"}
    (problem,) = problems(data)
    assert (problem.where, problem.field) == ("events[0]", field)
    assert problem.reason == "must not contain control characters (NUL, tab, line breaks, ...)"
    for ascii_only in (True, False):  # DEL and C1 characters are raw in JSON without escaping
        body = json.dumps({"events": [data]}, ensure_ascii=ascii_only).encode()
        assert decode_batch(body, WINDOW) is None


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "flex_login", "user": "ana\x00", "role": "agent"}, "user"),
        ({"type": "flex_login", "user": "ana", "role": "agent\x00"}, "role"),
        ({"type": "worker_created", "worker": "WK\x00"}, "worker"),
        ({"type": "taskrouter_task", "task": "WT\x00"}, "task"),
        ({"type": "studio_engagement", "flow": "FW\x00", "engagement": "FN1"}, "flow"),
        ({"type": "studio_engagement", "flow": "FW1", "engagement": "FN\x00"}, "engagement"),
        ({"type": "usage", "category": "lookups\x00", "quantity": "1"}, "category"),
    ],
)
def test_a_control_character_in_any_name_is_refused(event: dict[str, Any], field: str) -> None:
    data = {"id": "x1", "account": SID, "time": "2026-07-01T00:00:00Z", **event}
    assert [p.field for p in problems(data)] == [field]


def test_other_unusual_characters_in_ids_are_still_accepted() -> None:
    for ident in ("back\\slash", 'quote"s', "\\N", "é😀", "a b"):
        valid, found = parse_batch([("events[0]", call(1, id=ident))], WINDOW)
        assert (len(valid), found) == (1, [])


def test_a_long_bad_value_is_quoted_only_as_a_short_excerpt() -> None:
    (problem,) = problems(usage(time="x" * 100_000))
    assert problem.field == "time"
    assert len(problem.reason) < 200
    (problem,) = problems(usage(quantity="9" * 5000 + "x"))
    assert problem.field == "quantity"
    assert len(problem.reason) < 200
