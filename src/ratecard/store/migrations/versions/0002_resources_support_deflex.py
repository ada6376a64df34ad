"""resources as documents, support users, deflexification requests

The per-kind resource tables of 0001 never held data: resources are imported whole, in the
vendor's REST shapes, and read whole by the pre-removal checklist, so they become one
document per account.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ratecard.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = (
    "taskrouter_workflows",
    "taskrouter_queues",
    "twiml_apps",
    "taskrouter_workspaces",
    "studio_flows",
    "phone_numbers",
)


def upgrade() -> None:
    for table in _OLD:
        op.drop_table(table)
    op.create_table(
        "account_resources",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("imported_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"],
            ["accounts.sid"],
            name=op.f("fk_account_resources_account_sid_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_sid", name=op.f("pk_account_resources")),
    )
    op.create_table(
        "support_users",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_support_users")),
    )
    op.create_table(
        "deflex_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("effective", ratecard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_deflex_requests_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deflex_requests")),
    )
    with op.batch_alter_table("deflex_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deflex_requests_account_sid"), ["account_sid"], unique=False
        )


def downgrade() -> None:
    op.drop_table("deflex_requests")
    op.drop_table("support_users")
    op.drop_table("account_resources")
