"""the rating columns of each event beside its body, backfilled

``events`` gains ``category``, ``quantity``, ``country`` and ``amount``: the event's metering
(:func:`ratecard.usage.metering.metering`), written with the body from now on, so the month
close reads columns and decodes no JSON. Every stored event of a metered type is backfilled
here from its body, by the same table, in ``seq`` order and batches.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

import ratecard.store.types
from ratecard.usage.metering import METERS, Metering, metering

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

#: Events read, metered and written back per batch.
BATCH = 20_000
_COLUMNS = ("category", "quantity", "country", "amount")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=256), nullable=True))
        batch_op.add_column(
            sa.Column("quantity", ratecard.store.types.ExactDecimal(), nullable=True)
        )
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("amount", ratecard.store.types.ExactDecimal(), nullable=True))
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)


class _Body:
    """A stored body's fields as attributes, the way the meters read an event (a field the
    canonical JSON leaves out reads as None)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __getattr__(self, name: str) -> Any:
        return self._fields.get(name)


def _batches(bind: sa.Connection) -> Iterator[list[tuple[int, Metering]]]:
    """The metering of every stored event of a metered type, ``BATCH`` events at a time."""
    types = sorted(METERS)
    query = sa.text(
        "SELECT seq, body FROM events WHERE seq > :after AND type IN :types "
        "ORDER BY seq LIMIT :limit"
    ).bindparams(sa.bindparam("types", expanding=True))
    after = 0
    while True:
        rows = bind.execute(query, {"after": after, "types": types, "limit": BATCH}).all()
        if not rows:
            return
        yield [(int(seq), metering(_Body(json.loads(body)))) for seq, body in rows]
        after = int(rows[-1][0])


def backfill(bind: sa.Connection) -> None:
    """Write the rating columns of the stored events (PostgreSQL: each batch copied into a
    temporary table and applied by one UPDATE; SQLite: one UPDATE per event, executemany)."""
    if bind.dialect.name == "postgresql":
        _backfill_postgresql(bind)
        return
    update = sa.text(
        "UPDATE events SET category = :category, quantity = :quantity, country = :country, "
        "amount = :amount WHERE seq = :seq"
    )
    for batch in _batches(bind):
        bind.execute(
            update,
            [
                {
                    "seq": seq,
                    "category": m.category,
                    "quantity": _text(m.quantity),
                    "country": m.country,
                    "amount": _text(m.amount),
                }
                for seq, m in batch
            ],
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _backfill_postgresql(bind: sa.Connection) -> None:
    connection = bind.connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE ratecard_metering (seq bigint PRIMARY KEY, category text, "
            "quantity numeric, country text, amount numeric) ON COMMIT DROP"
        )
    for batch in _batches(bind):
        with connection.cursor() as cursor:
            with cursor.copy("COPY ratecard_metering FROM STDIN") as copy:
                for seq, m in batch:
                    copy.write_row((seq, *m))
            cursor.execute(
                "UPDATE events e SET category = m.category, quantity = m.quantity, "
                "country = m.country, amount = m.amount FROM ratecard_metering m "
                "WHERE e.seq = m.seq"
            )
            cursor.execute("TRUNCATE ratecard_metering")
