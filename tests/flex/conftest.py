"""A SQLite store holding an example book, for the advisor and refusals through the service,
the CLI and the API (the pure tests use the books directly)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ratecard import load_book
from ratecard.api import create_app
from ratecard.service import flex as flex_service
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Store:
    db: Database
    settings: Settings
    tokens: dict[str, str]  # account sid -> auth token


def call_api(
    store: Store, method: str, path: str, who: str, now: datetime, body: Any = None
) -> httpx.Response:
    """One request to the API app in process, as account ``who``, its clock fixed at ``now``."""

    async def send() -> httpx.Response:
        api = create_app(store.settings, clock=lambda: now)
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://ratecard") as client:
            return await client.request(method, path, json=body, auth=(who, store.tokens[who]))

    return asyncio.run(send())


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """An empty SQLite store, also the CLI's (``RATECARD_DATABASE_URL``)."""
    url = f"sqlite:///{tmp_path / 'flex.db'}"
    monkeypatch.setenv("RATECARD_DATABASE_URL", url)
    db = Database(url)
    db.upgrade()
    return Store(db, Settings(database_url=url), {})


@pytest.fixture
def stored_book(store: Store) -> Callable[[str], Store]:
    """Store an example book: accounts under their sids, Flex history through the service
    (each change on its own effective day) and events."""

    def load(book: str) -> Store:
        loaded = load_book(EXAMPLES / book / "book.toml")
        for account in sorted(loaded.accounts, key=lambda a: a.parent is not None):
            _, token = create_account(
                store.db,
                account.name,
                account.parent,
                account.created,
                account.created_with_flex,
                sid=account.sid,
            )
            store.tokens[account.sid] = token
        for sid, instance in loaded.flex.items():
            for index, period in enumerate(p for p in instance.periods if p.plan is not None):
                day: date = period.start.date()
                action = "enable" if index == 0 else "switch"
                flex_service.change_plan(
                    store.db, sid, action, period.plan, day, day, settings=store.settings
                )
        path = EXAMPLES / book / "events.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        ingest_batch(store.db, events, store.settings)
        return store

    return load
