"""The migrations build exactly the tables the code declares; decimals and times round-trip."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from ratecard.store.database import Database
from ratecard.store.tables import Base, InvoiceLineRow, InvoiceRow


def test_migrations_match_the_declared_tables(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent_and_reports_the_head(db: Database) -> None:
    assert db.upgrade() == db.head()
    db.require_current()


def _invoice(session_total: Decimal) -> InvoiceRow:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    return InvoiceRow(
        account_sid="AC" + "0" * 32,
        month="2026-07",
        status="draft",
        currency="USD",
        total=session_total,
        document="{}",
        through_seq=0,
        basis="",
        generated_at=now,
    )


def test_exact_decimals_come_back_with_every_digit(db: Database, account: str) -> None:
    precise = Decimal("12345678901234567890.12345678901234567890")
    with db.session() as session:
        row = _invoice(Decimal("0.10"))
        row.account_sid = account
        session.add(row)
        session.flush()
        session.add(
            InvoiceLineRow(
                invoice_id=row.id,
                position=0,
                category="c",
                kind="usage",
                quantity=precise,
                unit="u",
                precise_amount=precise,
                amount=Decimal("0.10"),
            )
        )
        session.commit()
    with db.session() as session:
        line = session.scalars(select(InvoiceLineRow)).one()
        invoice = session.scalars(select(InvoiceRow)).one()
    assert line.precise_amount == precise
    assert str(line.amount) == "0.10"
    assert str(invoice.total) == "0.10"
    assert invoice.generated_at == datetime(2026, 7, 1, tzinfo=UTC)


def test_a_float_is_refused_on_the_way_into_a_money_column(db: Database, account: str) -> None:
    with db.session() as session:
        row = _invoice(0.1)  # type: ignore[arg-type]
        row.account_sid = account
        session.add(row)
        with pytest.raises(StatementError, match="float"):
            session.flush()
