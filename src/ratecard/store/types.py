"""Column types that keep money, quantities and times exact across SQLite and PostgreSQL.

* :class:`ExactDecimal`: a Decimal stored as NUMERIC (no precision limit) on PostgreSQL and as
  its decimal text on SQLite, which has no exact decimal type. Floats are refused on the way
  in, so no binary floating point is ever written; values read back are the same Decimals
  (same digits, same scale) that were written.
* :class:`UTCDateTime`: an aware datetime stored in UTC (``timestamptz`` on PostgreSQL, ISO
  text without offset on SQLite) and read back aware, in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from ratecard.money import D


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC on PostgreSQL, decimal text on SQLite. Never a float."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = D(value)  # refuses float, NaN and infinities
        return number if dialect.name == "postgresql" else str(number)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return D(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime kept in UTC; a naive datetime is refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"an aware datetime is required, got {value!r}")
        moment = value.astimezone(UTC)
        return moment if dialect.name == "postgresql" else moment.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
