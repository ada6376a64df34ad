"""Issue 12 item 3: ``ratecard import`` of a file mixing good and bad lines stores every good
line, writes every bad one to FILE.rejects.jsonl with its line number and reason, and never
shows a traceback; no rejects file is left when nothing was refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ratecard.cli.main import app

runner = CliRunner()
SID = "AC" + "7" * 32


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RATECARD_DATABASE_URL", database)
    monkeypatch.delenv("RATECARD_LATE_POLICY", raising=False)
    monkeypatch.delenv("RATECARD_FUTURE_SKEW", raising=False)
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    created = runner.invoke(app, ["accounts", "create", "--name", "Acme", "--sid", SID])
    assert created.exit_code == 0, created.output
    return database


def task(n: int, **changes: Any) -> dict[str, Any]:
    event = {
        "type": "taskrouter_task",
        "id": f"t{n}",
        "account": SID,
        "time": "2026-07-01T09:00:00Z",
        "task": f"WT{n:032d}",
    }
    return event | changes


def good(n: int) -> bytes:
    return json.dumps(task(n)).encode()


USAGE = {"type": "usage", "id": "u1", "account": SID, "time": "2026-07-01T09:00:00Z"}
USAGE |= {"category": "teleport", "quantity": "1"}
#: (line, what the rejects file must say of it: field, a phrase of the reason)
BAD: list[tuple[bytes, str | None, str]] = [
    (b'{"type": "usage", "id": "big", "quantity": ' + b"9" * 5000 + b"}", None, "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, None, "not valid JSON"),
    (json.dumps(task(90, time="9999-12-31T23:59:59-01:00")).encode(), "time", "out of range"),
    (json.dumps(task(91, time="0001-01-01T00:00:00+01:00")).encode(), "time", "out of range"),
    (json.dumps(task(92, time="1969-12-31T23:59:59Z")).encode(), "time", "accepted window"),
    (
        b'{"type": "taskrouter_task", "id": "caf\xe9", "account": "' + SID.encode() + b'"}',
        None,
        "not UTF-8",
    ),
    (json.dumps(task(93, id="t\u0000nul")).encode(), "id", "control characters"),
    (json.dumps(USAGE).encode(), "category", "not a category of the catalog"),
]


def invoke(path: Path) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(app, ["import", str(path), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def stored(url: str) -> list[str]:
    with create_engine(url).connect() as connection:
        return sorted(connection.execute(text("SELECT event_id FROM events")).scalars())


def test_every_bad_line_is_rejected_with_its_line_and_reason_and_every_good_one_stored(
    url: str, tmp_path: Path
) -> None:
    lines = [good(1), good(2)]  # a good line's event id is t + its line number
    for bad, _, _ in BAD:
        lines.append(bad)
        lines.append(good(len(lines) + 1))
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    code, counts, stderr = invoke(source)
    assert code == 1
    assert counts == {"stored": 10, "duplicates": 0, "refused": 8}
    assert stored(url) == sorted(f"t{n}" for n in [1, 2, 4, 6, 8, 10, 12, 14, 16, 18])
    rejects = source.with_name("events.jsonl.rejects.jsonl")
    assert f"refused lines and their reasons: {rejects}" in stderr
    records = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["line"] for r in records] == [3, 5, 7, 9, 11, 13, 15, 17]
    assert [r["where"] for r in records] == [f"events.jsonl:{r['line']}" for r in records]
    for record, (_, field, phrase) in zip(records, BAD, strict=True):
        (problem,) = record["problems"]
        assert problem["field"] == field
        assert phrase in problem["reason"]
        assert len(json.dumps(record)) < 1000  # an excerpt of the line, never all of it
    again_code, again, _ = invoke(source)
    assert (again_code, again) == (1, {"stored": 0, "duplicates": 10, "refused": 8})


def test_a_clean_import_leaves_no_rejects_file_and_removes_a_stale_one(
    url: str, tmp_path: Path
) -> None:
    source = tmp_path / "clean.jsonl"
    rejects = source.with_name("clean.jsonl.rejects.jsonl")
    source.write_bytes(good(1) + b"\n" + b"{oops\n")
    assert invoke(source)[:2] == (1, {"stored": 1, "duplicates": 0, "refused": 1})
    assert rejects.exists()
    source.write_bytes(good(1) + b"\n" + good(2) + b"\n")  # the bad line fixed
    code, counts, stderr = invoke(source)
    assert (code, counts) == (0, {"stored": 1, "duplicates": 1, "refused": 0})
    assert not rejects.exists()
    assert f"removed {rejects} of an earlier run" in stderr
    code, _, stderr = invoke(source)
    assert (code, stderr.strip()) == (0, "")
    assert not rejects.exists()


def test_a_csv_file_with_invalid_utf8_and_a_huge_cell_keeps_its_good_rows(
    url: str, tmp_path: Path
) -> None:
    header = b"type,id,account,time,task\n"
    row = "taskrouter_task,{},{},2026-07-01T09:00:00Z,WT1\n"
    source = tmp_path / "events.csv"
    source.write_bytes(
        header
        + row.format("c1", SID).encode()
        + b"taskrouter_task,caf\xe9,"
        + SID.encode()
        + b",2026-07-01T09:00:00Z,WT1\n"
        + row.format("x" * 200_000, SID).encode()
        + row.format("c4", SID).encode()
    )
    code, counts, _ = invoke(source)
    assert (code, counts) == (1, {"stored": 2, "duplicates": 0, "refused": 2})
    assert stored(url) == ["c1", "c4"]
    records = source.with_name("events.csv.rejects.jsonl").read_text().splitlines()
    assert [json.loads(r)["line"] for r in records] == [3, 4]  # c4 is line 5
