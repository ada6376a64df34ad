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
import pyarrow as pa
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
    tables = [pl.from_arrow(t) for t in _chunks(events, seed, progress, accounts)]
    frame = pl.concat([t for t in tables if isinstance(t, pl.DataFrame)])
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def write(
    events: int,
    path: Path,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
    row_group: int = ROW_GROUP,
) -> None:
    """Write ``events`` generated events to Parquet, chunk by chunk (bounded memory), in
    row groups of ``row_group`` rows (in time order, like the rows: chunk k covers the k-th
    slice of the month)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    pending: list[pa.Table] = []  # chunks of the row group being filled
    for chunk in [*_chunks(events, seed, progress), None]:
        if chunk is not None:
            pending.append(chunk)
        filled = sum(p.num_rows for p in pending)
        while pending and (filled >= row_group or (chunk is None and filled)):
            # one dictionary per column and row group, as one write_table of a frame has
            table = pa.concat_tables(pending).unify_dictionaries().combine_chunks()
            head = table.slice(0, row_group)
            if writer is None:
                writer = parquet_writer(tmp, table.schema)
            writer.write_table(head, row_group_size=row_group)
            pending = [table.slice(head.num_rows)] if table.num_rows > head.num_rows else []
            filled = table.num_rows - head.num_rows
    if writer is not None:
        writer.close()
    tmp.rename(path)


def _coded(values: list[str], codes: np.ndarray) -> pa.DictionaryArray:
    """``values[codes]`` as an Arrow dictionary column: no string per row is built (the
    writer stores it as a dictionary anyway)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))


def _event_ids(first: int, count: int) -> pa.StringArray:
    """``EV`` + the 12-digit zero-padded index of each event from ``first``: written as one
    byte matrix (14 bytes a row), each half of the digits gathered from a table of the 10**6
    six-digit strings (formatting 1B numbers one by one takes minutes)."""
    numbers = np.arange(first, first + count, dtype=np.int64)
    rows = np.empty(count, dtype=[("prefix", "V2"), ("high", "V6"), ("low", "V6")])  # packed
    rows["prefix"] = np.frombuffer(b"EV", dtype="V2")[0]
    rows["high"] = _SIX[numbers // 10**6]
    rows["low"] = _SIX[numbers % 10**6]
    offsets = np.arange(0, 14 * (count + 1), 14, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(rows))


def _six_digits() -> np.ndarray:
    """The strings 000000 to 999999 as 6-byte values."""
    numbers = np.arange(10**6, dtype=np.int64)
    digits = np.empty((10**6, 6), dtype=np.uint8)
    for place in range(5, -1, -1):
        digits[:, place] = numbers % 10 + ord("0")
        numbers //= 10
    return digits.view("V6")[:, 0]


_SIX = _six_digits()


def _chunks(  # type: ignore[no-untyped-def]
    events: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
    accounts: int | None = None,
):
    rng = np.random.default_rng(seed)
    count = accounts if accounts is not None else min(max(events // 1000, 10), 100_000)
    sids, _ = account_ids(count)
    ranks = np.arange(count)
    owner_code = np.where(ranks % 4 == 3, ranks - 1, ranks)  # as account_ids bills them
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
        yield pa.table(
            {
                "event_id": _event_ids(done, size),
                "account": _coded(sids, who),
                "billing_account": _coded(sids, owner_code[who]),
                "time": pa.array(start + seconds * 1_000_000),
                "category": _coded([m[0] for m in MIX], kind),
                "quantity": pa.array(units * 1_000_000),
                "country": _coded(["US", "CA"], country.astype(np.int64)),
            }
        )
        done += size
        if progress is not None:
            progress(done, events)
