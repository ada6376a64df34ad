"""Usage as columns: the input of the batch kernel, and exact conversions to and from it.

One row per metered usage, in these columns (Polars dtypes):

==================  =======  ==============================================================
``event_id``        String   the usage's event id (ties in time are broken by it)
``account``         String   whose usage it is
``billing_account`` String   who is invoiced for it (the parent, or the account itself)
``time``            Int64    UTC instant, microseconds since 1970-01-01T00:00:00Z
``category``        String   catalog category
``quantity``        Int64    units in micro-units: ``quantity = units x 10**6`` exactly
``country``         String   ISO country, may be null
``amount``          String   optional: the money amount an event carries (percentage prices)
==================  =======  ==============================================================

Integers inside, Decimal only at the edges: a quantity that is not a whole number of
micro-units (e.g. per-second minutes such as 80 s / 60) cannot be written in this form and is
refused with :class:`~ratecard.errors.RatingError`; the reference kernel rates such usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ratecard.errors import RatingError
from ratecard.money import EXACT_QUANTIZE, D
from ratecard.prices.metered import Usage

#: Quantities are integers of 10**-QUANTITY_PLACES units (micro-units).
QUANTITY_PLACES = 6
#: Rates are integers of 10**-RATE_PLACES currency units (catalog rates have <= 7 places).
RATE_PLACES = 7
#: Amounts (quantity x rate) are integers of 10**-AMOUNT_PLACES currency units.
AMOUNT_PLACES = QUANTITY_PLACES + RATE_PLACES

INT64_MAX = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "account": pl.String(),
    "billing_account": pl.String(),
    "time": pl.Int64(),
    "category": pl.String(),
    "quantity": pl.Int64(),
    "country": pl.String(),
}
#: Optional column: only percentage prices read it.
AMOUNT_COLUMN = "amount"


def scaled(value: Decimal, places: int, what: str) -> int:
    """``value x 10**places`` as an exact integer; RatingError if digits would be lost."""
    shifted = value.scaleb(places, EXACT_QUANTIZE)  # exact: never rounds to 28 digits
    if shifted != shifted.to_integral_value():
        raise RatingError(
            f"{what} {value} has more than {places} decimal places: the batch kernel works in "
            f"integers of 1e-{places}; rate it with the reference kernel"
        )
    return int(shifted)


def unscaled(value: int, places: int) -> Decimal:
    """The exact Decimal ``value x 10**-places`` (the inverse of :func:`scaled`)."""
    return Decimal(value).scaleb(-places, EXACT_QUANTIZE)


def round_half_up(amount: pl.Expr, places: int) -> pl.Expr:
    """Integers ``amount`` in 1e-(m + places) units rounded half-up (away from zero on a tie)
    to 1e-m units: the integer twin of :func:`ratecard.money.round_money`, in Polars.

    ``amount`` must be an Int128 expression (no Float anywhere: exact for any Int128 value
    whose magnitude is below 2**127 - 10**places).
    """
    if places <= 0:
        return amount * pl.lit(10 ** (-places), dtype=pl.Int128)
    step = 10**places
    magnitude = (amount.abs() + step // 2) // step
    result: pl.Expr = amount.sign() * magnitude
    return result


def micros(moment: datetime) -> int:
    """UTC microseconds since the epoch of an aware datetime (integer arithmetic, no float)."""
    if moment.tzinfo is None:
        raise RatingError(f"time {moment.isoformat()} has no UTC offset")
    return (moment - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The UTC datetime of ``value`` microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=value)


def usages_to_frame(usages: Iterable[Usage], billing_account_of: Mapping[str, str]) -> pl.DataFrame:
    """Columns of ``usages`` (see module docstring); RatingError if a value does not fit."""
    rows: dict[str, list[object]] = {name: [] for name in (*SCHEMA, AMOUNT_COLUMN)}
    for usage in usages:
        rows["event_id"].append(usage.event_id)
        rows["account"].append(usage.account)
        rows["billing_account"].append(billing_account_of[usage.account])
        rows["time"].append(micros(usage.time))
        rows["category"].append(usage.category)
        rows["quantity"].append(
            _fits(scaled(usage.quantity, QUANTITY_PLACES, f"quantity of '{usage.event_id}'"))
        )
        rows["country"].append(usage.country)
        rows[AMOUNT_COLUMN].append(None if usage.amount is None else str(usage.amount))
    schema = {**SCHEMA, AMOUNT_COLUMN: pl.String()}
    return pl.DataFrame(rows, schema=schema)


def _fits(value: int) -> int:
    if not -INT64_MAX <= value <= INT64_MAX:
        raise RatingError(f"quantity {unscaled(value, QUANTITY_PLACES)} does not fit in int64")
    return value


def frame_to_usages(frame: pl.DataFrame) -> list[Usage]:
    """Usage objects of the rows of ``frame`` (exact: micro-units back to Decimal)."""
    amounts = (
        frame[AMOUNT_COLUMN].to_list() if AMOUNT_COLUMN in frame.columns else [None] * frame.height
    )
    return [
        Usage(
            event_id=event_id,
            account=account,
            time=from_micros(time),
            category=category,
            quantity=unscaled(quantity, QUANTITY_PLACES),
            country=country,
            amount=None if amount is None else D(amount),
        )
        for event_id, account, time, category, quantity, country, amount in zip(
            frame["event_id"].to_list(),
            frame["account"].to_list(),
            frame["time"].to_list(),
            frame["category"].to_list(),
            frame["quantity"].to_list(),
            frame["country"].to_list(),
            amounts,
            strict=True,
        )
    ]


def check_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the required columns in the right dtypes; RatingError naming a bad one.

    String columns may be Categorical (cheaper to group by: :func:`scan_parquet` reads them so).

    Quantities must be integers: a Float column is refused, never cast (binary floats
    cannot hold decimal quantities exactly).
    """
    problems = []
    for name, dtype in SCHEMA.items():
        if name not in frame.columns:
            problems.append(f"missing column '{name}'")
        elif frame.schema[name] != dtype and not (
            dtype == pl.String() and frame.schema[name] == pl.Categorical()
        ):
            problems.append(f"column '{name}' is {frame.schema[name]}, expected {dtype}")
    if problems:
        raise RatingError("usage columns: " + "; ".join(problems))
    columns = [pl.col(name) for name in SCHEMA]
    if AMOUNT_COLUMN in frame.columns:
        columns.append(pl.col(AMOUNT_COLUMN))
    return frame.select(columns)


