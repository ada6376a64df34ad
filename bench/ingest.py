"""Ingestion throughput over the HTTP API into PostgreSQL, with dedupe.

    python -m bench ingest --events 200000 [--workers 2] [--batch 1000] [--clients 4]
        [--duplicates 10] [--format json]

Creates a fresh database ``ratecard_bench_<hex>`` on the local PostgreSQL (dropped at the
end), a few accounts with known tokens, starts ``ratecard serve --workers W`` on a free
loopback port, and has ``--clients`` threads POST batches of ``/v1/events`` (each batch
resends ``--duplicates`` percent of events already sent, which must come back as duplicates).
Prints events/s and checks the database holds exactly the distinct events sent.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from ratecard.service.accounts import create_account
from ratecard.store.database import Database

PG_SERVER = os.environ.get(
    "RATECARD_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432"
)


SERVE = [sys.executable, "-c", "from ratecard.cli.main import app; app()", "serve"]


@dataclass
class IngestResult:
    events: int
    sent: int
    duplicates: int
    seconds: float
    stored_in_db: int

    @property
    def events_per_s(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


@contextmanager
def bench_database() -> Iterator[str]:
    name = f"ratecard_bench_{secrets.token_hex(6)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _event(account: str, n: int) -> dict[str, object]:
    second = n % (30 * 86400)
    return {
        "type": "call",
        "id": f"e{n}",
        "account": account,
        "time": f"2026-07-{1 + second // 86400:02d}T{second % 86400 // 3600:02d}:"
        f"{second % 3600 // 60:02d}:{second % 60:02d}Z",
        "call_id": f"CA{n:032d}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": 30 + n % 600,
    }


def run_ingest(
    events: int, workers: int = 2, batch: int = 1000, clients: int = 4, duplicates: int = 10
) -> IngestResult:
    with bench_database() as url:
        db = Database(url)
        db.upgrade()
        accounts = []
        for i in range(8):
            account, token = create_account(db, f"Bench {i}")
            accounts.append((account.sid, token))
        db.dispose()
        port = _free_port()
        env = {**os.environ, "RATECARD_DATABASE_URL": url}
        server = subprocess.Popen(
            [*SERVE, "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            result = _drive(base, accounts, events, batch, clients, duplicates)
        finally:
            server.terminate()
            server.wait(timeout=30)
        engine = create_engine(url)
        with engine.connect() as connection:
            result.stored_in_db = int(
                connection.execute(text("SELECT count(*) FROM events")).scalar_one()
            )
        engine.dispose()
        return result


def _wait(base: str) -> None:
    for _ in range(200):
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _drive(
    base: str,
    accounts: list[tuple[str, str]],
    events: int,
    batch: int,
    clients: int,
    duplicates: int,
) -> IngestResult:
    per_client = events // clients
    lock = threading.Lock()
    totals = {"sent": 0, "duplicates": 0}
    errors: list[str] = []

    def bodies(index: int) -> list[tuple[str, int]]:
        """The client's request bodies and event counts, built before the clock starts (the
        benchmark times the server, not the load generator's JSON encoding)."""
        sid = accounts[index % len(accounts)][0]
        first = index * per_client
        result = []
        for start in range(first, first + per_client, batch):
            stop = min(start + batch, first + per_client)
            fresh = [_event(sid, n) for n in range(start, stop)]
            # resend the tail of the previous batch: it must come back as duplicates
            repeat = len(fresh) * duplicates // 100 if start > first else 0
            resend = [_event(sid, n) for n in range(start - repeat, start)]
            result.append((json.dumps({"events": fresh + resend}), len(fresh) + len(resend)))
        return result

    prepared = [bodies(i) for i in range(clients)]
    # each client's connection, opened and authenticated once before the clock starts: the
    # server verifies a token (scrypt, deliberately slow) once per worker and caches it, a
    # one-off cost that is not ingestion throughput
    https = []
    for index in range(clients):
        sid, token = accounts[index % len(accounts)]
        http = httpx.Client(base_url=base, auth=(sid, token), timeout=120)
        http.get(f"/v1/accounts/{sid}").raise_for_status()
        https.append(http)

    def client(index: int) -> None:
        http = https[index]
        for body, count in prepared[index]:
            answer = http.post(
                "/v1/events", content=body, headers={"Content-Type": "application/json"}
            )
            if answer.status_code != 200:
                errors.append(answer.text[:200])
                return
            counts = answer.json()
            with lock:
                totals["sent"] += count
                totals["duplicates"] += int(counts["duplicates"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for http in https:
        http.close()
    if errors:
        raise RuntimeError(f"ingestion failed: {errors[0]}")
    return IngestResult(per_client * clients, totals["sent"], totals["duplicates"], seconds, 0)
