"""parse_batch (one pydantic-core call per valid batch) says exactly what parse_event says."""

from __future__ import annotations

from typing import Any

from event_data import SID
from event_data import call as any_call

from ratecard.errors import EventError, Problem
from ratecard.usage.events import Event, parse_batch, parse_event


def call(n: int, **extra: Any) -> dict[str, Any]:
    """A call whose time has an offset: the general path, never the fast one."""
    return any_call(n, **{"time": "2026-07-01T09:00:00+02:00", **extra})


def one_by_one(items: list[tuple[str, Any]]) -> tuple[list[tuple[str, Event]], list[Problem]]:
    events: list[tuple[str, Event]] = []
    problems: list[Problem] = []
    for where, data in items:
        try:
            events.append((where, parse_event(data, where)))
        except EventError as exc:
            problems.extend(exc.problems)
    return events, problems


def test_a_valid_batch_gives_the_same_events_in_order() -> None:
    items: list[tuple[str, Any]] = [(f"events[{i}]", call(i)) for i in range(50)]
    items.append(
        (
            "events[50]",
            {
                "type": "usage",
                "id": "u",
                "account": SID,
                "time": "2026-07-02T00:00:00Z",
                "category": "x",
                "quantity": "1.50",
            },
        )
    )
    assert parse_batch(items) == one_by_one(items)
    events, problems = parse_batch(items)
    assert not problems
    assert [where for where, _ in events] == [where for where, _ in items]


def test_a_batch_with_problems_names_each_exactly_as_parse_event() -> None:
    bad: list[Any] = [
        call(0),
        call(1, time="2026-07-01 09:00"),
        "not an object",
        call(3, duration_seconds=1.5),
        call(4, type="teleport"),
        {k: v for k, v in call(5).items() if k != "type"},
        call(6, extra_field=1),
        call(7, duration_seconds=True),
        call(8, duration_seconds=-1),
        call(9, duration_seconds=10**13),
        call(10, duration_seconds=" 12 "),
        call(11),
    ]
    items = [(f"events[{i}]", item) for i, item in enumerate(bad)]
    events, problems = parse_batch(items)
    assert (events, problems) == one_by_one(items)
    assert {p.where for p in problems} == {f"events[{i}]" for i in range(1, 10)}
    assert [where for where, _ in events] == ["events[0]", "events[10]", "events[11]"]


def test_whole_numbers_keep_their_checks_on_the_fast_path() -> None:
    assert parse_batch([("e", call(1, duration_seconds=10**12))])[1] == []
    (problem,) = parse_batch([("e", call(1, duration_seconds=10**12 + 1))])[1]
    assert (problem.where, problem.field) == ("e", "duration_seconds")
