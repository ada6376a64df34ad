"""usage triggers, their firings, the webhook outbox, its delivery log, signing keys

A trigger fires at most once per period (unique trigger + period); the firing and its outbox
row are written in one transaction, and a delivery worker sends the outbox (retries with
backoff, one log row per attempt). Auth tokens are stored hashed, so webhooks are signed with
a per-account signing key (``webhook_keys``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ratecard.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "usage_triggers",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=256), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("callback_method", sa.String(length=8), nullable=False),
        sa.Column("usage_category", sa.String(length=128), nullable=False),
        sa.Column("trigger_by", sa.String(length=8), nullable=False),
        sa.Column("trigger_value", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("recurring", sa.String(length=8), nullable=False),
        sa.Column("date_created", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("date_updated", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("date_fired", ratecard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_usage_triggers_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_usage_triggers")),
    )
    with op.batch_alter_table("usage_triggers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_triggers_account_sid"), ["account_sid"], unique=False
        )
    op.create_table(
        "webhook_keys",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("signing_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_webhook_keys_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("account_sid", name=op.f("pk_webhook_keys")),
    )
    op.create_table(
        "usage_trigger_firings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trigger_sid", sa.String(length=34), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("current_value", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("fired_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trigger_sid"],
            ["usage_triggers.sid"],
            name=op.f("fk_usage_trigger_firings_trigger_sid_usage_triggers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_trigger_firings")),
        sa.UniqueConstraint(
            "trigger_sid", "period", name=op.f("uq_usage_trigger_firings_trigger_sid_period")
        ),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "firing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("trigger_sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["firing_id"],
            ["usage_trigger_firings.id"],
            name=op.f("fk_webhook_outbox_firing_id_usage_trigger_firings"),
        ),
        sa.ForeignKeyConstraint(
            ["trigger_sid"],
            ["usage_triggers.sid"],
            name=op.f("fk_webhook_outbox_trigger_sid_usage_triggers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("firing_id", name=op.f("uq_webhook_outbox_firing_id")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_trigger_sid"), ["trigger_sid"], unique=False
        )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["webhook_outbox.id"],
            name=op.f("fk_webhook_attempts_outbox_id_webhook_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_attempts_outbox_id"), ["outbox_id"], unique=False
        )


def downgrade() -> None:
    for table in (
        "webhook_attempts",
        "webhook_outbox",
        "usage_trigger_firings",
        "webhook_keys",
        "usage_triggers",
    ):
        op.drop_table(table)
