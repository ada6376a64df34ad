"""``python -m bench`` prints its figures; only ``--record`` appends them to the tracked
bench/RESULTS.md (issue 12 item 10: a plain run must leave the work tree clean)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_prints_and_only_record_appends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("bench.__main__")
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(bench, "RESULTS", results)
    args = ["kernel", "--events", "1000", "--format", "json"]

    bench.main(args)
    printed = json.loads(capsys.readouterr().out)
    assert printed["events"] == 1000
    assert not results.exists()
    bench.main([*args, "--no-record"])  # the old spelling of the default still works
    assert not results.exists()

    bench.main([*args, "--record"])
    capsys.readouterr()
    text = results.read_text()
    assert "## Runs (appended by `python -m bench kernel --record`)" in text
    assert text.count("| batch | 1,000 |") == 1
    sys.modules.pop("bench.__main__", None)
