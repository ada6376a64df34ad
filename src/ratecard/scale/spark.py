"""``ratecard rate --engine spark``: the pooled-tier rating as a Spark job, same kernel inside.

The job reads usage columns (:mod:`ratecard.rating.columns`: the exported layout of
:mod:`ratecard.scale.layout`, or any Parquet of those columns), repartitions them by billing
account (``repartition(n, "billing_account")``: every row of one billing account, its
subaccounts' included, lands in one partition, and pools are counted per billing account and
month), and rates each partition with :func:`ratecard.rating.batch.rate_rows` in a Python
worker (``mapInArrow``: Arrow record batches in, rated lines out). The tier logic is the
batch kernel's, not a Spark SQL rewrite of it, so both engines agree line for line.

Then the lines are written as Parquet (``OUT/lines``), read back, and the invoice totals
summed by Spark in ``DecimalType(38, m)`` (exact; never a double) and written as decimal
strings (``OUT/totals``), as :mod:`ratecard.scale.output` describes.

PySpark (the ``ratecard[spark]`` extra) and a Java runtime are needed only here, and looked
for before anything starts (:func:`require_spark`).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from ratecard.catalog.model import Catalog
from ratecard.errors import ConfigError, RatecardError, RatingError
from ratecard.money import minor_units
from ratecard.periods import Month
from ratecard.rating.batch import rate_rows
from ratecard.rating.columns import AMOUNT_COLUMN, SCHEMA
from ratecard.rating.rows import frame_rows
from ratecard.scale.embedded import Rated
from ratecard.scale.layout import month_dir
from ratecard.scale.output import LINES, TOTALS, lines_schema, lines_table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Rows per Spark partition the job aims at when not told (each partition is rated in one
#: Python worker, whole, so this bounds a worker's memory: ~2M rows is a few hundred MB).
PARTITION_ROWS = 2_000_000
#: Brackets a kernel error's text inside Spark's task failure (which wraps it in tracebacks).
_MARK = "@@ratecard@@"
_MARKED = re.compile(re.escape(_MARK) + "(.*?)" + re.escape(_MARK), re.DOTALL)


def java_command() -> str | None:
    """The ``java`` Spark would start: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def require_spark() -> None:
    """ConfigError naming ``--engine spark`` when PySpark or a Java runtime is missing."""
    if find_spec("pyspark") is None:
        raise ConfigError(
            "--engine spark needs PySpark, which is not installed: pip install 'ratecard[spark]' "
            "(or use --engine embedded)"
        )
    if java_command() is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if os.environ.get("JAVA_HOME") else "PATH"
        raise ConfigError(
            f"--engine spark needs a Java runtime (17 or newer) and found no java on {where}: "
            "install one (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )


def start_session(master: str | None, config: Mapping[str, str] | None = None) -> SparkSession:
    """A SparkSession: on ``master`` (``local[N]``, ``yarn``, ``spark://...``) or, when None,
    on whatever ``spark-submit`` configured. Local sessions run their Python workers on this
    interpreter (where ratecard is installed) and start no web UI."""
    require_spark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("ratecard-rate")
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            # the workers must run this interpreter (where ratecard is installed); Spark reads
            # the variable when it forks them, whatever the configuration says
            os.environ["PYSPARK_PYTHON"] = sys.executable
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            local = {
                "spark.pyspark.python": sys.executable,
                "spark.pyspark.driver.python": sys.executable,
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
            }
            for key, value in local.items():
                builder = builder.config(key, value)
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def month_sources(events: str, months: Sequence[Month]) -> list[str]:
    """The month partitions to read under ``events`` (a path or a URI, e.g. ``s3a://...``);
    a local one that does not exist is a ConfigError naming ``--events``."""
    sources = [f"{events.rstrip('/')}/month={month}" for month in months]
    if "://" not in events:
        for month in months:
            if not month_dir(Path(events), month).is_dir():
                raise ConfigError(
                    f"--events {events}: no partition month={month} (write one with "
                    f"'ratecard export events --month {month} --to {events}')"
                )
    return sources


def rate_spark(
    spark: SparkSession,
    sources: Sequence[str],
    catalog: Catalog,
    out: str,
    partitions: int | None = None,
) -> Rated:
    """Rate the usage columns in ``sources`` (Parquet files or directories) on ``spark`` and
    write ``out/lines`` and ``out/totals`` (overwritten).

    ``partitions``: Spark partitions of billing accounts (default: at least the cluster's
    parallelism, and about :data:`PARTITION_ROWS` rows each). RatingError / NoPriceError with
    the kernel's own message when a partition cannot be rated.
    """
    from pyspark.sql import functions as fn

    started = time.perf_counter()
    # the files under each source, without partition discovery: the columns are the usage
    # columns alone (month and bucket are in the rows' times and billing accounts already)
    frame = spark.read.option("recursiveFileLookup", "true").parquet(*sources)
    wanted = [*SCHEMA, *([AMOUNT_COLUMN] if AMOUNT_COLUMN in frame.columns else [])]
    frame = frame.select(*wanted)
    rows = frame.count()
    if partitions is None:
        partitions = max(spark.sparkContext.defaultParallelism, -(-rows // PARTITION_ROWS))
    rated = frame.repartition(partitions, "billing_account").mapInArrow(
        functools.partial(rate_partition, catalog), _ddl(catalog.currency)
    )
    lines_path, totals_path = f"{out.rstrip('/')}/{LINES}", f"{out.rstrip('/')}/{TOTALS}"
    _run(lambda: rated.write.mode("overwrite").parquet(lines_path))
    lines = spark.read.parquet(lines_path)
    totals = (
        lines.groupBy("billing_account", "month")
        .agg(fn.count("*").cast("long").alias("lines"), fn.sum("amount").alias("total"))
        .select(
            "billing_account",
            "month",
            fn.lit(catalog.currency).alias("currency"),
            "lines",
            fn.col("total").cast("string").alias("total"),
        )
        .orderBy("billing_account", "month")
    )
    totals.write.mode("overwrite").parquet(totals_path)
    invoices = fn.countDistinct("billing_account", "month")
    summary = lines.agg(fn.count("*"), fn.sum("amount"), invoices).first()
    assert summary is not None  # a global aggregate has one row
    count, total, invoiced = summary[0], summary[1], summary[2]
    return Rated(
        engine="spark",
        events=rows,
        lines=int(count),
        invoices=int(invoiced),
        total=Decimal(total) if total is not None else _zero(catalog.currency),
        currency=catalog.currency,
        seconds=time.perf_counter() - started,
    )


def rate_partition(catalog: Catalog, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One Spark partition (whole billing accounts), rated by the batch kernel on one thread
    (a task has one core): its lines as Arrow batches of :func:`lines_schema` (all fields
    nullable, as Spark declares them)."""
    received = list(batches)
    if not received or not sum(batch.num_rows for batch in received):
        return
    frame = pl.from_arrow(pa.Table.from_batches(received))
    assert isinstance(frame, pl.DataFrame)
    try:
        result = rate_rows(catalog, frame_rows(frame), threads=1)
        table = lines_table(result)
    except RatecardError as exc:  # carried to the driver inside Spark's task failure
        raise RuntimeError(f"{_MARK}{type(exc).__name__}: {exc}{_MARK}") from exc
    nullable = pa.schema([field.with_nullable(True) for field in table.schema])
    yield from table.cast(nullable).to_batches()


def _run(action: Callable[[], None]) -> None:
    """Run a Spark action; a kernel error raised in a task comes back as RatingError with the
    kernel's message (not Spark's page of JVM and Python tracebacks)."""
    try:
        action()
    except Exception as exc:
        found = _MARKED.search(str(exc))
        if found is None:
            raise
        raise RatingError(found.group(1)) from None


def _ddl(currency: str) -> str:
    """Spark's schema of the rated lines (the Arrow one, :func:`lines_schema`, in DDL)."""
    kinds = {pa.string(): "string", pa.int32(): "int", pa.int64(): "bigint"}
    columns = []
    for field in lines_schema(currency):
        if pa.types.is_decimal(field.type):
            columns.append(f"{field.name} decimal({field.type.precision},{field.type.scale})")
        else:
            columns.append(f"{field.name} {kinds[field.type]}")
    return ", ".join(columns)


def _zero(currency: str) -> Decimal:
    """0 at the currency's minor unit (``0.00``): the total of no lines."""
    return Decimal(0).scaleb(-minor_units(currency))
