"""What ``ratecard rate`` says when it cannot run: no PySpark, no Java, no such month."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ratecard.cli.main import app
from ratecard.errors import ConfigError
from ratecard.periods import Month
from ratecard.scale import spark, submit

RATE = ["rate", "--catalog", "us", "--month", "2026-07"]


def test_a_missing_java_is_named_with_the_option_that_needs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(ConfigError, match=r"^--engine spark needs a Java runtime \(17 or newer\)"):
        spark.require_spark()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="found no java on PATH"):
        spark.require_spark()


def test_a_missing_pyspark_is_named_with_the_extra_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spark, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'ratecard\[spark\]'"):
        spark.require_spark()


def test_the_rate_command_fails_with_the_reason_before_starting_spark(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    args = [*RATE, "--events", str(tmp_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == 1
    assert "error: --engine spark needs a Java runtime" in result.output
    assert not (tmp_path / "out").exists()


def test_rating_a_month_that_was_not_exported_names_the_events_option(tmp_path: Path) -> None:
    args = [*RATE, "--events", str(tmp_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"error: --events {tmp_path}: no partition month=2026-07" in " ".join(
        result.output.split()
    )
    with pytest.raises(ConfigError, match="no partition month=2026-07"):
        spark.month_sources(str(tmp_path), [Month(2026, 7)])


def test_the_spark_submit_script_names_the_options_it_misses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit:
        submit.main(["--catalog", "us", "--events", "s3a://bucket/usage"])
    assert exit.value.code == 2
    assert "missing --month, --out" in capsys.readouterr().err
    assert submit.main(["--path"]) == 0
    assert capsys.readouterr().out.strip() == submit.__file__
