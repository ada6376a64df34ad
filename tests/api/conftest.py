"""One real ratecard server per test session: uvicorn on a free loopback port, in a thread.

The store is a SQLite file seeded with the demo tenant (a parent, two subaccounts and a month
of usage up to a fixed "now"), a second tenant to try isolation with, a Flex tenant and a
support user. The clock is fixed so month-relative ranges (ThisMonth, LastMonth) are stable.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from ratecard.api import create_app
from ratecard.service.accounts import create_account
from ratecard.service.demo import ensure_demo
from ratecard.service.settings import Settings
from ratecard.service.support import add_support_user
from ratecard.store.database import Database

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Server:
    url: str
    db: Database
    settings: Settings
    parent: tuple[str, str]
    support_sub: tuple[str, str]
    marketing: tuple[str, str]
    other: tuple[str, str]
    flex: tuple[str, str]
    support_user: tuple[str, str]

    def client(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields its URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path: Path = tmp_path_factory.mktemp("api") / "api.db"
    # the isolation tests try many bad credentials from this one address: the throttle, tested
    # on a server of its own (test_api_throttle), must not answer them 429 here
    settings = Settings(
        database_url=f"sqlite:///{path}",
        auth_failures_per_sid=100_000,
        auth_failures_per_client=100_000,
    )
    db = Database(settings.database_url)
    db.upgrade()
    parent, support_sub, marketing = ensure_demo(db, settings, NOW)
    other, other_token = create_account(db, "Other Tenant", None, date(2026, 1, 1))
    flex, flex_token = create_account(db, "Flex Co", None, date(2025, 1, 1), True)
    support_token = add_support_user(db, "ana")
    app = create_app(settings, clock=lambda: NOW)
    with running(app) as url:
        yield Server(
            url=url,
            db=db,
            settings=settings,
            parent=(parent.sid, parent.token),
            support_sub=(support_sub.sid, support_sub.token),
            marketing=(marketing.sid, marketing.token),
            other=(other.sid, other_token),
            flex=(flex.sid, flex_token),
            support_user=("ana", support_token),
        )
    db.dispose()
