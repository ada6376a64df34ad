"""``python -m bench spark``: one generated file rated by the embedded batch kernel, the Polars
query (:mod:`bench.polars_query`) and the Spark job (:mod:`ratecard.scale.spark`) in one run.

Each engine's figures: seconds, ns/event, events/s, the cores it ran on, and events/s per
core (the figure a cluster is sized by). Spark is timed in a started session whose Python
workers have already rated the same file once: the JVM start (``startup_s``) and that first
run (``warmup_s``, several times slower: each worker loads the kernel's compiled code) are
printed apart, as a cluster pays them once per executor, not per event. The run fails
unless the three totals (the sum of every invoice's rounded lines) are identical.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from bench.polars_query import polars_total
from ratecard.catalog.load import load_catalog
from ratecard.rating.batch import rate_parquet_shards
from ratecard.scale.spark import rate_spark, start_session

SECTION = "## Spark comparison runs (appended by `python -m bench spark --record`)"
HEADER = (
    "| date (UTC) | machine | versions | events | embedded s | polars s | spark s | spark "
    "cores | spark start s | ns/event (embedded; polars; spark) | events/s per core "
    "(embedded; polars; spark) | total |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def figures(
    engine: str, events: int, seconds: float, cores: int, total: Decimal
) -> dict[str, object]:
    per_second = events / seconds
    return {
        "engine": engine,
        "events": events,
        "seconds": round(seconds, 3),
        "ns_per_event": round(seconds * 1e9 / events),
        "events_per_s": round(per_second),
        "cores": cores,
        "events_per_s_per_core": round(per_second / cores),
        "total": str(total),
    }


def timed(run: Callable[[], Decimal]) -> tuple[float, Decimal]:
    started = time.perf_counter()
    amount = run()
    return time.perf_counter() - started, amount


def compare(path: Path, events: int, cores: int, partitions: int | None) -> list[dict[str, object]]:
    """The three engines on ``path`` (the batch kernel already warmed up by the caller)."""
    catalog = load_catalog("us")
    machine_cores = os.cpu_count() or 1
    results = []
    seconds, amount = timed(
        lambda: sum((r.total() for r in rate_parquet_shards(catalog, path)), Decimal(0))
    )
    results.append(figures("embedded", events, seconds, min(2, machine_cores), amount))
    seconds, amount = timed(lambda: polars_total(catalog, path))
    results.append(figures("polars", events, seconds, machine_cores, amount))
    started = time.perf_counter()
    spark = start_session(f"local[{cores}]", {"spark.sql.shuffle.partitions": str(cores)})
    startup = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory(prefix="bench-spark-") as scratch:
            started = time.perf_counter()
            rate_spark(spark, [str(path)], catalog, str(Path(scratch) / "warm-out"), partitions)
            warmup = time.perf_counter() - started
            rated = rate_spark(spark, [str(path)], catalog, str(Path(scratch) / "out"), partitions)
    finally:
        spark.stop()
    result = figures("spark", events, rated.seconds, cores, rated.total)
    result |= {"startup_s": round(startup, 1), "warmup_s": round(warmup, 1)}
    results.append(result)
    totals = {str(r["total"]) for r in results}
    if len(totals) != 1:
        raise SystemExit(f"engines disagree on the total: {sorted(totals)}")
    return results


def row(stamp: str, machine: str, versions: str, results: list[dict[str, object]]) -> str:
    """One line of the RESULTS.md table of :data:`SECTION`."""
    by = {str(r["engine"]): r for r in results}
    cells = [stamp, machine, versions, f"{by['spark']['events']:,}"]
    cells += [str(by[name]["seconds"]) for name in ("embedded", "polars", "spark")]
    cells += [str(by["spark"]["cores"]), str(by["spark"]["startup_s"])]
    cells.append("; ".join(str(by[n]["ns_per_event"]) for n in ("embedded", "polars", "spark")))
    cells.append(
        "; ".join(f"{by[n]['events_per_s_per_core']:,}" for n in ("embedded", "polars", "spark"))
    )
    cells.append(str(by["spark"]["total"]))
    return "| " + " | ".join(cells) + " |\n"
