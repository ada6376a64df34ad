"""invoices.coverage: which stored events each invoice bills

An invoice now records, per month it bills (its own and each month it carries adjustment lines
for), the ranges of event sequence numbers it bills (:mod:`ratecard.billing.coverage`), so a
voided and regenerated month never bills an event a later invoice already adjusted, and an
adjustment prices only the events no finalized invoice billed.

Existing invoices get the coverage they had: their own month up to their high-water mark, and
for each month they adjusted, what was stored after the invoices of their basis that billed
that month.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.Text(), nullable=False, server_default="{}"))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, month, through_seq, basis FROM invoices ORDER BY id")
    ).all()
    adjusted: dict[int, set[str]] = {}
    for invoice_id, month in connection.execute(
        sa.text(
            "SELECT invoice_id, original_month FROM invoice_lines WHERE original_month IS NOT NULL"
        )
    ):
        adjusted.setdefault(invoice_id, set()).add(month)
    through = {row.id: row.through_seq for row in rows}
    months = {row.id: {row.month, *adjusted.get(row.id, ())} for row in rows}
    for row in rows:
        coverage = {row.month: [[0, row.through_seq]]}
        basis = [int(part) for part in row.basis.split(",") if part]
        for month in sorted(adjusted.get(row.id, ())):
            before = [through[b] for b in basis if b in through and month in months[b]]
            coverage[month] = [[max(before, default=0), row.through_seq]]
        connection.execute(
            sa.text("UPDATE invoices SET coverage = :coverage WHERE id = :id"),
            {"coverage": json.dumps(coverage, separators=(",", ":")), "id": row.id},
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("coverage")
