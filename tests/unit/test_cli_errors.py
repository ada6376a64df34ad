"""``ratecard invoice`` refuses bad input with a message naming where the problem is."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ratecard.cli.main import app

ACCOUNT = "AC" + "5" * 32
GOOD = {
    "type": "usage",
    "id": "u1",
    "account": ACCOUNT,
    "time": "2026-07-02T10:00:00Z",
    "category": "lookups",
    "quantity": "1200",
}


def write_book(folder: Path, *events: dict[str, object]) -> Path:
    (folder / "events.jsonl").write_text(
        "".join(json.dumps(event) + "\n" for event in events), encoding="utf-8"
    )
    book = folder / "book.toml"
    book.write_text(
        'catalog = "us"\n'
        'events = "events.jsonl"\n\n'
        "[[accounts]]\n"
        f'sid = "{ACCOUNT}"\n'
        'name = "CLI Co"\n'
        'created = "2026-01-01"\n',
        encoding="utf-8",
    )
    return book


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with Rich's line wrapping undone."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def test_a_good_book_prints_its_invoice(tmp_path: Path) -> None:
    book = write_book(tmp_path, GOOD)
    code, out, err = invoke("invoice", str(book), "--month", "2026-07", "--format", "json")
    assert code == 0, err
    # 1,200 lookups = 2 started packages of 1,000 at 5.00 = 10.00
    assert json.loads(out)["invoices"][0]["total"] == "10.00"


def test_a_bad_events_line_exits_non_zero_naming_file_line_and_field(tmp_path: Path) -> None:
    book = write_book(tmp_path, GOOD, {**GOOD, "id": "u2", "quantity": 2.5})
    code, _, err = invoke("invoice", str(book), "--month", "2026-07")
    assert code != 0
    assert "events.jsonl:2: field 'quantity' float 2.5 refused" in err


def test_every_bad_events_line_is_reported_in_one_run(tmp_path: Path) -> None:
    book = write_book(
        tmp_path,
        {**GOOD, "time": "2026-07-02T10:00:00"},
        GOOD | {"id": "u2"},
        {**GOOD, "id": "u3", "type": "fax"},
    )
    code, _, err = invoke("invoice", str(book), "--month", "2026-07")
    assert code != 0
    assert "events.jsonl:1: field 'time'" in err
    assert "events.jsonl:3: field 'type' unknown event type" in err
    assert "events.jsonl:2" not in err


def test_an_unknown_month_format_is_refused(tmp_path: Path) -> None:
    book = write_book(tmp_path, GOOD)
    code, _, err = invoke("invoice", str(book), "--month", "July 2026")
    assert code != 0
    assert "month must look like YYYY-MM" in err


def test_a_month_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    book = write_book(tmp_path, GOOD)
    code, _, err = invoke("invoice", str(book), "--month", "2026-13")
    assert code != 0
    assert "not a month: 2026-13" in err
