"""A deterministic usage generator: seeded, Zipf-skewed accounts, a category mix, one month.

Same (events, seed) -> byte-identical columns. Accounts: ``events // 1000`` (10 to 100,000),
drawn with Zipf weights 1/rank (the top account has ~10% of the events at 10k accounts); every
fourth account is a subaccount of the one before it (billed to its parent). Events are written
in time order (as a store reads them), at whole seconds so times tie; event ids follow time.
Quantities are integer micro-units (the batch kernel's input, ratecard.rating.columns).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from ratecard.rating.columns import ROW_GROUP, micros, parquet_writer

MONTH_START = datetime(2026, 7, 1, tzinfo=UTC)
MONTH_SECONDS = 31 * 24 * 3600
CHUNK = 5_000_000

#: (category, share of events, lowest quantity, highest quantity) in whole units.
MIX: list[tuple[str, float, int, int]] = [
    ("calls-inbound-local", 0.25, 1, 10),  # pooled voice (minutes)
    ("calls-outbound", 0.17, 1, 10),
    ("calls-inbound-tollfree", 0.08, 1, 10),
    ("sms-outbound", 0.20, 1, 3),  # pooled messages (segments)
    ("sms-inbound", 0.14, 1, 3),
    ("sms-outbound-tollfree", 0.04, 1, 3),
    ("phonenumbers-local", 0.016, 1, 1),  # pooled number charges
    ("phonenumbers-tollfree", 0.004, 1, 1),
    ("taskrouter-tasks", 0.05, 1, 1),  # per-unit prices
    ("recordings", 0.02, 1, 10),
    ("calls-inbound-mobile", 0.029, 1, 10),
    ("studio-engagements", 0.001, 1, 1),  # per unit in the shipped catalog
]


def account_ids(count: int) -> tuple[list[str], list[str]]:
    """Account sids and the billing account of each (every 4th is a subaccount)."""
    sids = [f"AC{index:032x}" for index in range(count)]
    owners = [sids[i - 1] if i % 4 == 3 else sids[i] for i in range(count)]
    return sids, owners


def generate(
    events: int,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
    accounts: int | None = None,
) -> pl.DataFrame:
    """All events in memory (fine up to ~20M); :func:`write` streams bigger runs.

    ``accounts``: how many accounts (default ``events // 1000``, 10 to 100,000).
    """
    frame: pl.DataFrame = pl.concat(list(_chunks(events, seed, progress, accounts)))
    return frame


def write(
    events: int, path: Path, seed: int = 7, progress: Callable[[int, int], None] | None = None
) -> None:
    """Write ``events`` generated events to Parquet, chunk by chunk (bounded memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    pending: list[pl.DataFrame] = []  # chunks of the row group being filled
    for chunk in [*_chunks(events, seed, progress), None]:
        if chunk is not None:
            pending.append(chunk)
        if pending and (chunk is None or sum(p.height for p in pending) >= ROW_GROUP):
            table = pl.concat(pending).to_arrow()
            if writer is None:
                writer = parquet_writer(tmp, table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP)
            pending = []
    if writer is not None:
        writer.close()
    tmp.rename(path)


def _chunks(  # type: ignore[no-untyped-def]
    events: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
    accounts: int | None = None,
):
    rng = np.random.default_rng(seed)
    count = accounts if accounts is not None else min(max(events // 1000, 10), 100_000)
    sids, owners = account_ids(count)
    weights = 1.0 / np.arange(1, count + 1)  # Zipf weights: selection only, never money
    weights /= weights.sum()
    shares = np.array([m[1] for m in MIX])
    shares /= shares.sum()
    start = micros(MONTH_START)
    done = 0
    chunks = max(1, -(-events // CHUNK))
    for index in range(chunks):
        size = events // chunks + (1 if index < events % chunks else 0)
        # Chunk k covers the k-th slice of the month: sorted within, so sorted overall.
        low = MONTH_SECONDS * index // chunks
        high = MONTH_SECONDS * (index + 1) // chunks
        seconds = np.sort(rng.integers(low, high, size, dtype=np.int64))
        who = rng.choice(count, size=size, p=weights)
        kind = rng.choice(len(MIX), size=size, p=shares)
        lows = np.array([m[2] for m in MIX])[kind]
        highs = np.array([m[3] for m in MIX])[kind]
        units = rng.integers(lows, highs + 1, dtype=np.int64)
        country = rng.random(size) < 0.1
        frame = pl.DataFrame(
            {
                "event_id": pl.int_range(done, done + size, eager=True)
                .cast(pl.String)
                .str.zfill(12),
                "account": pl.Series(sids).gather(who),
                "billing_account": pl.Series(owners).gather(who),
                "time": start + seconds * 1_000_000,
                "category": pl.Series([m[0] for m in MIX]).gather(kind),
                "quantity": units * 1_000_000,
                "country": pl.Series(["US", "CA"]).gather(country.astype(np.int64)),
            }
        ).with_columns(pl.concat_str(pl.lit("EV"), pl.col("event_id")).alias("event_id"))
        done += size
        if progress is not None:
            progress(done, events)
        yield frame
