"""The command contract of Flex plans and deflexification (SQLite): JSON shapes, refusals
that exit non-zero with the rule's words, and support-only processing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ratecard.catalog.load import resolve
from ratecard.cli.main import app

FIXTURE = Path(__file__).resolve().parents[1] / "deflex" / "fixtures" / "acme_flex_resources.json"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RATECARD_DATABASE_URL", database)
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    return database


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok_json(*args: str) -> dict[str, object]:
    code, stdout, stderr = run(*args, "--format", "json")
    assert code == 0, stderr
    data: dict[str, object] = json.loads(stdout)
    return data


def account(*extra: str) -> str:
    created = ok_json("accounts", "create", "--name", "Co", "--created", "2025-01-01", *extra)
    return str(created["sid"])


def resources(tmp_path: Path, sid: str) -> Path:
    path = tmp_path / "resources.json"
    path.write_text(re.sub(r"AC[0-9a-f]{32}", sid, FIXTURE.read_text()))
    return path


def test_flex_enable_and_status_print_the_plan_and_history(url: str) -> None:
    sid = account("--created-with-flex")
    ok_json("flex", "enable", sid, "--plan", "named-user", "--effective", "2026-01-01")
    status = ok_json("flex", "status", sid)
    assert status["plan"] == "named-user"
    assert status["history"] == [{"plan": "named-user", "effective": "2026-01-01T00:00:00Z"}]


def test_a_refused_switch_exits_non_zero_with_the_rules_explanation(url: str) -> None:
    sid = account("--created-with-flex")
    ok_json("flex", "enable", sid, "--plan", "named-user", "--effective", "2026-01-01")
    code, _, stderr = run("flex", "switch", sid, "--plan", "user-usage")
    assert code == 1
    assert "User + Usage is available only to accounts that were created without Flex" in stderr
    assert "(rule user-usage-needs-account-created-without-flex)" in stderr


def test_an_unknown_plan_is_refused(url: str) -> None:
    sid = account()
    code, _, stderr = run("flex", "enable", sid, "--plan", "gold")
    assert code == 1
    assert "unknown plan 'gold'" in stderr


def test_deflex_checklist_json_names_each_finding_kind(url: str, tmp_path: Path) -> None:
    sid = account("--created-with-flex")
    ok_json("resources", "import", sid, str(resources(tmp_path, sid)))
    findings = ok_json("deflex", "checklist", sid)["findings"]
    assert isinstance(findings, list)
    assert {f["kind"] for f in findings} == {
        "studio_flow",
        "twiml_app",
        "taskrouter_workspace",
        "task_queue",
        "workflow",
        "phone_number",
    }
    assert all(set(f) == {"kind", "sid", "name", "problem", "action"} for f in findings)


def test_deflex_request_needs_the_billing_acknowledgment(url: str) -> None:
    sid = account("--created-with-flex")
    ok_json("flex", "enable", sid, "--plan", "named-user", "--effective", "2026-01-01")
    code, _, stderr = run("deflex", "request", sid, "--intent", "stop_billing")
    assert code == 1
    assert "cannot be submitted until the billing change is accepted" in stderr
    assert "Flex plan billing stops" in stderr  # the acknowledgment table is shown
    submitted = ok_json(
        "deflex", "request", sid, "--intent", "stop_billing", "--accept-billing-change"
    )
    assert submitted == {"request": 1, "status": "submitted"}


def test_only_a_registered_support_user_processes_a_request(url: str) -> None:
    sid = account("--created-with-flex")
    ok_json("flex", "enable", sid, "--plan", "active-user-hours", "--effective", "2026-01-01")
    ok_json("deflex", "request", sid, "--intent", "decommission", "--accept-billing-change")
    code, _, stderr = run("deflex", "process", "1", "--support-user", "mallory")
    assert code == 1
    assert "only a registered support user" in stderr
    added = ok_json("support", "add", "sam")
    assert re.fullmatch(r"[0-9a-f]{32}", str(added["token"]))
    processed = ok_json("deflex", "process", "1", "--support-user", "sam")
    assert processed["status"] == "processed"
    shown = ok_json("deflex", "show", "1")
    audit = shown["audit"]
    assert isinstance(audit, list)
    assert [(e["action"], e["role"]) for e in audit] == [
        ("file", "account"),
        ("accept_billing_change", "account"),
        ("submit", "account"),
        ("process", "support"),
    ]


@pytest.fixture
def by_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Price with a catalog that counts User + Usage seats by worker (the shipped one counts
    logins, under which Workers are no seats and deleting them stops nothing)."""
    catalog = tmp_path / "workers.toml"
    text = resolve("us").read_text()
    catalog.write_text(text.replace('seat_basis = "login"', 'seat_basis = "worker_exists"'))
    monkeypatch.setenv("RATECARD_CATALOG", str(catalog))


def _workers_created(tmp_path: Path, sid: str) -> list[str]:
    """Import the resources and a ``worker_created`` event (Jan 2, 2026) per Worker in them."""
    ok_json("resources", "import", sid, str(resources(tmp_path, sid)))
    workers = [w["sid"] for w in json.loads(resources(tmp_path, sid).read_text())["workers"]]
    events = tmp_path / "workers.jsonl"
    events.write_text(
        "".join(
            json.dumps(
                {
                    "type": "worker_created",
                    "id": f"wc-{w}",
                    "account": sid,
                    "time": "2026-01-02T00:00:00Z",
                    "worker": w,
                }
            )
            + "\n"
            for w in workers
        )
    )
    assert ok_json("import", str(events))["stored"] == 3
    return workers


@pytest.mark.usefixtures("by_worker")
def test_user_usage_request_is_refused_with_workers_and_projected_charge(
    url: str, tmp_path: Path
) -> None:
    sid = account()
    ok_json("flex", "enable", sid, "--plan", "user-usage", "--effective", "2026-01-01")
    _workers_created(tmp_path, sid)
    code, _, stderr = run(
        "deflex", "request", sid, "--intent", "stop_billing", "--accept-billing-change"
    )
    assert code == 1
    assert "Projected seat charge next cycle: 3 x 35.00 USD = 105.00 USD" in stderr
    assert f"ratecard flex workers delete {sid} --worker WK" in stderr


@pytest.mark.usefixtures("by_worker")
def test_deleting_workers_removes_them_from_the_next_refusal(url: str, tmp_path: Path) -> None:
    sid = account()
    ok_json("flex", "enable", sid, "--plan", "user-usage", "--effective", "2026-01-01")
    workers = _workers_created(tmp_path, sid)
    args = [a for w in workers for a in ("--worker", w)]
    deleted = ok_json("flex", "workers", "delete", sid, *args, "--at", "2026-07-10T00:00:00Z")
    assert deleted["stored"] == 3
    code, _, stderr = run(
        "deflex", "request", sid, "--intent", "stop_billing", "--accept-billing-change"
    )
    assert code == 1
    assert "no Workers, so no seat charge is due next cycle" in stderr
