"""The command contract scripts depend on: db, accounts, import and invoices (SQLite)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ratecard.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RATECARD_DATABASE_URL", database)
    monkeypatch.delenv("RATECARD_LATE_POLICY", raising=False)
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    return database


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def create(name: str, *extra: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(
        ok("accounts", "create", "--name", name, *extra, "--format", "json")
    )
    return data


def task(account: str, n: int) -> dict[str, str]:
    return {
        "type": "taskrouter_task",
        "id": f"t{n}",
        "account": account,
        "time": "2026-07-01T09:00:00Z",
        "task": f"WT{n:032d}",
    }


def test_accounts_create_prints_sid_and_token_once_and_stores_only_a_hash(url: str) -> None:
    created = create("Acme", "--created", "2025-03-01", "--created-with-flex")
    assert set(created) == {"sid", "auth_token"}
    assert re.fullmatch(r"AC[0-9a-f]{32}", created["sid"])
    assert re.fullmatch(r"[0-9a-f]{32}", created["auth_token"])
    sub = create("Acme Support", "--parent", created["sid"])
    listed = json.loads(ok("accounts", "list", "--format", "json"))["accounts"]
    assert {a["sid"]: a["parent"] for a in listed} == {
        created["sid"]: None,
        sub["sid"]: created["sid"],
    }
    with create_engine(url).connect() as connection:
        hashes = connection.execute(text("SELECT auth_token_hash FROM accounts")).scalars().all()
    assert all(created["auth_token"] not in h and h.startswith("scrypt$") for h in hashes)


def test_a_subaccount_of_a_subaccount_is_refused(url: str) -> None:
    parent = create("P")["sid"]
    child = create("C", "--parent", parent)["sid"]
    result = runner.invoke(app, ["accounts", "create", "--name", "G", "--parent", child])
    assert result.exit_code != 0
    assert "cannot have subaccounts" in result.output


def test_import_stores_valid_lines_rejects_bad_ones_and_is_safe_to_rerun(
    url: str, tmp_path: Path
) -> None:
    sid = create("Acme")["sid"]
    lines = [json.dumps(task(sid, n)) for n in range(4)]
    lines.insert(2, '{"type": "taskrouter_task", "id": "bad", "account": "' + sid + '"}')
    lines.insert(4, "{not json")
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")

    first = runner.invoke(app, ["import", str(source), "--format", "json"])
    assert first.exit_code != 0
    assert json.loads(first.stdout) == {"stored": 4, "duplicates": 0, "refused": 2}
    rejects = [
        json.loads(x) for x in (tmp_path / "events.jsonl.rejects.jsonl").read_text().splitlines()
    ]
    assert [r["where"] for r in rejects] == ["events.jsonl:3", "events.jsonl:5"]
    assert {"field": "time", "reason": "is required"} in rejects[0]["problems"]
    assert "not valid JSON" in rejects[1]["problems"][0]["reason"]

    again = runner.invoke(app, ["import", str(source), "--format", "json"])
    assert json.loads(again.stdout) == {"stored": 0, "duplicates": 4, "refused": 2}


def test_import_reads_csv_and_parquet_exactly(url: str, tmp_path: Path) -> None:
    sid = create("Acme")["sid"]
    rows = [task(sid, n) for n in range(3)]
    csv_file = tmp_path / "events.csv"
    header = list(rows[0])
    csv_file.write_text(
        ",".join(header) + "\n" + "\n".join(",".join(r[k] for k in header) for r in rows) + "\n"
    )
    assert json.loads(ok("import", str(csv_file), "--format", "json"))["stored"] == 3
    usage = {
        "type": ["usage"],
        "id": ["u1"],
        "account": [sid],
        "time": ["2026-07-02T00:00:00Z"],
        "category": ["lookups"],
        "quantity": ["1200"],
    }
    parquet_file = tmp_path / "events.parquet"
    pq.write_table(pa.table(usage), parquet_file)
    assert json.loads(ok("import", str(parquet_file), "--format", "json")) == {
        "stored": 1,
        "duplicates": 0,
        "refused": 0,
    }
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({**usage, "id": ["u2"], "quantity": [1.5]}), floats)
    result = runner.invoke(app, ["import", str(floats), "--format", "json"])
    assert result.exit_code != 0
    assert json.loads(result.stdout)["refused"] == 1


def test_invoices_generate_show_finalize_follow_the_contract(url: str, tmp_path: Path) -> None:
    book = [
        "ACacbeacbeacbeacbeacbeacbeacbeacbe",
        "AC5a115a115a115a115a115a115a115a11",
        "AC3a4c3a4c3a4c3a4c3a4c3a4c3a4c3a4c",
    ]
    create("Acme Corp", "--sid", book[0], "--created", "2025-03-01")
    create("Acme Support", "--sid", book[1], "--parent", book[0], "--created", "2025-03-02")
    create("Acme Marketing", "--sid", book[2], "--parent", book[0], "--created", "2025-04-10")
    ok("import", str(EXAMPLES / "acme" / "events.jsonl"), "--format", "json")
    ok("invoices", "generate", "--month", "2026-07")
    shown = json.loads(
        ok("invoices", "show", "--month", "2026-07", "--account", book[0], "--format", "json")
    )
    (expected,) = json.loads(
        ok(
            "invoice",
            str(EXAMPLES / "acme" / "book.toml"),
            "--month",
            "2026-07",
            "--format",
            "json",
        )
    )["invoices"]
    assert shown == {**expected, "status": "draft"}

    ok("invoices", "finalize", "--month", "2026-07", "--account", book[0])
    shown = json.loads(
        ok("invoices", "show", "--month", "2026-07", "--account", book[0], "--format", "json")
    )
    assert shown["status"] == "finalized"
    table = ok("invoices", "show", "--month", "2026-07")
    assert "finalized" in table
    assert "181.08" in table
    csv_text = ok("invoices", "show", "--month", "2026-07", "--account", book[0], "--format", "csv")
    assert csv_text.splitlines()[0].startswith("account,month,status,section,category")
    refused = runner.invoke(
        app, ["invoices", "finalize", "--month", "2026-07", "--account", book[0]]
    )
    assert refused.exit_code != 0
    assert "already finalized" in refused.output


def test_invoices_finalize_under_the_reject_policy_refuses_a_stale_draft(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATECARD_LATE_POLICY", "reject")
    sid = create("Strict")["sid"]
    events = tmp_path / "tasks.jsonl"
    events.write_text(json.dumps(task(sid, 1)) + "\n")
    ok("import", str(events))
    ok("invoices", "generate", "--month", "2026-07")
    events.write_text(json.dumps(task(sid, 2)) + "\n")
    ok("import", str(events))  # after the draft: it would never be billed under reject
    refused = runner.invoke(app, ["invoices", "finalize", "--month", "2026-07", "--account", sid])
    assert refused.exit_code == 1
    assert "is stale: 1 event(s) for the month were stored after it" in refused.output
    ok("invoices", "generate", "--month", "2026-07")
    # 2 tasks x 0.0025 = 0.005, rounded half-up to 0.01 once on the line
    assert ok("invoices", "finalize", "--month", "2026-07", "--account", sid) == (
        f"finalized the 2026-07 invoice of {sid}: 0.01 USD\n"
    )


def test_commands_on_a_database_without_schema_say_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATECARD_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["accounts", "list"])
    assert result.exit_code != 0
    assert "ratecard db init" in result.output


def test_a_bad_month_is_refused_naming_the_option(url: str) -> None:
    result = runner.invoke(app, ["invoices", "generate", "--month", "2026-7"])
    assert result.exit_code != 0
    assert "YYYY-MM" in result.output


def test_accounts_token_rotate_prints_a_new_token_and_the_old_one_stops_working(
    url: str,
) -> None:
    from ratecard.service.accounts import token_matches
    from ratecard.store.database import Database
    from ratecard.store.unit_of_work import UnitOfWork

    created = create("Acme")
    rotated = json.loads(ok("accounts", "token", "rotate", created["sid"], "--format", "json"))
    assert rotated["sid"] == created["sid"]
    assert rotated["auth_token"] != created["auth_token"]
    with UnitOfWork(Database(url)) as uow:
        stored = uow.accounts.token_hash(created["sid"])
    assert stored is not None
    assert token_matches(rotated["auth_token"], stored)
    assert not token_matches(created["auth_token"], stored)
    missing = runner.invoke(app, ["accounts", "token", "rotate", "AC" + "0" * 32])
    assert missing.exit_code == 1
