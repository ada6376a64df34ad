"""``ratecard book load``: its per-item report, its JSON, and its refusal (SQLite)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ratecard.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACME = str(EXAMPLES / "acme" / "book.toml")
runner = CliRunner()


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATECARD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("RATECARD_LATE_POLICY", raising=False)
    monkeypatch.delenv("RATECARD_CATALOG", raising=False)
    assert runner.invoke(app, ["db", "init"]).exit_code == 0


def test_load_reports_each_item_and_a_second_load_reports_it_stored() -> None:
    first = runner.invoke(app, ["book", "load", ACME])
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"{ACME}: loaded into sqlite:///")
    assert re.fullmatch(
        r"  account ACacbe(acbe){7} \(Acme Corp\): created, auth token [0-9a-f]{32} "
        r"\(shown once\)",
        lines[1],
    )
    assert lines[-1].endswith("events.jsonl: stored 21, duplicates 0")

    again = runner.invoke(app, ["book", "load", ACME, "--format", "json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert [a["action"] for a in data["accounts"]] == ["already stored"] * 3
    assert [a["auth_token"] for a in data["accounts"]] == [None] * 3
    assert data["events"]["stored"] == 0
    assert data["events"]["duplicates"] == 21


def test_a_differing_stored_account_is_an_error_and_nothing_is_loaded() -> None:
    sid = "ACacbeacbeacbeacbeacbeacbeacbeacbe"
    created = runner.invoke(app, ["accounts", "create", "--name", "Acme", "--sid", sid])
    assert created.exit_code == 0, created.output
    refused = runner.invoke(app, ["book", "load", ACME])
    assert refused.exit_code == 1
    assert "does not match the store; nothing was loaded" in refused.stderr
    assert f"account {sid}: stored name 'Acme' (the book: 'Acme Corp')" in refused.stderr
    listed = json.loads(runner.invoke(app, ["accounts", "list", "--format", "json"]).stdout)
    assert [a["sid"] for a in listed["accounts"]] == [sid]


def test_an_invalid_book_is_an_error_naming_the_problem(tmp_path: Path) -> None:
    book = tmp_path / "book.toml"
    book.write_text('events = "missing.jsonl"\n[[accounts]]\nsid = "ACx"\nname = "X"\n')
    refused = runner.invoke(app, ["book", "load", str(book)])
    assert refused.exit_code == 1
    assert "error: invalid book" in refused.stderr
    assert "Traceback" not in refused.output