#: How usage columns are written to Parquet: LZ4 (decodes ~1.6x faster than zstd here, for a
#: file ~1.5x larger), dictionary pages for the repeated strings and quantities, and time as
#: deltas (sorted times: a few bits per row).
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "lz4",
    "use_dictionary": ["account", "billing_account", "category", "country", "quantity"],
    "column_encoding": {"time": "DELTA_BINARY_PACKED"},
    # room for 100k+ distinct account sids in one dictionary page: past the 1 MB default the
    # writer falls back to plain strings, and reading them as a dictionary hashes every row
    # (a 16.7M-row group of 100k accounts: 2.1 s to read instead of ~0.3 s)
    "dictionary_pagesize_limit": 64 << 20,
}
#: Rows per row group (16.7M): a month of 10M events is one row group, so each string
#: column has one dictionary and its indices are the kernel's codes as they are read (no
#: remapping). Event ids, read on demand, are read a row group at a time.
ROW_GROUP = 1 << 24


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer of usage columns with :data:`PARQUET_OPTIONS`."""
    return pq.ParquetWriter(path, schema, **PARQUET_OPTIONS)


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write usage columns to Parquet (see :data:`PARQUET_OPTIONS`)."""
    table = frame.to_arrow()
    with parquet_writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP)


#: Low-cardinality or repeated string columns: read as dictionaries, whose integer indices the
#: kernel uses as codes (:mod:`ratecard.rating.rows`) instead of hashing strings per row.
CATEGORICAL = ("account", "billing_account", "category", "country")


def scan_parquet(path: Path) -> pl.LazyFrame:
    """Lazily read usage columns written by :func:`write_parquet` (or any same-schema file)."""
    return pl.scan_parquet(path).with_columns(pl.col(*CATEGORICAL).cast(pl.Categorical))
