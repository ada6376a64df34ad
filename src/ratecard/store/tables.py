"""The stored rows (SQLAlchemy 2 declarative). Only repositories and migrations use them.

Money and quantities are :class:`~ratecard.store.types.ExactDecimal`; times are
:class:`~ratecard.store.types.UTCDateTime`. A schema change is a new Alembic migration in
``store/migrations/versions`` (a test checks that the migrations build exactly these tables).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ratecard.store.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: An auto-incrementing 64-bit key on PostgreSQL; SQLite needs INTEGER to alias the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Sid = String(34)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccountRow(Base):
    __tablename__ = "accounts"

    sid: Mapped[str] = mapped_column(Sid, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    parent_sid: Mapped[str | None] = mapped_column(ForeignKey("accounts.sid"), index=True)
    created: Mapped[date] = mapped_column(Date)
    created_with_flex: Mapped[bool] = mapped_column(Boolean)
    auth_token_hash: Mapped[str] = mapped_column(String(256))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventRow(Base):
    """One usage event: its canonical JSON plus the columns it is looked up by.

    ``seq`` is the ingestion sequence: invoices record the highest one they include, so an
    event stored after a month was finalized is found as late. ``account_sid`` names a stored
    account (checked by ingestion, not by a foreign key).

    The rating columns (migration 0006) are the body's metering as
    :func:`ratecard.usage.metering.metering` gives it, written with the body so the month close
    reads columns, never JSON: ``category``, ``quantity`` (exact, in the type's measure:
    seconds for a call), ``country`` and ``amount`` (a usage record's money amount); all null
    for a type not metered one event at a time.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("account_sid", "event_id"),
        Index(None, "account_sid", "time"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # no foreign key (migration 0003): ingestion checks each batch's accounts itself, and
    # accounts are never deleted; the per-row key check cost a quarter of an insert's time
    account_sid: Mapped[str] = mapped_column(Sid)
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str | None] = mapped_column(String(256))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    country: Mapped[str | None] = mapped_column(String(2))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class InvoiceRow(Base):
    """An invoice: its JSON document exactly as produced, and its lifecycle.

    ``document`` never changes once ``status`` is ``finalized``. ``through_seq`` is the highest
    event ``seq`` the document includes; ``basis`` lists the finalized invoices (ids) whose
    adjustments it took into account, so a stale draft cannot be finalized. ``coverage`` says
    which stored events it bills, per month (:mod:`ratecard.billing.coverage`, as JSON).
    """

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_open_month",
            "account_sid",
            "month",
            unique=True,
            sqlite_where=text("status <> 'void'"),
            postgresql_where=text("status <> 'void'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"))
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    document: Mapped[str] = mapped_column(Text)
    through_seq: Mapped[int] = mapped_column(BigInteger)
    basis: Mapped[str] = mapped_column(Text)
    coverage: Mapped[str] = mapped_column(Text, server_default="{}")
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InvoiceLineRow(Base):
    """One line of an invoice (``account_sid`` set: a line of that subaccount's breakdown).

    Money in the invoice currency: ``precise_amount`` exact, ``amount`` rounded half-up to
    the minor unit once.
    """

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    account_sid: Mapped[str | None] = mapped_column(Sid)
    category: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    pool: Mapped[str | None] = mapped_column(String(128))
    tier: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    precise_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    original_month: Mapped[str | None] = mapped_column(String(7))


# Resources of SPEC sections 2 and 5, kept for the Flex and deflexification features.


class FlexInstanceRow(Base):
    __tablename__ = "flex_instances"

    sid: Mapped[str] = mapped_column(Sid, primary_key=True)
    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"), index=True)
    created: Mapped[date] = mapped_column(Date)


class FlexPlanPeriodRow(Base):
    """A Flex instance's plan from ``effective_from`` until the next period of the instance."""

    __tablename__ = "flex_plan_periods"
    __table_args__ = (UniqueConstraint("instance_sid", "effective_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_sid: Mapped[str] = mapped_column(ForeignKey("flex_instances.sid"))
    plan: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[date] = mapped_column(Date)


class AccountResourcesRow(Base):
    """An account's resources (SPEC section 5) as last imported, in the vendor's REST shapes.

    One validated JSON document per account (Studio flows with their definitions, TaskRouter
    workspaces with queues and workflows, TwiML apps, workers, phone numbers): the checklist
    reads it whole, and importing again replaces it whole.
    """

    __tablename__ = "account_resources"

    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupportUserRow(Base):
    """A support user: may process deflexification requests; the token is stored hashed."""

    __tablename__ = "support_users"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeflexRequestRow(Base):
    """A deflexification request: its state, and its whole record (audit trail, checklist,
    accepted acknowledgment) as JSON. ``effective`` is set once processed."""

    __tablename__ = "deflex_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str] = mapped_column(String(16))
    effective: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageTriggerRow(Base):
    """A vendor-compatible usage trigger (``UT`` + 32 hex). ``trigger_value`` is absolute (a
    relative ``+N`` was resolved at creation); ``recurring`` is "" for a trigger that fires
    once ever."""

    __tablename__ = "usage_triggers"

    sid: Mapped[str] = mapped_column(Sid, primary_key=True)
    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"), index=True)
    friendly_name: Mapped[str] = mapped_column(String(256))
    callback_url: Mapped[str] = mapped_column(Text)
    callback_method: Mapped[str] = mapped_column(String(8))
    usage_category: Mapped[str] = mapped_column(String(128))
    trigger_by: Mapped[str] = mapped_column(String(8))
    trigger_value: Mapped[Decimal] = mapped_column(ExactDecimal)
    recurring: Mapped[str] = mapped_column(String(8))
    date_created: Mapped[datetime] = mapped_column(UTCDateTime)
    date_updated: Mapped[datetime] = mapped_column(UTCDateTime)
    date_fired: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TriggerFiringRow(Base):
    """One firing of a trigger: at most one per trigger per period (the unique constraint
    decides, so concurrent evaluations fire once)."""

    __tablename__ = "usage_trigger_firings"
    __table_args__ = (UniqueConstraint("trigger_sid", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trigger_sid: Mapped[str] = mapped_column(ForeignKey("usage_triggers.sid"))
    period: Mapped[str] = mapped_column(String(16))
    current_value: Mapped[Decimal] = mapped_column(ExactDecimal)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookOutboxRow(Base):
    """A webhook to deliver, written in the firing's transaction (the durable outbox).

    ``status``: pending, delivered or failed (attempts exhausted). A worker claims a due row
    by moving ``next_attempt_at`` forward (a lease) in one conditional UPDATE."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    firing_id: Mapped[int] = mapped_column(ForeignKey("usage_trigger_firings.id"), unique=True)
    trigger_sid: Mapped[str] = mapped_column(ForeignKey("usage_triggers.sid"), index=True)
    account_sid: Mapped[str] = mapped_column(Sid)
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8))
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookAttemptRow(Base):
    """The delivery log: one row per attempt (HTTP status, or the error)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("webhook_outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class WebhookKeyRow(Base):
    """An account's webhook signing key (auth tokens are stored hashed, so webhooks are
    signed with this key instead; stored as is: it signs, it does not authenticate)."""

    __tablename__ = "webhook_keys"

    account_sid: Mapped[str] = mapped_column(ForeignKey("accounts.sid"), primary_key=True)
    signing_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
