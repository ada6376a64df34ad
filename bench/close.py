"""``python -m bench close``: month close from a store loaded with generated events.

The store is set up in a child process (so the measured peak RSS is the close's): a fresh
SQLite file under bench/data, or a fresh PostgreSQL database ``ratecard_bench_<hex>`` on
127.0.0.1:5432 (dropped afterwards), with the schema of the migrations, ``--accounts``
accounts (every 4th a subaccount of the one before) and ``--events`` generated events
(:mod:`bench.generate`, July 2026) as canonical JSON bodies with their rating columns
(as ingestion stores them, migration 0006), bulk loaded: PostgreSQL ``COPY``
through psycopg 3, SQLite ``executemany`` in 100k-row transactions. Only the close is timed:
generating (and storing) every billing account's draft invoice, by the fast path
(:mod:`ratecard.service.close`, default) or the existing one (``--path existing``).
"""

from __future__ import annotations

import io
import json
import secrets
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import create_engine

from bench.generate import account_ids, generate
from ratecard.money import D
from ratecard.periods import Month
from ratecard.store.database import Database
from ratecard.store.repositories import EVENT_COLUMNS
from ratecard.usage.events import event_fingerprint, parse_event
from ratecard.usage.metering import metering

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
JULY = Month(2026, 7)

#: category -> (event type, direction, number type or channel)
KINDS: dict[str, tuple[str, str, str]] = {
    "calls-inbound-local": ("call", "inbound", "local"),
    "calls-outbound": ("call", "outbound", "local"),
    "calls-inbound-tollfree": ("call", "inbound", "tollfree"),
    "calls-inbound-mobile": ("call", "inbound", "mobile"),
    "sms-outbound": ("message", "outbound", "longcode"),
    "sms-inbound": ("message", "inbound", "longcode"),
    "sms-outbound-tollfree": ("message", "outbound", "tollfree"),
    "phonenumbers-local": ("usage", "", ""),
    "phonenumbers-tollfree": ("usage", "", ""),
    "recordings": ("usage", "", ""),
    "taskrouter-tasks": ("taskrouter_task", "", ""),
    "studio-engagements": ("studio_engagement", "", ""),
}


