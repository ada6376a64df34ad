"""``python -m bench stream``: cost per event of the streaming rating from 1M to 1B events.

For each size, a generated file (:func:`bench.generate.write`, seed 7, row groups of
``--row-group`` rows in time order; cached under bench/data/, generated in a child process)
is rated by the streaming kernel (:func:`ratecard.rating.stream.rate_parquet_stream`: each
row group read once), by the one-shot kernel up to 10M events, and by the Polars query of
the same rating (:mod:`bench.polars_query`), each in a child process of its own (its own
peak RSS), alternated ``--repeat`` times. Printed per size: seconds, ns/event and peak RSS
of each engine, and the total of every invoice; the run fails unless every total is
identical across engines and repeats. The Polars query holds the whole file in memory
(4.7 GB at 10M events measured here): where its estimate does not fit the machine's
available memory it is skipped, and the reason printed, never silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.polars_query import polars_total
from ratecard.catalog.load import load_catalog
from ratecard.rating.batch import rate_parquet_shards
from ratecard.rating.stream import rate_parquet_stream

#: The Polars query's peak memory per event from Parquet, measured here at 10M (4.7 GB on
#: this generator's files): the estimate that decides whether its query can run at a size.
POLARS_BYTES_PER_EVENT = 500
#: Row groups of the stream bench's files (rows): a few per 10M events.
ROW_GROUP = 4_000_000


def stream_path(data: Path, events: int, seed: int, row_group: int) -> Path:
    return data / f"events-{events}-seed{seed}-rg{row_group}-v5.parquet"


def available_bytes() -> int:
    """MemAvailable of /proc/meminfo (0 if unknown: then Polars is not skipped for memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def polars_skip_reason(events: int) -> str | None:
    need = events * POLARS_BYTES_PER_EVENT
    have = available_bytes()
    if have and need > have:
        return (
            f"polars query skipped at {events:,} events: it reads the whole file into memory "
            f"(~{need / 2**30:.0f} GiB estimated from 4.7 GB measured at 10M; "
            f"{have / 2**30:.0f} GiB available); its window over (time, id) per counter has "
            "no streaming form"
        )
    return None


def run_child(
    root: Path, engine: str, path: Path, events: int, timeout: float | None = None
) -> dict[str, object] | None:
    """One engine on one file in a fresh process: its JSON result, or None if it did not
    finish within ``timeout`` seconds (the caller prints that)."""
    cmd = [sys.executable, "-m", "bench", "stream-run", "--events", str(events)]
    cmd += ["--engine", engine, "--file", str(path)]
    try:
        done = subprocess.run(cmd, check=True, cwd=root, stdout=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, object] = json.loads(done.stdout)
    return result


def run_engine(engine: str, path: Path) -> Decimal:
    """The total of every invoice of the file by ``engine``: ``stream``, ``batch`` (the
    one-shot kernel) or ``polars``."""
    catalog = load_catalog("us")
    if engine == "stream":
        return rate_parquet_stream(catalog, path).total()
    if engine == "batch":
        return sum((r.total() for r in rate_parquet_shards(catalog, path)), Decimal(0))
    return polars_total(catalog, path)


def timed(engine: str, path: Path) -> tuple[Decimal, float]:
    started = time.perf_counter()
    amount = run_engine(engine, path)
    return amount, time.perf_counter() - started


def summary(events: int, runs: dict[str, list[dict[str, object]]]) -> dict[str, object]:
    """Per engine: seconds and ns/event (min-max over the repeats), peak RSS (max)."""
    row: dict[str, object] = {"events": events}
    for engine, results in runs.items():
        seconds = [float(str(r["seconds"])) for r in results]
        low, high = min(seconds), max(seconds)
        row[f"{engine}_s"] = f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}"
        ns = [round(s * 1e9 / events) for s in (low, high)]
        row[f"{engine}_ns_per_event"] = f"{ns[0]}" if ns[0] == ns[1] else f"{ns[0]}-{ns[1]}"
        row[f"{engine}_peak_rss_mb"] = max(float(str(r["peak_rss_mb"])) for r in results)
    return row
