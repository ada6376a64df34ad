"""Tenant isolation: every route tried with another tenant's credentials, none, and bad ones.

Another tenant's resources answer 404 exactly like resources that do not exist (never their
data); no or bad credentials answer 401 with a Basic challenge; a support user acting as an
account, or an account acting as support, answers 403.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from ratecard.service import deflex as deflex_service
from ratecard.service import flex as flex_service
from ratecard.service.accounts import create_account

from .conftest import Server

Route = tuple[str, str, object]


@pytest.fixture(scope="module")
def victim(server: Server) -> dict[str, str]:
    """A tenant with a subaccount, an invoice, a Flex plan and an open deflex request."""
    at = datetime(2026, 7, 20, 12, tzinfo=UTC)
    account, token = create_account(server.db, "Victim", None, date(2025, 1, 1), True)
    sub, _ = create_account(server.db, "Victim Sub", account.sid, date(2025, 1, 1))
    flex_service.change_plan(
        server.db, account.sid, "enable", "named-user", None, date(2026, 7, 20),
        settings=server.settings,
    )  # fmt: skip
    filed = deflex_service.file_request(
        server.db, account.sid, "stop_billing", account.sid, True, at, settings=server.settings
    )
    with httpx.Client(base_url=server.url, auth=(account.sid, token)) as client:
        made = client.post(f"/v1/accounts/{account.sid}/invoices", json={"month": "2026-07"})
        assert made.status_code == 200
    return {"sid": account.sid, "sub": sub.sid, "request": str(filed["request"]), "token": token}


def routes(v: dict[str, str]) -> list[Route]:
    sid, sub, req = v["sid"], v["sub"], v["request"]
    usage = f"/2010-04-01/Accounts/{sid}/Usage/Records"
    subresources = ["Daily", "Monthly", "Yearly", "AllTime", "Today", "Yesterday"]
    subresources += ["ThisMonth", "LastMonth"]
    return [
        ("GET", f"/v1/accounts/{sid}", None),
        ("GET", f"/v1/accounts/{sub}", None),
        ("GET", f"/v1/accounts/{sid}/subaccounts", None),
        ("POST", f"/v1/accounts/{sid}/subaccounts", {"name": "intruder"}),
        ("GET", f"/v1/accounts/{sid}/invoices", None),
        ("POST", f"/v1/accounts/{sid}/invoices", {"month": "2026-07"}),
        ("GET", f"/v1/accounts/{sid}/invoices/2026-07", None),
        ("POST", f"/v1/accounts/{sid}/invoices/2026-07/finalize", None),
        ("POST", f"/v1/accounts/{sid}/invoices/2026-07/void", None),
        ("GET", f"/v1/accounts/{sid}/flex", None),
        ("POST", f"/v1/accounts/{sid}/flex/enable", {"plan": "named-user"}),
        ("POST", f"/v1/accounts/{sid}/flex/switch", {"plan": "active-user-hours"}),
        ("GET", f"/v1/accounts/{sid}/flex/compare?month=2026-07", None),
        ("GET", f"/v1/accounts/{sid}/deflex/checklist", None),
        ("POST", f"/v1/accounts/{sid}/deflex/requests", {"intent": "decommission"}),
        ("GET", f"/v1/deflex/requests/{req}", None),
        ("POST", f"/v1/deflex/requests/{req}/acknowledge", None),
        ("POST", f"/v1/deflex/requests/{req}/withdraw", None),
        ("GET", f"{usage}.json", None),
        *[("GET", f"{usage}/{name}.json", None) for name in subresources],
    ]


SUPPORT_ONLY = ["process", "reject"]


def _send(client: httpx.Client, method: str, path: str, body: object) -> httpx.Response:
    return client.request(method, path, json=body)


def test_another_tenant_gets_404_and_never_the_data(server: Server, victim: dict[str, str]) -> None:
    with server.client(server.other) as client:
        for method, path, body in routes(victim):
            answer = _send(client, method, path, body)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "not_found"
            assert "Victim" not in answer.text
        for action in SUPPORT_ONLY:
            path = f"/v1/deflex/requests/{victim['request']}/{action}"
            assert client.post(path, json={"reason": "x"}).status_code == 403
        event = {
            "type": "taskrouter_task", "id": "steal", "account": victim["sid"],
            "time": "2026-07-01T00:00:00Z", "task": "WT1",
        }  # fmt: skip
        answer = client.post("/v1/events", json={"events": [event]})
        assert answer.status_code == 422
        assert answer.json()["error"]["problems"][0]["field"] == "account"
    # and nothing changed for the victim: its invoice is still a draft, its request open
    with server.client((victim["sid"], victim["token"])) as client:
        doc = client.get(f"/v1/accounts/{victim['sid']}/invoices/2026-07").json()
        assert doc["status"] == "draft"
        shown = client.get(f"/v1/deflex/requests/{victim['request']}").json()
        assert shown["status"] == "submitted"


@pytest.mark.parametrize(
    "auth",
    [None, ("ACde000000000000000000000000000001", "0" * 32), ("nobody", "x"), ("ana", "bad")],
    ids=["none", "bad-token", "unknown-user", "bad-support-token"],
)
def test_missing_or_bad_credentials_get_401_with_a_basic_challenge(
    server: Server, victim: dict[str, str], auth: tuple[str, str] | None
) -> None:
    every = [*routes(victim), ("POST", "/v1/events", {"events": []})]
    every += [("POST", f"/v1/deflex/requests/{victim['request']}/{a}", None) for a in SUPPORT_ONLY]
    with server.client(auth) as client:
        for method, path, body in every:
            answer = _send(client, method, path, body)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["www-authenticate"].startswith("Basic")
            assert answer.json()["error"]["code"] == "unauthorized"


def test_malformed_authorization_headers_get_401(server: Server) -> None:
    sid = server.parent[0]
    for header in ["Bearer abc", "Basic !!!", "Basic " + "YWJj", "Basic", "Digest x=y"]:
        answer = httpx.get(f"{server.url}/v1/accounts/{sid}", headers={"Authorization": header})
        assert answer.status_code == 401, header


def test_a_support_user_cannot_act_as_an_account(server: Server, victim: dict[str, str]) -> None:
    with server.client(server.support_user) as client:
        for method, path, body in routes(victim):
            if path.startswith("/v1/deflex/requests/") and method == "GET":
                continue  # support reads every request: that is its job
            answer = _send(client, method, path, body)
            assert answer.status_code == 403, (method, path, answer.text)


def test_a_subaccount_cannot_reach_its_parent_or_siblings(server: Server) -> None:
    with server.client(server.marketing) as client:
        for path in [
            f"/v1/accounts/{server.parent[0]}",
            f"/v1/accounts/{server.support_sub[0]}",
            f"/2010-04-01/Accounts/{server.parent[0]}/Usage/Records.json",
        ]:
            assert client.get(path).status_code == 404, path
