"""``ratecard export events``: a month of stored usage as partitioned Parquet, on SQLite and
PostgreSQL, and rated from the files to the same totals as the store's own invoices."""

from __future__ import annotations

import json
import re
import zlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ratecard.catalog import load_catalog
from ratecard.cli.main import app
from ratecard.errors import ConfigError
from ratecard.periods import Month
from ratecard.scale.embedded import rate_embedded
from ratecard.scale.export import export_events, read_month
from ratecard.service import invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database

JULY = Month(2026, 7)


def stored_month(db: Database, settings: Settings) -> dict[str, str]:
    """Three billing accounts (one with a subaccount) and their July events in the store:
    calls crossing the voice pool's first bound, messages, tasks, a usage record, a number
    bought in June (its July anniversary is July's usage), and an August call (not July's).
    Returns the sids by name."""
    parent, _ = create_account(db, "Parent", None, date(2025, 1, 1))
    child, _ = create_account(db, "Child", parent.sid, date(2025, 1, 1))
    alone, _ = create_account(db, "Alone", None, date(2025, 1, 1))
    events: list[dict[str, Any]] = []
    for n in range(60):
        account = [parent.sid, child.sid, alone.sid][n % 3]
        base = {
            "id": f"ev{n:03d}",
            "account": account,
            "time": f"2026-07-{n % 28 + 1:02d}T10:00:00Z",
        }
        if n % 4 == 0:
            events.append(
                base
                | {
                    "type": "message",
                    "direction": "outbound",
                    "channel": "longcode",
                    "country": "US",
                    "segments": 40_000 + n,
                }
            )
        elif n % 4 == 1:
            events.append(base | {"type": "taskrouter_task", "task": f"WT{n}"})
        else:
            events.append(
                base
                | {
                    "type": "call",
                    "call_id": f"CA{n}",
                    "direction": "inbound",
                    "number_type": "local",
                    "country": "US",
                    "duration_seconds": 61 + 900 * n,
                }
            )
    events.append(
        {
            "type": "usage",
            "id": "u1",
            "account": alone.sid,
            "time": "2026-07-09T00:00:00Z",
            "category": "recordings",
            "quantity": "12",
            "country": "US",
        }
    )
    events.append(
        {
            "type": "number_purchased",
            "id": "n1",
            "account": child.sid,
            "time": "2026-06-03T00:00:00Z",
            "number": "+14155550100",
            "number_type": "local",
            "country": "US",
        }
    )
    events.append(
        {
            "type": "call",
            "id": "aug",
            "account": alone.sid,
            "time": "2026-08-01T00:00:00Z",
            "call_id": "CAaug",
            "direction": "outbound",
            "number_type": "local",
            "country": "US",
            "duration_seconds": 60,
        }
    )
    ingest_batch(db, events, settings)
    return {"parent": parent.sid, "child": child.sid, "alone": alone.sid}


def test_an_export_holds_the_months_metered_usage_in_buckets_of_whole_billing_accounts(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    sids = stored_month(db, settings)
    exported = export_events(db, settings, JULY, tmp_path, buckets=4)
    rows = read_month(tmp_path, JULY)
    # 60 events, the usage record and the number's July anniversary; not the August call
    assert (exported.events, rows.height) == (62, 62)
    assert exported.billing_accounts == 2  # Parent (Child billed to it) and Alone
    by_id = {r["event_id"]: r for r in rows.iter_rows(named=True)}
    assert "aug" not in by_id
    # ev002 (Alone): a call of 61 + 1800 = 1861 s bills 32 minutes (60 s increments, rounded
    # up), 32 x 10**6 micro-units
    assert (by_id["ev002"]["category"], by_id["ev002"]["quantity"]) == (
        "calls-inbound-local",
        32_000_000,
    )
    assert (by_id["ev002"]["account"], by_id["ev002"]["billing_account"]) == (
        sids["alone"],
        sids["alone"],
    )
    # ev001: the Child's task, billed to the Parent; n1: the number's anniversary charge
    assert (by_id["ev001"]["account"], by_id["ev001"]["billing_account"]) == (
        sids["child"],
        sids["parent"],
    )
    anniversary = by_id["n1@2026-07-03"]
    assert (anniversary["category"], anniversary["quantity"]) == ("phonenumbers-local", 10**6)
    assert (by_id["u1"]["category"], by_id["u1"]["quantity"]) == ("recordings", 12_000_000)
    files = sorted(exported.path.glob("bucket=*/part-*.parquet"))
    assert exported.files == len(files)
    assert exported.bytes == sum(f.stat().st_size for f in files)
    for part in files:
        owners = set(pq.read_table(part, columns=["billing_account"]).column(0).to_pylist())
        bucket = int(part.parent.name.removeprefix("bucket="))
        assert {zlib.crc32(owner.encode()) % 4 for owner in owners} == {bucket}
        times = pq.read_table(part, columns=["time"]).column(0).to_pylist()
        assert times == sorted(times)


def test_the_exported_month_rates_to_the_stores_own_invoice_totals(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """The export, rated by the batch kernel from the files, bills what the invoice service
    bills from the store (the reference kernel, one account at a time)."""
    stored_month(db, settings)
    export_events(db, settings, JULY, tmp_path / "events", buckets=3)
    rated = rate_embedded(load_catalog("us"), tmp_path / "events", [JULY], tmp_path / "out")
    generated = invoices.generate(db, JULY, settings)
    assert rated.invoices == len(generated) == 2
    assert rated.total == sum((Decimal(g.total) for g in generated), Decimal(0))
    totals = pl.read_parquet(tmp_path / "out" / "totals" / "*.parquet")
    assert dict(totals.select("billing_account", "total").iter_rows()) == {
        g.account: g.total for g in generated
    }


def test_the_export_command_replaces_the_month_and_prints_a_summary(
    db: Database, db_url: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_month(db, settings)
    monkeypatch.setenv("RATECARD_DATABASE_URL", db_url)
    runner = CliRunner()
    root = tmp_path / "export"
    export = ["export", "events", "--month", "2026-07", "--to", str(root)]
    first = runner.invoke(app, export)
    assert first.exit_code == 0, first.output
    found = re.fullmatch(
        r"exported 62 events of 2026-07 \(2 billing accounts\) to (\S+): (\d+) files, "
        r"(\d+) bytes\n",
        first.stdout,
    )
    assert found is not None, first.stdout
    assert found[1] == str(root / "month=2026-07")
    again = runner.invoke(app, [*export, "--buckets", "1", "--format", "json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["events"], summary["files"]) == (62, 1)  # one bucket, one read
    assert [p.name for p in (root / "month=2026-07").iterdir()] == ["bucket=00"]
    assert [p.name for p in root.iterdir()] == ["month=2026-07"]  # no staging left behind
    rate = ["rate", "--events", str(root), "--catalog", "us", "--month", "2026-07"]
    rated = runner.invoke(app, [*rate, "--out", str(tmp_path / "rated"), "--format", "json"])
    assert rated.exit_code == 0, rated.output
    generated = invoices.generate(db, JULY, settings)
    assert json.loads(rated.stdout)["total"] == str(sum(Decimal(g.total) for g in generated))


def test_a_bucket_count_out_of_range_is_refused_naming_the_option(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="--buckets must be between 1 and 4096, got 0"):
        export_events(db, settings, JULY, tmp_path, buckets=0)
