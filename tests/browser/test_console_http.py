"""The console over HTTP (no browser): redirects, the session cookie's flags, CSRF refusals,
the login throttle, and sessions that end (logout, a rotated token)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from ratecard.api import create_app
from ratecard.errors import DeflexRefused
from ratecard.service import deflex as deflex_service
from ratecard.service import flex as flex_service
from ratecard.service.accounts import create_account, rotate_token
from ratecard.service.settings import Settings
from ratecard.store.database import Database

from .conftest import flex_account

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Setup:
    db: Database
    settings: Settings
    client: TestClient
    sid: str
    token: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store with the schema and one Flex account, built once: each test gets a copy."""
    path = tmp_path_factory.mktemp("web") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    sid, token = flex_account(db, Settings(database_url=f"sqlite:///{path}"), "Flex Co")
    db.dispose()
    return path, sid, token


@pytest.fixture
def setup(tmp_path: Path, template: tuple[Path, str, str]) -> Iterator[Setup]:
    source, sid, token = template
    path = tmp_path / "web.db"
    shutil.copyfile(source, path)
    settings = Settings(database_url=f"sqlite:///{path}", auth_failures_per_sid=3)
    db = Database(settings.database_url)
    client = TestClient(create_app(settings, clock=lambda: NOW), follow_redirects=False)
    yield Setup(db, settings, client, sid, token)
    db.dispose()


def csrf(client: TestClient, path: str = "/console/login") -> str:
    found = TOKEN.search(client.get(path).text)
    assert found is not None
    return found[1]


def log_in(setup: Setup, target: str | None = None) -> httpx.Response:
    form = {"csrf_token": csrf(setup.client), "user": setup.sid, "token": setup.token}
    if target is not None:
        form["next"] = target
    return setup.client.post("/console/login", data=form)


def plan(setup: Setup) -> str:
    status = flex_service.status(setup.db, setup.sid, NOW.date(), settings=setup.settings)
    history: list[dict[str, str]] = status["history"]
    return history[-1]["plan"]


def test_a_page_without_a_session_redirects_to_the_login_page(setup: Setup) -> None:
    answer = setup.client.get("/console/invoices")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Finvoices"


def test_logging_in_redirects_to_the_page_asked_for(setup: Setup) -> None:
    answer = log_in(setup, "/console/flex")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/flex"


def test_login_never_redirects_to_another_site(setup: Setup) -> None:
    answer = log_in(setup, "//evil.example/console/x")
    assert answer.headers["location"] == "/console/overview"


def test_the_session_cookie_is_httponly_lax_and_not_secure_on_plain_http(setup: Setup) -> None:
    cookie = log_in(setup).headers["set-cookie"]
    assert cookie.startswith("ratecard_console=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/console", "max-age=28800"} <= flags
    assert "secure" not in flags


def test_the_session_cookie_is_secure_over_https(setup: Setup) -> None:
    client = TestClient(setup.client.app, base_url="https://testserver")
    cookie = client.get("/console/login").headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(setup: Setup) -> None:
    log_in(setup)
    answer = setup.client.post("/console/flex/change", data={"plan": "active-user-hours"})
    assert answer.status_code == 403
    assert "security token is missing or out of date" in answer.text
    assert plan(setup) == "named-user"


def test_a_post_with_another_sessions_token_is_refused_and_changes_nothing(
    setup: Setup,
) -> None:
    other = TestClient(setup.client.app)
    stranger = csrf(other)  # a valid token, of someone else's session
    log_in(setup)
    form = {"csrf_token": stranger, "plan": "active-user-hours"}
    assert setup.client.post("/console/flex/change", data=form).status_code == 403
    assert plan(setup) == "named-user"


def test_a_post_with_the_sessions_token_changes_the_plan(setup: Setup) -> None:
    log_in(setup)
    form = {"csrf_token": csrf(setup.client, "/console/flex"), "plan": "active-user-hours"}
    answer = setup.client.post("/console/flex/change", data=form)
    assert answer.status_code == 303
    assert plan(setup) == "active-user-hours"


