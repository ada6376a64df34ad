"""Storage fixtures: every storage test runs on SQLite and on the local PostgreSQL.

PostgreSQL is required: when it cannot be reached the tests ERROR (never skip). Each test
session creates its own database ``ratecard_test_<hex>`` through the ``postgres`` maintenance
database and drops it at the end, so concurrent test runs never collide. The fixtures
``store_book_accounts`` and ``account`` (tests/conftest.py) work on these ``db`` as on the
in-memory store of tests/service.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.tables import Base

PG_SERVER = os.environ.get("RATECARD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"ratecard_test_{secrets.token_hex(6)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # raises (test error) when PostgreSQL is down
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate(database: Database) -> None:
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with the newest schema and no rows, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ratecard.db'}"
        Database(url).upgrade()
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    database = Database(url)
    _truncate(database)
    database.dispose()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """PostgreSQL alone (for what only PostgreSQL does), emptied afterwards like ``db``."""
    database = Database(postgres_url)
    yield database
    _truncate(database)
    database.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)
