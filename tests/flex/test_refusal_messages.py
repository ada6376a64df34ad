"""Refusals a customer can act on, through the CLI and the API (SPEC section 3): a switch
dated before Flex was enabled names the past-date rule, and a subaccount created with Flex is
told plainly that no plan is possible and why, each refusal naming its rule."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from ratecard.cli.main import app
from ratecard.service.accounts import create_account

from .conftest import Store, call_api

NO_PLAN = "no-plan-for-subaccount-created-with-flex"
PAST = "no-plan-change-in-the-past"
runner = CliRunner()


def _json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _account(store: Store, *, parent: str | None = None, with_flex: bool = True) -> str:
    account, token = create_account(store.db, "Co", parent, date(2025, 1, 1), with_flex)
    store.tokens[account.sid] = token
    return account.sid


def test_a_switch_dated_before_flex_was_enabled_names_the_past_date_rule(store: Store) -> None:
    sid = _account(store)
    today = datetime.now(UTC).date()
    before = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's 1st
    _json("flex", "enable", sid, "--plan", "named-user")  # from today
    shown = runner.invoke(
        app, ["flex", "switch", sid, "--plan", "active-user-hours", "--effective", str(before)]
    )
    assert shown.exit_code == 1
    assert f"(rule {PAST})" in shown.stderr
    assert "not-enabled" not in shown.stderr  # it was: "Flex is not enabled on this account"

    # the API, its clock fixed: enabled Jun 15, 2026; on Jun 20 a switch dated May 1
    api = _account(store)
    now = datetime(2026, 6, 20, 12, tzinfo=UTC)
    base = f"/v1/accounts/{api}/flex"
    enabled = call_api(
        store, "POST", f"{base}/enable", api, now, {"plan": "named-user", "effective": "2026-06-15"}
    )
    assert enabled.status_code == 200, enabled.text
    body = {"plan": "active-user-hours", "effective": "2026-05-01"}
    refused = call_api(store, "POST", f"{base}/switch", api, now, body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "plan_change_refused"
    assert error["message"] == (
        "A plan change cannot take effect in the past; it takes effect at the start of a "
        f"coming month. (rule {PAST})"
    )


def test_a_subaccount_created_with_flex_is_told_no_plan_is_possible(store: Store) -> None:
    parent = _account(store, with_flex=False)
    sub = _account(store, parent=parent)
    for plan, specific in (
        ("named-user", "subaccounts-only-user-usage"),
        ("user-usage", "user-usage-needs-account-created-without-flex"),
    ):
        shown = runner.invoke(app, ["flex", "enable", sub, "--plan", plan])
        assert shown.exit_code == 1
        assert "No Flex plan is possible for this account" in shown.stderr
        assert f"(rule {NO_PLAN})" in shown.stderr
        assert f"(rule {specific})" in shown.stderr

    status = _json("flex", "status", sub)
    assert status["no_plan_possible"] is True
    assert [r["rule"] for r in status["no_plan_refusals"]] == [NO_PLAN]
    assert {p: o["refusals"][0]["rule"] for p, o in status["options"].items()} == {
        "named-user": NO_PLAN,
        "active-user-hours": NO_PLAN,
        "user-usage": NO_PLAN,
    }
    table = runner.invoke(app, ["flex", "status", sub])
    assert f"(rule {NO_PLAN})" in table.stdout
    assert "it is a subaccount that was created with Flex" in " ".join(table.stdout.split())

    compared = _json("flex", "compare", sub, "--month", "2026-07")
    assert compared["no_plan_possible"] is True
    refused = [o for o in compared["options"] if o["plan"] != "standard"]
    assert [o["refusals"][0]["rule"] for o in refused] == [NO_PLAN] * 3
    assert not any(o["allowed"] for o in refused)

    now = datetime(2026, 7, 20, tzinfo=UTC)
    answer = call_api(
        store, "POST", f"/v1/accounts/{sub}/flex/enable", parent, now, {"plan": "user-usage"}
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith("No Flex plan is possible for this account")
    assert len(error["problems"]) == 2  # the plain rule, then the specific one
    assert error["problems"][0]["reason"].startswith(
        "No Flex plan is possible for this account: it is a subaccount that was created with Flex"
    )
    assert call_api(store, "GET", f"/v1/accounts/{sub}/flex", parent, now).json()[
        "no_plan_possible"
    ]


def test_an_eligible_account_is_not_told_no_plan_is_possible(store: Store) -> None:
    sid = _account(store)
    status = _json("flex", "status", sid)
    assert (status["no_plan_possible"], status["no_plan_refusals"]) == (False, [])
