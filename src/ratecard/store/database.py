"""Engines, sessions and the schema: the composition root of the store.

The database URL comes from ``RATECARD_DATABASE_URL``; without it, a SQLite file under the
user's data directory. SQLite runs in WAL mode with a busy timeout, and every transaction
begins IMMEDIATE (takes the write lock at BEGIN), so concurrent writers queue instead of
failing half-way. ``postgresql://`` URLs use psycopg 3.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import platformdirs
import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ratecard.errors import StoreError
from ratecard.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from ratecard.service.ports import Store

URL_VARIABLE = "RATECARD_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


def default_url() -> str:
    """A SQLite file in the user's data directory (created on first use)."""
    return f"sqlite:///{Path(platformdirs.user_data_dir('ratecard')) / 'ratecard.db'}"


def database_url() -> str:
    """The configured database URL: ``RATECARD_DATABASE_URL``, else :func:`default_url`."""
    return os.environ.get(URL_VARIABLE) or default_url()


def _normalized(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``, configured for safe concurrent writing."""
    parsed = make_url(_normalized(url))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


class Database:
    """One database: its engine, session factory and schema management."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work on this database (the services' port
        :class:`ratecard.service.ports.Store`)."""
        return UnitOfWork(self)

    def upgrade(self) -> str:
        """Bring the schema to the newest migration; return its revision."""
        config = _alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot reach the database {self.safe_url}: {exc.orig}") from None
        return self.head()

    def head(self) -> str:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        return head

    def revision(self) -> str | None:
        """The schema revision the database is at (None: no schema yet)."""
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise StoreError(f"cannot reach the database {self.safe_url}: {exc.orig}") from None

    def require_current(self) -> None:
        """Raise StoreError unless the schema is at the newest migration."""
        current = self.revision()
        if current is None:
            raise StoreError(f"the database {self.safe_url} has no schema: run 'ratecard db init'")
        if current != self.head():
            raise StoreError(
                f"the database schema is at {current}, not {self.head()}: run 'ratecard db upgrade'"
            )

    @property
    def safe_url(self) -> str:
        return make_url(_normalized(self.url)).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


if TYPE_CHECKING:  # mypy --strict proves the SQL store implements the services' ports
    _PORT: Store = Database()


#: SQLSTATEs after which the whole transaction may simply run again: serialization failure
#: and deadlock (PostgreSQL rolled the transaction back; nothing of it was applied).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def _retryable(exc: BaseException) -> bool:
    """Whether ``exc`` means "run the transaction again": SQLite's locked database, or a
    PostgreSQL serialization failure or deadlock, raised through SQLAlchemy or straight from
    psycopg (the COPY paths use the driver's cursor)."""
    cause = exc.orig if isinstance(exc, OperationalError) else exc
    if isinstance(exc, OperationalError) and "locked" in str(cause):
        return True
    return isinstance(cause, psycopg.Error) and cause.sqlstate in RETRYABLE_SQLSTATES


def retrying(work: Callable[[], T], attempts: int = 8) -> T:
    """Run ``work`` (one whole transaction), again if SQLite reported a locked database or
    PostgreSQL a serialization failure or deadlock; after ``attempts`` runs the error is
    raised. The pause grows, with jitter so that writers that collided do not meet again."""
    for attempt in range(attempts):
        try:
            return work()
        except (OperationalError, psycopg.Error) as exc:
            if not _retryable(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * 2**attempt * (0.5 + random.random()))  # jitter
    raise AssertionError("unreachable")
