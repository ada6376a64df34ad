"""``python -m bench``: kernel benchmarks; results are printed (``--record`` also appends them
to bench/RESULTS.md, a tracked file: a run leaves the work tree clean unless asked).

    python -m bench kernel --events 10000000 [--engine batch|reference|polars] [--shuffled] \
        [--format json] [--record]
    python -m bench kernel --events 10000000 --compare [--repeat 3] [--record]
    python -m bench generate --events 10000000 [--shuffled]
    python -m bench profile --events 10000000
    python -m bench close --events 1000000 --accounts 10000 --backend sqlite|postgresql \
        [--path fast|existing] [--format json]
    python -m bench ingest --events 100000 [--workers 2] [--clients 4] [--batch 1000] \
        [--duplicates 10] [--format json]
    python -m bench spark --events 1000000 [--cores 2] [--partitions N] [--format json] \
        [--record]

``kernel`` generates N events (seeded; cached as Parquet under bench/data/, generated in a
child process so the measured peak RSS is the rating's), then rates them end to end from
Parquet and prints ``{"engine", "events", "seconds", "events_per_s", "peak_rss_mb", "total"}``
with ``total`` the sum of every invoice (rounded lines), a decimal string, equal for both
engines. Progress bars go to stderr, so ``--format json`` output stays one JSON line.
``--shuffled`` rates the same events in a seeded random row order (a file of its own);
``--engine polars`` is the same rating as one Polars query (:mod:`bench.polars_query`).
``--compare`` runs the batch kernel on the time-ordered and the shuffled file and the Polars
query on both, each in a child process (its own peak RSS), alternated ``--repeat`` times,
prints every run and their ranges in ns/event, and fails unless every total is equal.

``close`` loads N generated events for A accounts into a fresh store (see :mod:`bench.close`;
set up in a child process, outside the timed part), then times month close (every billing
account's draft invoice generated and stored) and prints ``{"backend", "path", "events",
"accounts", "setup_seconds", "seconds", "events_per_s", "peak_rss_mb", "invoices", "total"}``.

``stream`` rates generated files of each ``--sizes`` (default 1M, 10M; 100M and 1B on
request) with the streaming kernel (each row group read once) and the Polars query, each in a
child process, prints seconds, ns/event and peak RSS per engine and size, and fails unless
every total is identical (see :mod:`bench.stream`; ``--delete`` removes files of 100M+ events
it generated once measured).

    python -m bench stream [--sizes 1000000,10000000,100000000,1000000000] [--repeat 1] \
        [--row-group 4000000] [--delete] [--format json]

``spark`` rates one generated file with the batch kernel, the Polars query and the Spark job
(local mode on ``--cores``) in one run, prints each engine's ns/event, events/s and events/s
per core, and fails unless the three totals are identical (see :mod:`bench.spark`).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.close import JULY, drop, prepared, setup
from bench.generate import write
from bench.ingest import run_ingest
from bench.polars_query import polars_total
from bench.spark import HEADER as SPARK_HEADER
from bench.spark import SECTION as SPARK_SECTION
from bench.spark import compare as compare_spark
from bench.spark import row as spark_row
from bench.stream import ROW_GROUP as STREAM_ROW_GROUP
from bench.stream import polars_skip_reason, run_child, stream_path, summary, timed
from ratecard.catalog.load import load_catalog
from ratecard.periods import Month
from ratecard.rating.batch import invoice_total, rate_parquet_shards, rate_rows
from ratecard.rating.columns import ROW_GROUP, frame_to_usages, parquet_writer, scan_parquet
from ratecard.rating.engine import rate
from ratecard.rating.lines import assemble_lines
from ratecard.rating.rows import ParquetRows
from ratecard.rating.stream import rate_parquet_stream
from ratecard.service import close, invoices
from ratecard.service.settings import Settings
from ratecard.store.database import Database

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "RESULTS.md"
ERR = Console(stderr=True)
HEADER = (
    "| date (UTC) | machine | versions | engine | events | seconds | events/s | peak RSS MB "
    "| total |\n|---|---|---|---|---|---|---|---|---|\n"
)


def data_path(events: int, seed: int, shuffled: bool = False) -> Path:
    # v4: LZ4, delta-encoded times, 16.7M-row row groups, dictionaries up to 64 MB
    # (ratecard.rating.columns.PARQUET_OPTIONS)
    return DATA / f"events-{events}-seed{seed}-v4{'-shuffled' if shuffled else ''}.parquet"


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ERR,
        transient=True,
    )


def ensure_data(events: int, seed: int, shuffled: bool = False) -> Path:
    """The cached Parquet file, generated in a child process (keeps our peak RSS clean)."""
    path = data_path(events, seed, shuffled)
    if not path.exists():
        cmd = [sys.executable, "-m", "bench", "generate", "--events", str(events)]
        cmd += ["--seed", str(seed), *(["--shuffled"] if shuffled else [])]
        subprocess.run(cmd, check=True, cwd=HERE.parent)
    return path


def cmd_generate(args: argparse.Namespace) -> None:
    if args.shuffled:
        ordered = ensure_data(args.events, args.seed)
        path = data_path(args.events, args.seed, shuffled=True)
        shuffle(ordered, path, args.seed)
        ERR.print(f"wrote {path}")
        return
    path = data_path(args.events, args.seed)
    if args.row_group:
        path = stream_path(DATA, args.events, args.seed, args.row_group)
    with progress_bar() as bar:
        task = bar.add_task(f"generating {args.events:,} events", total=args.events)
        write(
            args.events,
            path,
            args.seed,
            lambda done, _: bar.update(task, completed=done),
            args.row_group or ROW_GROUP,
        )
    ERR.print(f"wrote {path}")


def shuffle(source: Path, path: Path, seed: int) -> None:
    """The rows of ``source`` in a seeded random order (same columns, same Parquet options)."""
    frame = pl.read_parquet(source)
    order = np.random.default_rng(seed).permutation(frame.height)
    table = frame[order].to_arrow()
    tmp = path.with_suffix(".tmp")
    with parquet_writer(tmp, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP)
    tmp.rename(path)


def warm_up() -> float:
    """Load the kernel's compiled loop (Numba's on-disk cache; compiled on the very first run)
    by rating one tiny file: a once-per-process cost, like importing, kept out of the timing.
    Returns its seconds."""
    started = time.perf_counter()
    tiny = DATA / "warm-up-v4.parquet"
    if not tiny.exists():
        write(1000, tiny, seed=1)
    catalog = load_catalog("us")
    sum(result.total() for result in rate_parquet_shards(catalog, tiny))
    # and in reverse order: the radix sort's compiled code is loaded too (shuffled input)
    rows = ParquetRows(tiny).rows()
    rate_rows(catalog, rows.take(np.arange(len(rows))[::-1])).total()
    rate_parquet_stream(catalog, tiny).total()
    return time.perf_counter() - started


def run_batch(path: Path, events: int) -> Decimal:
    """Every invoice line of the file, rounded once each, summed (columnar lines: no Python
    object per line; ``rate_parquet`` builds the same lines as objects)."""
    catalog = load_catalog("us")
    amount = Decimal(0)
    with progress_bar() as bar:
        task = bar.add_task("batch kernel (rows rated)", total=events)
        for result in rate_parquet_shards(
            catalog, path, progress=lambda d, _: bar.update(task, completed=d)
        ):
            amount += result.total()
    return amount


def run_reference(path: Path, events: int) -> Decimal:
    catalog = load_catalog("us")
    with progress_bar() as bar:
        task = bar.add_task("reference kernel", total=4)
        frame = scan_parquet(path).collect()
        owners = dict(frame.select("account", "billing_account").unique().iter_rows())
        owners.update({owner: owner for owner in owners.values()})
        bar.update(task, advance=1, description="reference: building Usage objects")
        usages = frame_to_usages(frame)
        del frame
        bar.update(task, advance=1, description="reference: rating")
        parts = rate(catalog, usages, owners)
        bar.update(task, advance=1, description="reference: invoice lines")
        month = Month.of(usages[0].time) if usages else Month(2026, 7)
        lines = {(owner, month): assemble_lines(group, catalog) for owner, group in parts.items()}
        bar.update(task, advance=1)
    return invoice_total(lines)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def versions() -> str:
    return f"py {platform.python_version()}, polars {pl.__version__}, pyarrow {pyarrow.__version__}"


def run_polars(path: Path, events: int) -> Decimal:
    with progress_bar() as bar:
        bar.add_task("polars query", total=None)
        return polars_total(load_catalog("us"), path)


def cmd_kernel(args: argparse.Namespace) -> None:
    if args.compare:
        compare(args)
        return
    path = ensure_data(args.events, args.seed, args.shuffled)
    if args.engine == "batch":
        ERR.print(f"warm-up (compiled loop loaded): {warm_up():.2f} s, not timed")
    started = time.perf_counter()
    runners = {"batch": run_batch, "reference": run_reference, "polars": run_polars}
    amount = runners[args.engine](path, args.events)
    seconds = time.perf_counter() - started
    result = {
        "engine": args.engine + (" shuffled" if args.shuffled else ""),
        "events": args.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(args.events / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "total": str(amount),
    }
    if args.record:
        record(result)
    emit(args, result)


#: (engine, shuffled) of a ``--compare`` run, in the order they alternate.
COMPARED = [("batch", False), ("batch", True), ("polars", False), ("polars", True)]
COMPARE_SECTION = (
    "## Order comparison runs (appended by `python -m bench kernel --compare --record`)"
)
COMPARE_HEADER = (
    "| date (UTC) | machine | versions | events | runs | batch ordered s | batch shuffled s "
    "| polars ordered s | polars shuffled s | ns/event (batch ordered, shuffled; polars "
    "shuffled) | shuffled / ordered | polars / batch, shuffled | total |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def compare(args: argparse.Namespace) -> None:
    """Each of :data:`COMPARED` in a child process, ``--repeat`` rounds alternated (load on a
    shared machine then hits every variant alike); every total must be equal."""
    for shuffled in (False, True):
        ensure_data(args.events, args.seed, shuffled)
    seconds: dict[tuple[str, bool], list[float]] = {key: [] for key in COMPARED}
    totals: set[str] = set()
    for _ in range(args.repeat):
        for engine, shuffled in COMPARED:
            cmd = [sys.executable, "-m", "bench", "kernel", "--events", str(args.events)]
            cmd += ["--seed", str(args.seed), "--engine", engine, "--format", "json"]
            cmd += ["--shuffled"] if shuffled else []
            done = subprocess.run(cmd, check=True, cwd=HERE.parent, stdout=subprocess.PIPE)
            result = json.loads(done.stdout)
            emit(args, result)
            seconds[(engine, shuffled)].append(float(result["seconds"]))
            totals.add(str(result["total"]))
    if len(totals) != 1:
        raise SystemExit(f"engines disagree on the total: {sorted(totals)}")

    def span(key: tuple[str, bool]) -> str:
        low, high = min(seconds[key]), max(seconds[key])
        return f"{low:.3f}" if low == high else f"{low:.3f}-{high:.3f}"

    def ns(key: tuple[str, bool]) -> str:
        low, high = (round(f(seconds[key]) * 1e9 / args.events) for f in (min, max))
        return f"{low}" if low == high else f"{low}-{high}"

    def ratio(top: tuple[str, bool], bottom: tuple[str, bool]) -> str:
        # medians: one noisy run on a shared machine does not make the ratio
        a, b = (sorted(seconds[k])[len(seconds[k]) // 2] for k in (top, bottom))
        return f"{a / b:.2f}"

    batch, batch_shuffled = ("batch", False), ("batch", True)
    polars, polars_shuffled = ("polars", False), ("polars", True)
    summary = {
        "events": args.events,
        "runs": args.repeat,
        "batch_ordered_s": span(batch),
        "batch_shuffled_s": span(batch_shuffled),
        "polars_ordered_s": span(polars),
        "polars_shuffled_s": span(polars_shuffled),
        "ns_per_event": f"{ns(batch)}; {ns(batch_shuffled)}; {ns(polars_shuffled)}",
        "shuffled_over_ordered": ratio(batch_shuffled, batch),
        "polars_over_batch_shuffled": ratio(polars_shuffled, batch_shuffled),
        "total": totals.pop(),
    }
    if args.record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        cells = " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in summary.values())
        append_row(
            COMPARE_SECTION, COMPARE_HEADER, f"| {stamp} | {machine()} | {versions()} | {cells} |\n"
        )
    emit(args, summary)


def emit(args: argparse.Namespace, result: dict[str, object]) -> None:
    """Print a run's figures: one JSON line with ``--format json``, else a table."""
    if args.format == "json":
        print(json.dumps(result))
    else:
        Console().print(result)