def test_the_login_token_from_before_login_no_longer_works_after_it(setup: Setup) -> None:
    before = csrf(setup.client)
    setup.client.post(
        "/console/login", data={"csrf_token": before, "user": setup.sid, "token": setup.token}
    )
    form = {"csrf_token": before, "plan": "active-user-hours"}
    assert setup.client.post("/console/flex/change", data=form).status_code == 403


def test_a_login_without_its_csrf_token_is_refused(setup: Setup) -> None:
    setup.client.get("/console/login")
    form = {"user": setup.sid, "token": setup.token}
    assert setup.client.post("/console/login", data=form).status_code == 403
    assert setup.client.get("/console/flex").status_code == 303  # still not logged in


def test_failed_logins_are_throttled_as_the_api_throttles_them(setup: Setup) -> None:
    for _ in range(3):  # auth_failures_per_sid
        form = {"csrf_token": csrf(setup.client), "user": setup.sid, "token": "0" * 32}
        assert setup.client.post("/console/login", data=form).status_code == 401
    form = {"csrf_token": csrf(setup.client), "user": setup.sid, "token": setup.token}
    throttled = setup.client.post("/console/login", data=form)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) == 300
    # the API counts the same failures: its HTTP Basic is throttled too
    api = setup.client.get(f"/v1/accounts/{setup.sid}/flex", auth=(setup.sid, "f" * 32))
    assert api.status_code == 429


def test_logging_out_ends_the_session_even_for_a_copy_of_its_cookie(setup: Setup) -> None:
    log_in(setup)
    copy = dict(setup.client.cookies)
    token = csrf(setup.client, "/console/flex")
    assert setup.client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    replay = TestClient(setup.client.app, cookies=copy, follow_redirects=False)
    assert replay.get("/console/flex").status_code == 303


def test_rotating_the_auth_token_ends_the_session(setup: Setup) -> None:
    log_in(setup)
    assert setup.client.get("/console/flex").status_code == 200
    rotate_token(setup.db, setup.sid)
    assert setup.client.get("/console/flex").status_code == 303


def test_an_account_login_may_not_open_the_support_queue(setup: Setup) -> None:
    log_in(setup)
    answer = setup.client.get("/console/support")
    assert answer.status_code == 403
    assert "for support logins only" in answer.text


def test_a_month_without_an_invoice_is_a_404_page(setup: Setup) -> None:
    log_in(setup)
    answer = setup.client.get("/console/invoices/2026-05")
    assert answer.status_code == 404
    assert f"no invoice of {setup.sid} for 2026-05" in answer.text


def test_a_malformed_address_is_a_404_page_not_json(setup: Setup) -> None:
    log_in(setup)
    answer = setup.client.get("/console/requests/abc")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "no such page (request_id: Input should be a valid integer" in answer.text


def test_a_form_posted_after_the_session_ended_goes_to_the_login_page(setup: Setup) -> None:
    token = csrf(setup.client)  # an anonymous session's valid token
    answer = setup.client.post("/console/flex/change", data={"csrf_token": token, "plan": "x"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"


def test_a_user_usage_deflex_request_is_refused_with_the_way_out(setup: Setup) -> None:
    account, token = create_account(setup.db, "Seats Co", None, date(2025, 1, 1), False)
    flex_service.change_plan(
        setup.db,
        account.sid,
        "enable",
        "user-usage",
        date(2026, 7, 1),
        date(2026, 7, 1),
        settings=setup.settings,
    )
    with pytest.raises(DeflexRefused) as expected:
        deflex_service.file_request(
            setup.db,
            account.sid,
            "stop_billing",
            account.sid,
            False,
            NOW,
            settings=setup.settings,
        )
    form = {"csrf_token": csrf(setup.client), "user": account.sid, "token": token}
    setup.client.post("/console/login", data=form)
    form = {"csrf_token": csrf(setup.client, "/console/deflex"), "intent": "stop_billing"}
    answer = setup.client.post("/console/deflex/requests", data=form)
    assert answer.status_code == 400
    assert str(escape(expected.value.reason)) in answer.text
    assert "Projected seat charge next cycle: 0.00 USD" in answer.text  # no login this month
    assert deflex_service.list_requests(setup.db, [account.sid]) == []  # nothing was filed
