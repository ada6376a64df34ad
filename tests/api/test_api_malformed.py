"""Malformed payloads and parameters get clear 4xx answers in the one error shape and change
nothing; fuzzed bodies never make the server answer 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratecard.store.unit_of_work import UnitOfWork

from .conftest import Server


def _events(server: Server) -> int:
    with UnitOfWork(server.db) as uow:
        return uow.events.count()


def _usage(sid: str, **fields: Any) -> dict[str, Any]:
    event = {"type": "usage", "id": "u1", "account": sid, "time": "2026-07-01T00:00:00Z"}
    return {**event, "category": "lookups", "quantity": "1", **fields}


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) <= {"code", "message", "field", "problems"}
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (lambda sid: {"events": [_usage(sid, quantity=1.5)]}, "quantity"),
        (lambda sid: {"events": [_usage(sid, quantity=10**30)]}, "quantity"),
        (lambda sid: {"events": [_usage(sid, quantity="1e400")]}, "quantity"),
        (lambda sid: {"events": [_usage(sid, quantity=True)]}, "quantity"),
        (lambda sid: {"events": [_usage(sid, amount=0.1)]}, "amount"),
        (lambda sid: {"events": [_usage(sid, time="2026-13-01T00:00:00Z")]}, "time"),
        (lambda sid: {"events": [_usage(sid, time="2026-07-01T00:00:00")]}, "time"),
        (lambda sid: {"events": [_usage(sid, colour="red")]}, "colour"),
        (lambda sid: {"events": [_usage(sid, type="teleport")]}, "type"),
        (lambda sid: {"events": [_usage(sid)], "extra": 1}, "extra"),
        (lambda sid: {"events": "all of them"}, "events"),
        (lambda sid: {"events": []}, "events"),
        (lambda sid: [_usage(sid)], None),
    ],
)
def test_malformed_event_payloads_are_refused_and_store_nothing(
    server: Server, raw: Any, field: str | None
) -> None:
    before = _events(server)
    with server.client(server.other) as client:
        error = _error(client.post("/v1/events", json=raw(server.other[0])), 422)
    assert error["field"] == field
    assert _events(server) == before


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"events": [1e999]}', b"[" * 100_000, b'{"events": [' + b"9" * 5000 + b"]}", b""],
)
def test_unparseable_bodies_are_refused_with_422(server: Server, body: bytes) -> None:
    with server.client(server.other) as client:
        answer = client.post("/v1/events", content=body)
    assert answer.status_code == 422, answer.text


def test_non_json_bodies_on_model_routes_get_422_in_the_same_shape(server: Server) -> None:
    sid = server.other[0]
    with server.client(server.other) as client:
        error = _error(client.post(f"/v1/accounts/{sid}/invoices", content=b"nope"), 422)
        assert error["code"] == "invalid_request"
        error = _error(client.post(f"/v1/accounts/{sid}/invoices", json={"month": 7}), 422)
        assert error["field"] == "month"
        error = _error(
            client.post(f"/v1/accounts/{sid}/subaccounts", json={"name": "x", "admin": True}), 422
        )
        assert error["field"] == "admin"


@pytest.mark.parametrize("name", ["\x1f", "   ", "Branch\x00", "a\nb"])
def test_a_subaccount_name_that_is_blank_or_has_control_characters_gets_422_naming_it(
    server: Server, name: str
) -> None:
    sid = server.other[0]
    with server.client(server.other) as client:
        answer = client.post(f"/v1/accounts/{sid}/subaccounts", json={"name": name})
    error = _error(answer, 422)
    assert error["field"] == "name"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("StartDate=2026-02-30", "StartDate"),
        ("StartDate=yesterday", "StartDate"),
        ("EndDate=-99999999days", "EndDate"),
        ("StartDate=2026-07-10&EndDate=2026-07-01", "StartDate"),
        ("PageSize=1001", "PageSize"),
        ("PageSize=0", "PageSize"),
        ("PageSize=1.5", "PageSize"),
        ("Page=-1", "Page"),
        ("PageToken=nonsense", "PageToken"),
        ("Category=free-money", "Category"),
        ("IncludeSubaccounts=maybe", "IncludeSubaccounts"),
        ("StartDate=1900-01-01", "StartDate"),
    ],
)
def test_bad_usage_record_parameters_get_400_naming_the_parameter(
    server: Server, query: str, field: str
) -> None:
    sid = server.parent[0]
    with server.client(server.parent) as client:
        answer = client.get(f"/2010-04-01/Accounts/{sid}/Usage/Records/Daily.json?{query}")
    assert _error(answer, 400)["field"] == field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["call", "message", "usage", "number_purchased", "x"]),
        "id": st.text(max_size=200),
        "account": st.sampled_from(["ACde000000000000000000000000000001", "AC1", ""]),
        "time": st.text(max_size=30) | st.just("2026-07-01T00:00:00Z"),
        "quantity": json_values,
        "duration_seconds": json_values,
        "segments": json_values,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(json_values, st.fixed_dictionaries({"events": st.lists(event_like, max_size=4)}))
)
def test_fuzzed_event_bodies_never_answer_500_and_are_4xx_unless_valid(
    server: Server, body: Any
) -> None:
    with server.client(server.marketing) as client:
        text = json.dumps(body, allow_nan=True)
        answer = client.post("/v1/events", content=text.encode())
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:
        assert 400 <= answer.status_code < 500
        assert answer.json()["error"]["code"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["Category", "StartDate", "EndDate", "PageSize", "Page", "PageToken",
                         "IncludeSubaccounts"]),
        st.text(max_size=12),
    ),
    sub=st.sampled_from(["", "/Daily", "/Monthly", "/Yearly", "/AllTime", "/LastMonth"]),
)  # fmt: skip
def test_fuzzed_usage_record_queries_never_answer_500(
    server: Server, params: dict[str, str], sub: str
) -> None:
    sid = server.parent[0]
    with server.client(server.parent) as client:
        answer = client.get(f"/2010-04-01/Accounts/{sid}/Usage/Records{sub}.json", params=params)
    assert answer.status_code in (200, 400), answer.text
