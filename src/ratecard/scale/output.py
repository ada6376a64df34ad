"""What a rating run writes, for either engine: rated lines and invoice totals (Arrow/Parquet).

``OUT/lines/*.parquet``: one row per invoice line (per billing account and month), in invoice
order (``line`` counts from 0). Money never travels as a float: ``amount`` is the line's
amount rounded half-up once to the currency's minor unit, as a decimal with that many places
(Arrow ``decimal128(38, m)``, Spark ``DecimalType(38, m)``); ``quantity``, ``unit_price`` and
``precise_amount`` (exact, before rounding) are decimal strings, since their places vary.
``events`` is how many event pieces make the line (a piece is an event, or the part of one
that falls in a tier: an event crossing a bound counts in both lines).

``OUT/totals/*.parquet``: one row per (billing account, month): ``currency``, ``lines`` and
``total``, the sum of the rounded line amounts (SPEC section 6) as a decimal string.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ratecard.money import minor_units
from ratecard.rating.batch import BatchResult

LINES = "lines"
TOTALS = "totals"


def lines_schema(currency: str) -> pa.Schema:
    """The rated lines' columns; ``amount`` has the currency's minor-unit places."""
    return pa.schema(
        [
            pa.field("billing_account", pa.string(), nullable=False),
            pa.field("month", pa.string(), nullable=False),
            pa.field("line", pa.int32(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("pool", pa.string()),
            pa.field("tier", pa.int32()),
            pa.field("tier_label", pa.string()),
            pa.field("quantity", pa.string(), nullable=False),
            pa.field("unit_price", pa.string()),
            pa.field("precise_amount", pa.string(), nullable=False),
            pa.field("amount", pa.decimal128(38, minor_units(currency)), nullable=False),
            pa.field("events", pa.int64(), nullable=False),
        ]
    )


TOTALS_SCHEMA = pa.schema(
    [
        pa.field("billing_account", pa.string(), nullable=False),
        pa.field("month", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("lines", pa.int64(), nullable=False),
        pa.field("total", pa.string(), nullable=False),
    ]
)


def lines_table(result: BatchResult) -> pa.Table:
    """The invoice lines of a batch result as rows of :func:`lines_schema`, sorted by
    (billing account, month), each invoice's lines in invoice order."""
    columns: dict[str, list[object]] = {name: [] for name in lines_schema("USD").names}
    counted = result.counted_lines()
    ordered = sorted(counted.items(), key=lambda item: (item[0][0], str(item[0][2])))
    for (owner, _, month), group in ordered:
        for index, (line, events) in enumerate(group):
            values: tuple[object, ...] = (owner, str(month), index, line.category)
            values += (line.kind.value, line.pool)
            values += (line.tier, line.tier_label, str(line.quantity))
            values += (None if line.unit_price is None else str(line.unit_price),)
            values += (str(line.precise_amount), line.amount, events)
            for name, value in zip(columns, values, strict=True):
                columns[name].append(value)
    return pa.table(columns, schema=lines_schema(result.catalog.currency))


def totals_table(lines: pa.Table, currency: str) -> pa.Table:
    """Invoice totals of rated lines: per (billing account, month), the exact Decimal sum of
    the rounded amounts (already at the minor unit, so the sum is too)."""
    sums: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for owner, month, amount in zip(
        lines.column("billing_account").to_pylist(),
        lines.column("month").to_pylist(),
        lines.column("amount").to_pylist(),
        strict=True,
    ):
        count, total = sums.get((owner, month), (0, Decimal(0)))
        sums[(owner, month)] = (count + 1, total + amount)
    keys = sorted(sums)
    return pa.table(
        {
            "billing_account": [owner for owner, _ in keys],
            "month": [month for _, month in keys],
            "currency": [currency] * len(keys),
            "lines": [sums[key][0] for key in keys],
            "total": [str(sums[key][1]) for key in keys],
        },
        schema=TOTALS_SCHEMA,
    )


def grand_total(totals: Iterable[str]) -> Decimal:
    """The sum of invoice totals (decimal strings), exact."""
    return sum((Decimal(value) for value in totals), Decimal(0))


def write_table(table: pa.Table, directory: Path) -> None:
    """``table`` as ``directory/part-00000.parquet``, replacing whatever the directory held
    (as a Spark write in overwrite mode does)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    pq.write_table(table, directory / "part-00000.parquet")


def read_table(out: Path, name: str) -> pa.Table:
    """``OUT/name`` (``lines`` or ``totals``) as one table, whichever engine wrote it."""
    parts = sorted(p for p in (out / name).glob("*.parquet") if not p.name.startswith((".", "_")))
    if not parts:
        raise FileNotFoundError(f"{out / name}: no Parquet files")
    return pa.concat_tables(pq.read_table(part) for part in parts)
