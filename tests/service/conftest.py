"""Service tests on the in-memory store (ratecard.service.memory): no database, fast.

The contract test (tests/storage/test_store_contract.py) runs the same assertions on the
in-memory store, SQLite and PostgreSQL, so what these tests prove of the services holds on
the real stores; tests/storage keeps what only SQL does (the month close's bulk paths, COPY,
locks and concurrency, migrations, triggers).
"""

from __future__ import annotations

import pytest

from ratecard.service.memory import MemoryStore
from ratecard.service.settings import Settings


@pytest.fixture
def db() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def settings() -> Settings:
    # no database URL is read: the services are handed the store (``db``) itself
    return Settings(database_url="memory:")