KERNEL_SECTION = "## Runs (appended by `python -m bench kernel --record`)"
CLOSE_SECTION = "## Month close runs (appended by `python -m bench close --record`)"
CLOSE_HEADER = (
    "| date (UTC) | machine | versions | backend | path | events | accounts | setup s "
    "| close s | events/s | peak RSS MB | invoices | total |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def append_row(section: str, header: str, row: str) -> None:
    """Add ``row`` at the end of ``section``'s table (the section is created if missing)."""
    lines = RESULTS.read_text().splitlines(keepends=True) if RESULTS.exists() else []
    if not any(line.strip() == section for line in lines):
        RESULTS.write_text("".join(lines) + f"\n{section}\n\n{header}{row}")
        return
    at = next(i for i, line in enumerate(lines) if line.strip() == section) + 1
    while at < len(lines) and not lines[at].startswith("|"):
        at += 1
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines.insert(at, row)
    RESULTS.write_text("".join(lines))


def record(result: dict[str, object]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    row = (
        f"| {stamp} | {machine()} | {versions()} | {result['engine']} | {result['events']:,} "
        f"| {result['seconds']} | {result['events_per_s']:,} | {result['peak_rss_mb']} "
        f"| {result['total']} |\n"
    )
    append_row(KERNEL_SECTION, HEADER, row)


def record_close(result: dict[str, object]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    row = (
        f"| {stamp} | {machine()} | {versions()} | {result['backend']} | {result['path']} "
        f"| {result['events']:,} | {result['accounts']:,} | {result['setup_seconds']} "
        f"| {result['seconds']} | {result['events_per_s']:,} | {result['peak_rss_mb']} "
        f"| {result['invoices']:,} | {result['total']} |\n"
    )
    append_row(CLOSE_SECTION, CLOSE_HEADER, row)


def cmd_close_setup(args: argparse.Namespace) -> None:
    print(setup(args.backend, args.events, args.accounts, args.seed, DATA))


def cmd_close(args: argparse.Namespace) -> None:
    url, setup_seconds = prepared(args.backend, args.events, args.accounts, args.seed, HERE)
    try:
        settings = Settings(database_url=url)
        database = Database(url)
        started = time.perf_counter()
        if args.path == "fast":
            generated = close.generate(database, JULY, settings).generated
        else:
            generated = invoices.generate(database, JULY, settings)
        seconds = time.perf_counter() - started
        database.dispose()
    finally:
        drop(url)
    result = {
        "backend": args.backend,
        "path": args.path,
        "events": args.events,
        "accounts": args.accounts,
        "setup_seconds": round(setup_seconds, 1),
        "seconds": round(seconds, 3),
        "events_per_s": round(args.events / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "invoices": len(generated),
        "total": str(sum((Decimal(g.total) for g in generated), Decimal(0))),
    }
    if args.record:
        record_close(result)
    emit(args, result)


INGEST_SECTION = "## HTTP ingestion runs (appended by `python -m bench ingest --record`)"
INGEST_HEADER = (
    "| date (UTC) | machine | versions | workers | clients | batch | events | sent (with "
    "resends) | duplicates | seconds | events/s | stored in db |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def cmd_ingest(args: argparse.Namespace) -> None:
    """Ingestion over HTTP into PostgreSQL with dedupe (see bench/ingest.py)."""
    outcome = run_ingest(args.events, args.workers, args.batch, args.clients, args.duplicates)
    if (
        outcome.stored_in_db != outcome.events
        or outcome.duplicates != outcome.sent - outcome.events
    ):
        raise SystemExit(f"ingestion lost or double-counted events: {outcome}")
    result = {
        "workers": args.workers,
        "clients": args.clients,
        "batch": args.batch,
        "events": outcome.events,
        "sent": outcome.sent,
        "duplicates": outcome.duplicates,
        "seconds": round(outcome.seconds, 3),
        "events_per_s": round(outcome.events_per_s),
        "stored_in_db": outcome.stored_in_db,
    }
    if args.record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        row = (
            f"| {stamp} | {machine()} | {versions()} | {args.workers} | {args.clients} "
            f"| {args.batch} | {outcome.events:,} | {outcome.sent:,} | {outcome.duplicates:,} "
            f"| {result['seconds']} | {result['events_per_s']:,} | {outcome.stored_in_db:,} |\n"
        )
        append_row(INGEST_SECTION, INGEST_HEADER, row)
    emit(args, result)


def cmd_spark(args: argparse.Namespace) -> None:
    """Embedded kernel, Polars query and Spark on one file; the totals must be identical."""
    path = ensure_data(args.events, args.seed)
    ERR.print(f"warm-up (compiled loop loaded): {warm_up():.2f} s, not timed")
    results = compare_spark(path, args.events, args.cores, args.partitions)
    for result in results:
        emit(args, result)
    if args.record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        append_row(SPARK_SECTION, SPARK_HEADER, spark_row(stamp, machine(), versions(), results))


def cmd_stream(args: argparse.Namespace) -> None:
    """Streaming kernel and Polars query per size; every total must be identical."""
    sizes = [int(size) for size in args.sizes.split(",")]
    ERR.print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    for events in sizes:
        path = stream_path(DATA, events, args.seed, args.row_group)
        generated = not path.exists()
        if generated:
            started = time.perf_counter()
            cmd = [sys.executable, "-m", "bench", "generate", "--events", str(events)]
            cmd += ["--seed", str(args.seed), "--row-group", str(args.row_group)]
            subprocess.run(cmd, check=True, cwd=HERE.parent)
            ERR.print(f"generated {events:,} events in {time.perf_counter() - started:.1f} s")
        skip = polars_skip_reason(events)
        if skip:
            print(skip)
        # the one-shot kernel too where it reads the file once (up to its 10M-row shards)
        engines = ["stream", *(["batch"] if events <= 10_000_000 else []), "polars"]
        engines = engines[:-1] if skip else engines
        runs: dict[str, list[dict[str, object]]] = {engine: [] for engine in engines}
        per_size: set[str] = set()
        for _ in range(args.repeat):
            for engine in [e for e in engines if e in runs]:
                limit = args.polars_timeout if engine == "polars" else None
                result = run_child(HERE.parent, engine, path, events, limit)
                if result is None:
                    print(f"polars query stopped at {events:,} events: not done in {limit} s")
                    del runs[engine]
                    break
                emit(args, result)
                runs[engine].append(result)
                per_size.add(str(result["total"]))
        if len(per_size) != 1:
            raise SystemExit(f"engines disagree on the total at {events:,}: {sorted(per_size)}")
        emit(args, {**summary(events, runs), "total": per_size.pop()})
        if args.delete and generated and events >= 100_000_000:
            path.unlink()
            ERR.print(f"deleted {path}")


def cmd_stream_run(args: argparse.Namespace) -> None:
    """One engine of ``stream`` on one file (a child process: its own peak RSS)."""
    path = Path(args.file)
    if args.engine != "polars":
        ERR.print(f"warm-up (compiled loop loaded): {warm_up():.2f} s, not timed")
    amount, seconds = timed(args.engine, path)
    print(
        json.dumps(
            {
                "engine": args.engine,
                "events": args.events,
                "seconds": round(seconds, 3),
                "ns_per_event": round(seconds * 1e9 / args.events, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "total": str(amount),
            }
        )
    )


def cmd_profile(args: argparse.Namespace) -> None:
    """Where the batch kernel's time goes: cProfile of one run (the compiled loop, Arrow and
    Polars calls are leaves)."""
    path = ensure_data(args.events, args.seed)
    catalog = load_catalog("us")
    warm_up()
    profiler = cProfile.Profile()
    profiler.enable()
    amount = sum(result.total() for result in rate_parquet_shards(catalog, path))
    profiler.disable()
    ERR.print(f"total {amount}")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(text.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("kernel", "generate", "profile", "close", "close-setup", "ingest", "spark"):
        command = sub.add_parser(name)
        command.add_argument("--events", type=int, required=True)
        if name == "generate":
            command.add_argument("--row-group", type=int, default=0, help="rows (stream files)")
        command.add_argument("--seed", type=int, default=7)
        if name in ("kernel", "close", "ingest", "spark"):
            command.add_argument("--format", choices=["text", "json"], default="text")
            command.add_argument(
                "--record", action="store_true", help="append the figures to bench/RESULTS.md"
            )
            # the default since recording became opt-in; still accepted for older scripts
            command.add_argument("--no-record", action="store_true", help=argparse.SUPPRESS)
        if name == "kernel":
            engines = ["batch", "reference", "polars"]
            command.add_argument("--engine", choices=engines, default="batch")
            command.add_argument("--compare", action="store_true", help="see the module doc")
            command.add_argument("--repeat", type=int, default=3)
        if name in ("kernel", "generate"):
            command.add_argument("--shuffled", action="store_true", help="rows in random order")
        if name in ("close", "close-setup"):
            command.add_argument("--accounts", type=int, required=True)
            command.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
        if name == "close":
            command.add_argument("--path", choices=["fast", "existing"], default="fast")
        if name == "profile":
            command.add_argument("--top", type=int, default=30)
        if name == "spark":
            command.add_argument("--cores", type=int, default=2, help="Spark local[N]")
            command.add_argument("--partitions", type=int, default=None, help="default: auto")
        if name == "ingest":
            command.add_argument("--workers", type=int, default=2)
            command.add_argument("--clients", type=int, default=4)
            command.add_argument("--batch", type=int, default=1000)
            command.add_argument("--duplicates", type=int, default=10, help="percent resent")
    stream = sub.add_parser("stream")
    stream.add_argument("--sizes", default="1000000,10000000", help="comma-separated events")
    stream.add_argument("--seed", type=int, default=7)
    stream.add_argument("--repeat", type=int, default=1)
    stream.add_argument("--row-group", type=int, default=STREAM_ROW_GROUP)
    stream.add_argument("--polars-timeout", type=float, default=300, help="seconds")
    stream.add_argument("--delete", action="store_true", help="remove 100M+ files made here")
    stream.add_argument("--format", choices=["text", "json"], default="text")
    run = sub.add_parser("stream-run")
    run.add_argument("--events", type=int, required=True)
    run.add_argument("--engine", choices=["stream", "batch", "polars"], required=True)
    run.add_argument("--file", required=True)
    args = parser.parse_args(argv)
    commands = {
        "kernel": cmd_kernel,
        "generate": cmd_generate,
        "profile": cmd_profile,
        "close": cmd_close,
        "close-setup": cmd_close_setup,
        "ingest": cmd_ingest,
        "spark": cmd_spark,
        "stream": cmd_stream,
        "stream-run": cmd_stream_run,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
