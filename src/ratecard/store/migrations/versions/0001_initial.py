"""initial schema: accounts, resources, events, invoices

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 00:22:38.113906
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ratecard.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("parent_sid", sa.String(length=34), nullable=True),
        sa.Column("created", sa.Date(), nullable=False),
        sa.Column("created_with_flex", sa.Boolean(), nullable=False),
        sa.Column("auth_token_hash", sa.String(length=256), nullable=False),
        sa.Column("recorded_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_sid"], ["accounts.sid"], name=op.f("fk_accounts_parent_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_parent_sid"), ["parent_sid"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("time", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("stored_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_events_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("account_sid", "event_id", name=op.f("uq_events_account_sid_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_account_sid_time"), ["account_sid", "time"], unique=False
        )

    op.create_table(
        "flex_instances",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("created", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_flex_instances_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_flex_instances")),
    )
    with op.batch_alter_table("flex_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flex_instances_account_sid"), ["account_sid"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("generated_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", ratecard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_invoices_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "uq_invoices_open_month",
            ["account_sid", "month"],
            unique=True,
            sqlite_where=sa.text("status <> 'void'"),
            postgresql_where=sa.text("status <> 'void'"),
        )

    op.create_table(
        "phone_numbers",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("number_type", sa.String(length=16), nullable=False),
        sa.Column("voice_target_kind", sa.String(length=16), nullable=True),
        sa.Column("voice_target", sa.String(length=1024), nullable=True),
        sa.Column("sms_target_kind", sa.String(length=16), nullable=True),
        sa.Column("sms_target", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_phone_numbers_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint(
            "account_sid", "number", name=op.f("uq_phone_numbers_account_sid_number")
        ),
    )
    op.create_table(
        "studio_flows",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_studio_flows_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_studio_flows")),
    )
    with op.batch_alter_table("studio_flows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_studio_flows_account_sid"), ["account_sid"], unique=False
        )

    op.create_table(
        "taskrouter_workspaces",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("flex", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"],
            ["accounts.sid"],
            name=op.f("fk_taskrouter_workspaces_account_sid_accounts"),
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_taskrouter_workspaces")),
    )
    with op.batch_alter_table("taskrouter_workspaces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taskrouter_workspaces_account_sid"), ["account_sid"], unique=False
        )

    op.create_table(
        "twiml_apps",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("voice_url", sa.String(length=1024), nullable=True),
        sa.Column("sms_url", sa.String(length=1024), nullable=True),
        sa.Column("flex_integrated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_sid"], ["accounts.sid"], name=op.f("fk_twiml_apps_account_sid_accounts")
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_twiml_apps")),
    )
    with op.batch_alter_table("twiml_apps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_twiml_apps_account_sid"), ["account_sid"], unique=False
        )

    op.create_table(
        "flex_plan_periods",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_sid", sa.String(length=34), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_sid"],
            ["flex_instances.sid"],
            name=op.f("fk_flex_plan_periods_instance_sid_flex_instances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flex_plan_periods")),
        sa.UniqueConstraint(
            "instance_sid",
            "effective_from",
            name=op.f("uq_flex_plan_periods_instance_sid_effective_from"),
        ),
    )
    op.create_table(
        "invoice_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account_sid", sa.String(length=34), nullable=True),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pool", sa.String(length=128), nullable=True),
        sa.Column("tier", sa.String(length=128), nullable=True),
        sa.Column("quantity", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("unit_price", ratecard.store.types.ExactDecimal(), nullable=True),
        sa.Column("precise_amount", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("amount", ratecard.store.types.ExactDecimal(), nullable=False),
        sa.Column("original_month", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "taskrouter_queues",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("workspace_sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_sid"],
            ["taskrouter_workspaces.sid"],
            name=op.f("fk_taskrouter_queues_workspace_sid_taskrouter_workspaces"),
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_taskrouter_queues")),
    )
    with op.batch_alter_table("taskrouter_queues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taskrouter_queues_workspace_sid"), ["workspace_sid"], unique=False
        )

    op.create_table(
        "taskrouter_workflows",
        sa.Column("sid", sa.String(length=34), nullable=False),
        sa.Column("workspace_sid", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("configuration", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_sid"],
            ["taskrouter_workspaces.sid"],
            name=op.f("fk_taskrouter_workflows_workspace_sid_taskrouter_workspaces"),
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_taskrouter_workflows")),
    )
    with op.batch_alter_table("taskrouter_workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taskrouter_workflows_workspace_sid"), ["workspace_sid"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("taskrouter_workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taskrouter_workflows_workspace_sid"))

    op.drop_table("taskrouter_workflows")
    with op.batch_alter_table("taskrouter_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taskrouter_queues_workspace_sid"))

    op.drop_table("taskrouter_queues")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    op.drop_table("flex_plan_periods")
    with op.batch_alter_table("twiml_apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_twiml_apps_account_sid"))

    op.drop_table("twiml_apps")
    with op.batch_alter_table("taskrouter_workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taskrouter_workspaces_account_sid"))

    op.drop_table("taskrouter_workspaces")
    with op.batch_alter_table("studio_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_studio_flows_account_sid"))

    op.drop_table("studio_flows")
    op.drop_table("phone_numbers")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoices_open_month",
            sqlite_where=sa.text("status <> 'void'"),
            postgresql_where=sa.text("status <> 'void'"),
        )

    op.drop_table("invoices")
    with op.batch_alter_table("flex_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flex_instances_account_sid"))

    op.drop_table("flex_instances")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_account_sid_time"))

    op.drop_table("events")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_parent_sid"))

    op.drop_table("accounts")
