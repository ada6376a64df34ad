"""Issue 12 items 2 and 4 and issue 11 item 3 over a real server: times outside the accepted
window, control characters in ids and usage that can never be priced answer 422 naming the
field (never 500) and store nothing, so the account's Usage Records keep working."""

from __future__ import annotations

from typing import Any

import pytest

from ratecard.store.unit_of_work import UnitOfWork

from .conftest import Server


def _call(sid: str, **fields: Any) -> dict[str, Any]:
    event = {"type": "call", "id": "lim1", "account": sid, "time": "2026-07-01T00:00:00Z"}
    event |= {"call_id": "CA1", "direction": "outbound", "number_type": "local"}
    return event | {"country": "US", "duration_seconds": 60} | fields


@pytest.mark.parametrize(
    ("fields", "field", "phrase"),
    [
        ({"time": "9999-12-31T23:59:59-01:00"}, "time", "out of range"),
        ({"time": "0001-01-01T00:00:00+01:00"}, "time", "out of range"),
        ({"time": "1969-12-31T23:59:59Z"}, "time", "before the accepted window"),
        ({"time": "2001-03-01T00:00:00Z"}, "time", "takes effect on 2020-01-01"),
        ({"time": "9999-12-31T23:59:59Z"}, "time", "after the accepted window"),
        ({"id": "lim\u00001"}, "id", "control characters"),
        ({"call_id": "CA\u00001"}, "call_id", "control characters"),
        (
            {"type": "usage", "category": "teleport", "quantity": "1"},
            "category",
            "not a category",
        ),
    ],
)
def test_unbillable_or_out_of_range_events_answer_422_and_usage_records_still_work(
    server: Server, fields: dict[str, Any], field: str, phrase: str
) -> None:
    sid = server.other[0]
    event = _call(sid, **fields)
    if event["type"] == "usage":
        for name in ("call_id", "direction", "number_type", "country", "duration_seconds"):
            del event[name]
    with UnitOfWork(server.db) as uow:
        before = uow.events.count()
    with server.client(server.other) as client:
        answer = client.post("/v1/events", json={"events": [event]})
        assert answer.status_code == 422, answer.text
        (problem,) = answer.json()["error"]["problems"]
        assert (problem["index"], problem["field"]) == (0, field)
        assert phrase in problem["reason"]
        records = client.get(f"/2010-04-01/Accounts/{sid}/Usage/Records.json")
        assert records.status_code == 200, records.text
    with UnitOfWork(server.db) as uow:
        assert uow.events.count() == before
