"""events without the foreign key to accounts (ingestion throughput)

The key fired a trigger per inserted event (a lookup of the account that also locks its row
FOR KEY SHARE, so concurrent batches of one account contend on it): about a quarter of the
database's time per ingested batch. It guarded nothing the code does not already guarantee:
every insert into ``events`` goes through ``service.ingest.store_new``, which reads the
batch's accounts in the same transaction and refuses an event of an account that does not
exist, and accounts are never deleted, so an account once read stays. The other tables keep
their keys (they are written rarely).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:40:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_events_account_sid_accounts"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_events_account_sid_accounts"), "accounts", ["account_sid"], ["sid"]
        )
