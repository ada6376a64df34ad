"""Alembic environment: migrations always run on a connection handed over by the caller."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ratecard.store.tables import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # pragma: no cover - plain 'alembic' command line use
    url = config.get_main_option("sqlalchemy.url")
    assert url, "set sqlalchemy.url or hand over a connection"
    with create_engine(url).begin() as conn:
        _run(conn)
