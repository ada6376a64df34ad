"""The vendor's rollup categories (issue 12 item 9): ``calls``, ``sms`` and ``phonenumbers``
add up their member categories on Records.json and every subresource, as ``totalprice``
adds up everything."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .conftest import Server

MEMBERS = {"calls": ("calls-",), "sms": ("sms-", "mms-"), "phonenumbers": ("phonenumbers-",)}


def _records(server: Server, path: str, **params: str) -> list[dict[str, Any]]:
    sid = server.parent[0]
    with server.client(server.parent) as client:
        answer = client.get(
            f"/2010-04-01/Accounts/{sid}/Usage/Records{path}.json",
            params={"PageSize": "1000", **params},
        )
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["usage_records"]
    return records


@pytest.mark.parametrize("rollup", sorted(MEMBERS))
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("", {"StartDate": "2026-06-20", "EndDate": "2026-07-19"}),
        ("/ThisMonth", {}),
        ("/LastMonth", {}),
        ("/Daily", {"StartDate": "2026-07-01", "EndDate": "2026-07-10"}),
        ("/Monthly", {"StartDate": "2026-06-01"}),
        ("/AllTime", {}),
    ],
)
def test_a_rollup_is_the_sum_of_its_member_categories(
    server: Server, rollup: str, path: str, params: dict[str, str]
) -> None:
    everything = _records(server, path, **params)
    rolled = _records(server, path, Category=rollup, **params)
    periods = sorted({r["start_date"] for r in everything} | {r["start_date"] for r in rolled})
    assert rolled
    assert {r["category"] for r in rolled} == {rollup}
    for start in periods:
        members = [
            r
            for r in everything
            if r["start_date"] == start and r["category"].startswith(MEMBERS[rollup])
        ]
        (record,) = [r for r in rolled if r["start_date"] == start]
        assert Decimal(record["price"]) == sum((Decimal(r["price"]) for r in members), Decimal(0))
        assert Decimal(record["usage"]) == sum((Decimal(r["usage"]) for r in members), Decimal(0))
        assert int(record["count"]) == sum(int(r["count"]) for r in members)
    if rollup != "phonenumbers":
        assert any(Decimal(r["usage"]) > 0 for r in rolled), "the demo has this usage"


def test_rollups_are_listed_only_when_asked_for(server: Server) -> None:
    names = {r["category"] for r in _records(server, "/ThisMonth")}
    assert not names & {"calls", "sms", "phonenumbers", "totalprice"}
