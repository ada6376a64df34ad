"""``ratecard rate --engine embedded``: the batch kernel over the partitioned layout.

Bucket by bucket (a bucket holds whole billing accounts, :mod:`ratecard.scale.layout`), its
part files read together and rated by :func:`ratecard.rating.batch.rate_frame`; memory is one
bucket's rows at a time. The lines and totals are written as :mod:`ratecard.scale.output`
describes, as the Spark engine writes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa

from ratecard.catalog.model import Catalog
from ratecard.periods import Month
from ratecard.rating.batch import rate_frame
from ratecard.scale.layout import month_buckets
from ratecard.scale.output import (
    LINES,
    TOTALS,
    grand_total,
    lines_schema,
    lines_table,
    totals_table,
    write_table,
)


@dataclass(frozen=True)
class Rated:
    """What a rating run did: rows rated, lines and invoices written, their total (exact,
    in the catalog's currency), and the wall-clock seconds it took."""

    engine: str
    events: int
    lines: int
    invoices: int
    total: Decimal
    currency: str
    seconds: float

    @property
    def events_per_s(self) -> int:
        return round(self.events / self.seconds) if self.seconds > 0 else 0

    def summary(self) -> dict[str, object]:
        """The run as JSON values (money as a decimal string)."""
        return {
            "engine": self.engine,
            "events": self.events,
            "lines": self.lines,
            "invoices": self.invoices,
            "total": str(self.total),
            "currency": self.currency,
            "seconds": round(self.seconds, 3),
            "events_per_s": self.events_per_s,
        }


def rate_embedded(
    catalog: Catalog,
    events: Path,
    months: Sequence[Month],
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> Rated:
    """Rate ``months`` of the layout under ``events`` and write lines and totals to ``out``.

    ``progress(done_buckets, all_buckets)`` after each bucket. ConfigError naming
    ``--events`` when a month has no partition there; RatingError / NoPriceError from the
    kernel as they are.
    """
    started = time.perf_counter()
    buckets = [parts for month in months for parts in month_buckets(events, month).values()]
    tables: list[pa.Table] = []
    rows = 0
    for done, parts in enumerate(buckets, start=1):
        frame = pl.read_parquet(parts)
        rows += frame.height
        tables.append(lines_table(rate_frame(catalog, frame)))
        if progress is not None:
            progress(done, len(buckets))
    schema = lines_schema(catalog.currency)
    lines = pa.concat_tables(tables) if tables else schema.empty_table()
    totals = totals_table(lines, catalog.currency)
    write_table(lines, out / LINES)
    write_table(totals, out / TOTALS)
    return Rated(
        engine="embedded",
        events=rows,
        lines=lines.num_rows,
        invoices=totals.num_rows,
        total=grand_total(totals.column("total").to_pylist()),
        currency=catalog.currency,
        seconds=time.perf_counter() - started,
    )
