"""Commands of the scale-out path: ``export events`` and ``rate`` (:mod:`ratecard.scale`).

Registered on the main app by :func:`register`. Summaries go to stdout (one line, or JSON),
progress to stderr; errors print to stderr and exit non-zero.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ratecard.catalog import load_catalog
from ratecard.catalog.model import Catalog
from ratecard.cli.common import Format, emit_json, err, fail, open_store, out, parse_month
from ratecard.errors import RatecardError
from ratecard.periods import Month
from ratecard.scale.embedded import Rated, rate_embedded
from ratecard.scale.export import export_events
from ratecard.scale.layout import DEFAULT_BUCKETS

export_app = typer.Typer(help="Write stored data as files for other engines.", no_args_is_help=True)


class Engine(StrEnum):
    embedded = "embedded"
    spark = "spark"


def _progress(what: str) -> Progress:
    """A progress bar on stderr, shown only to a person watching (not when piped)."""
    return Progress(
        TextColumn(f"[bold]{what}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@export_app.command("events")
def export_events_command(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    to: Annotated[Path, typer.Option(help="Root directory of the partitioned Parquet.")],
    buckets: Annotated[
        int, typer.Option(help="Buckets of billing accounts (crc32 of the sid mod buckets).")
    ] = DEFAULT_BUCKETS,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Write a month's stored usage as Parquet: TO/month=YYYY-MM/bucket=NN/part-*.parquet."""
    period = parse_month(month)
    db, settings = open_store()
    try:
        with _progress("exporting") as bar:
            task = bar.add_task("billing accounts", total=None)

            def progress(done: int, total: int, rows: int) -> None:
                bar.update(task, completed=done, total=total, description=f"{rows:,} rows")

            exported = export_events(db, settings, period, to, buckets, progress)
    except (RatecardError, OSError) as exc:
        fail(str(exc))
    if exported.flex_accounts:
        err.print(
            f"{len(exported.flex_accounts)} billing account(s) have Flex instances: their Flex "
            "seats and hours are not usage columns and are not in the export",
            highlight=False,
        )
    if format is Format.json:
        emit_json(
            {
                "month": str(period),
                "path": str(exported.path),
                "events": exported.events,
                "files": exported.files,
                "bytes": exported.bytes,
                "billing_accounts": exported.billing_accounts,
                "flex_accounts": list(exported.flex_accounts),
            }
        )
        return
    out.print(
        f"exported {exported.events} events of {period} ({exported.billing_accounts} billing "
        f"accounts) to {exported.path}: {exported.files} files, {exported.bytes} bytes",
        highlight=False,
        soft_wrap=True,
    )


def rate_command(
    events: Annotated[str, typer.Option(help="Root of the exported Parquet (a path or a URI).")],
    catalog: Annotated[str, typer.Option(help="A shipped catalog name (us) or a .toml path.")],
    month: Annotated[list[str], typer.Option(help="The month, YYYY-MM (repeat for more).")],
    out_dir: Annotated[
        str, typer.Option("--out", help="Where lines/ and totals/ are written (replaced).")
    ],
    engine: Annotated[Engine, typer.Option(help="embedded or spark.")] = Engine.embedded,
    master: Annotated[
        str, typer.Option(help="Spark master (--engine spark), e.g. local[4], yarn.")
    ] = "local[*]",
    partitions: Annotated[
        int | None, typer.Option(help="Spark partitions of billing accounts (default: auto).")
    ] = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Rate exported usage with the batch kernel, here or on Spark; write lines and totals."""
    months = [parse_month(text) for text in month]
    if partitions is not None and partitions < 1:
        raise typer.BadParameter(f"must be at least 1, got {partitions}", param_hint="--partitions")
    try:
        loaded = load_catalog(catalog)
        if engine is Engine.spark:
            rated = _rate_on_spark(loaded, events, months, out_dir, master, partitions)
        else:
            with _progress("rating") as bar:
                task = bar.add_task("buckets", total=None)
                rated = rate_embedded(
                    loaded,
                    Path(events),
                    months,
                    Path(out_dir),
                    lambda done, total: bar.update(task, completed=done, total=total),
                )
    except (RatecardError, OSError) as exc:
        fail(str(exc))
    _summary(rated, months, out_dir, format)


def _rate_on_spark(
    catalog: Catalog,
    events: str,
    months: list[Month],
    out_dir: str,
    master: str,
    partitions: int | None,
) -> Rated:
    """Start Spark (after checking PySpark and Java are there), run the job, stop Spark."""
    from ratecard.scale.spark import month_sources, rate_spark, require_spark, start_session

    require_spark()
    sources = month_sources(events, months)
    spark = start_session(master)
    try:
        return rate_spark(spark, sources, catalog, out_dir, partitions)
    finally:
        spark.stop()


def _summary(rated: Rated, months: list[Month], out_dir: str, format: Format) -> None:
    if format is Format.json:
        emit_json({**rated.summary(), "months": [str(m) for m in months], "out": out_dir})
        return
    out.print(
        f"{rated.engine}: rated {rated.events} events of {', '.join(map(str, months))}: "
        f"{rated.lines} lines on {rated.invoices} invoices, total {rated.total} "
        f"{rated.currency}, in {rated.seconds:.2f} s ({rated.events_per_s} events/s); wrote "
        f"{out_dir}/lines and {out_dir}/totals",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``rate`` to the main ``ratecard`` app."""
    app.add_typer(export_app, name="export")
    app.command("rate")(rate_command)