def event_rows(events: int, accounts: int, seed: int) -> pl.DataFrame:
    """Generated usage as store rows: account_sid, event_id, type, time (micros), body and
    the rating columns (category, quantity as decimal text, country, amount).

    Bodies are the canonical JSON the ingest path stores and the rating columns are its
    metering (both checked on a sample): calls of ``units`` minutes last ``units x 60 - k``
    seconds (k < 60), so they bill ``units``.
    """
    frame = generate(events, seed, accounts=accounts).with_row_index("n")
    kinds = pl.DataFrame(
        {
            "category": list(KINDS),
            "type": [k[0] for k in KINDS.values()],
            "direction": [k[1] for k in KINDS.values()],
            "sort": [k[2] for k in KINDS.values()],
        }
    )
    frame = frame.join(kinds, on="category", how="left")
    units = (pl.col("quantity") // 1_000_000).cast(pl.String)
    moment = pl.from_epoch(pl.col("time"), time_unit="us").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    quote = '"'
    head = pl.concat_str(
        pl.lit('{"id":"'),
        pl.col("event_id"),
        pl.lit('","account":"'),
        pl.col("account"),
        pl.lit('","time":"'),
        moment,
        pl.lit(quote),
    )
    country = pl.concat_str(pl.lit(',"country":"'), pl.col("country"), pl.lit(quote))
    seconds = (pl.col("quantity") // 1_000_000 * 60 - pl.col("n") % 60).cast(pl.String)
    call = pl.concat_str(
        head,
        country,
        pl.lit(',"type":"call","call_id":"CA'),
        pl.col("event_id"),
        pl.lit('","direction":"'),
        pl.col("direction"),
        pl.lit('","number_type":"'),
        pl.col("sort"),
        pl.lit('","duration_seconds":'),
        seconds,
        pl.lit("}"),
    )
    message = pl.concat_str(
        head,
        country,
        pl.lit(',"type":"message","direction":"'),
        pl.col("direction"),
        pl.lit('","channel":"'),
        pl.col("sort"),
        pl.lit('","segments":'),
        units,
        pl.lit("}"),
    )
    task = pl.concat_str(
        head, pl.lit(',"type":"taskrouter_task","task":"WT'), pl.col("event_id"), pl.lit('"}')
    )
    studio = pl.concat_str(
        head,
        pl.lit(',"type":"studio_engagement","flow":"FW1","engagement":"'),
        pl.col("event_id"),
        pl.lit('"}'),
    )
    usage = pl.concat_str(
        head,
        pl.lit(',"type":"usage","category":"'),
        pl.col("category"),
        pl.lit('","quantity":"'),
        units,
        pl.lit('","amount":null'),
        country,
        pl.lit("}"),
    )
    kind = pl.col("type")
    body = (
        pl.when(kind == "call")
        .then(call)
        .when(kind == "message")
        .then(message)
        .when(kind == "taskrouter_task")
        .then(task)
        .when(kind == "studio_engagement")
        .then(studio)
        .otherwise(usage)
    )
    # the rating columns ingestion stores beside the body (ratecard.usage.metering)
    measure = (
        pl.when(kind == "call")
        .then(seconds)
        .when(kind.is_in(["taskrouter_task", "studio_engagement"]))
        .then(pl.lit("1"))
        .otherwise(units)
    )
    located = pl.when(~kind.is_in(["taskrouter_task", "studio_engagement"])).then("country")
    rows = frame.select(
        pl.col("account").alias("account_sid"),
        "event_id",
        "type",
        "time",
        body.alias("body"),
        "category",
        measure.alias("quantity"),
        located.alias("country"),
        pl.lit(None, dtype=pl.String).alias("amount"),
    )
    for row in rows.gather_every(max(1, rows.height // 500)).iter_rows(named=True):
        event = parse_event(json.loads(row["body"]))
        assert event_fingerprint(event) == row["body"], row["body"]
        stored = (row["category"], D(row["quantity"]), row["country"], None)
        assert tuple(metering(event)) == stored, row
    return rows


def account_rows(accounts: int) -> list[tuple[Any, ...]]:
    sids, owners = account_ids(accounts)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [
        (sid, f"Account {i}", None if owner == sid else owner, "2025-01-01", False, "-", now)
        for i, (sid, owner) in enumerate(zip(sids, owners, strict=True))
    ]


def setup(backend: str, events: int, accounts: int, seed: int, data: Path) -> str:
    """Create and load a store; return its URL (run in a child process)."""
    rows = event_rows(events, accounts, seed)
    if backend == "postgresql":
        name = f"ratecard_bench_{secrets.token_hex(6)}"
        admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = f"{PG_SERVER}/{name}"
        Database(url).upgrade()
        _load_postgresql(url, rows, accounts)
        return url
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"close-{events}-{accounts}-{secrets.token_hex(4)}.db"
    url = f"sqlite:///{path}"
    Database(url).upgrade()
    _load_sqlite(path, rows, accounts)
    return url


def _load_postgresql(url: str, rows: pl.DataFrame, accounts: int) -> None:
    import psycopg

    stored = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    table = rows.with_columns(
        time=pl.from_epoch(pl.col("time"), time_unit="us").dt.strftime("%Y-%m-%d %H:%M:%S+00"),
        stored_at=pl.lit(stored),
    )
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        with connection.cursor() as cursor:
            columns = "sid, name, parent_sid, created, created_with_flex, auth_token_hash"
            with cursor.copy(f"COPY accounts ({columns}, recorded_at) FROM STDIN") as copy:
                for row in account_rows(accounts):
                    copy.write_row(row)
            # Secondary indexes are dropped for the load and built after it (a B-tree fed
            # random keys row by row is the slow part of a bulk load), then put back as
            # the migrations define them.
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'events'::regclass AND contype = 'u'"
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'events'::regclass)"
            )
            indexes = cursor.fetchall()
            for name, _ in constraints:
                cursor.execute(f'ALTER TABLE events DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            columns = f"{EVENT_COLUMNS}, stored_at"
            with cursor.copy(f"COPY events ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for start in range(0, table.height, 500_000):
                    buffer = io.BytesIO()
                    table.slice(start, 500_000).write_csv(buffer, include_header=False)
                    copy.write(buffer.getvalue())
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE events ADD CONSTRAINT "{name}" {definition}')
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute("ANALYZE")
        connection.commit()


def _load_sqlite(path: Path, rows: pl.DataFrame, accounts: int) -> None:
    stored = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    table = rows.with_columns(
        time=pl.from_epoch(pl.col("time"), time_unit="us").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
        stored_at=pl.lit(stored),
    )
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    columns = "sid, name, parent_sid, created, created_with_flex, auth_token_hash, recorded_at"
    connection.executemany(
        f"INSERT INTO accounts ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", account_rows(accounts)
    )
    insert = f"INSERT INTO events ({EVENT_COLUMNS}, stored_at) VALUES ({', '.join('?' * 10)})"
    for start in range(0, table.height, 100_000):
        connection.executemany(insert, table.slice(start, 100_000).iter_rows())
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


def drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def prepared(backend: str, events: int, accounts: int, seed: int, here: Path) -> tuple[str, float]:
    """Set the store up in a child process; return its URL and the set-up seconds."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "bench", "close-setup", "--backend", backend]
    command += ["--events", str(events), "--accounts", str(accounts), "--seed", str(seed)]
    done = subprocess.run(command, check=True, cwd=here.parent, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1], time.perf_counter() - started
