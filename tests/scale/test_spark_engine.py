"""The Spark engine rates as the embedded batch kernel does, line for line (issue 13 item 4).

Spark runs in local mode (one session for the module's tests, ``conftest.spark``); inside its
tasks the batch kernel itself rates each partition of billing accounts, so these tests check
the partitioning (every billing account whole in one task, months kept apart) and the way
lines and totals come back (exact decimals), on generated data with straddles, ties, several
pools and months, and on a hand-computed tie.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from scale_data import MONTHS, catalog, frame

from ratecard.errors import RatingError
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating.batch import rate_frame
from ratecard.rating.columns import usages_to_frame
from ratecard.scale.embedded import rate_embedded
from ratecard.scale.layout import write_partitioned
from ratecard.scale.output import LINES, TOTALS, lines_table, read_table, totals_table
from ratecard.scale.spark import month_sources, rate_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def rows(table: Any) -> list[dict[str, Any]]:
    """A lines or totals table as dicts, in (billing account, month, line) order."""
    found = table.to_pylist()
    return sorted(found, key=lambda r: (r["billing_account"], r["month"], r.get("line", 0)))


def test_spark_rates_generated_months_line_for_line_as_the_embedded_kernel(
    spark: SparkSession, tmp_path: Path
) -> None:
    usage = frame()
    expected = lines_table(rate_frame(catalog(), usage))  # one call over everything
    # the data has what the test is about: events split across tiers (more line pieces than
    # events), events of one billing account at one instant, and every month
    assert sum(expected.column("events").to_pylist()) > usage.height
    assert usage.group_by("billing_account", "time").len()["len"].max() > 1
    assert sorted(set(expected.column("month").to_pylist())) == MONTHS
    assert {"voice", "messages", None} == set(expected.column("pool").to_pylist())
    write_partitioned(usage, tmp_path / "events", buckets=4)
    months = [Month.parse(m) for m in MONTHS]
    out = tmp_path / "spark"
    # five tasks for six billing accounts (two with subaccounts): each must get whole ones
    rated = rate_spark(
        spark, month_sources(str(tmp_path / "events"), months), catalog(), str(out), partitions=5
    )
    assert rows(read_table(out, LINES)) == rows(expected)
    totals = totals_table(expected, "USD")
    assert rows(read_table(out, TOTALS)) == rows(totals)
    assert rated.events == usage.height
    assert rated.lines == expected.num_rows
    assert rated.invoices == totals.num_rows == 6 * 3
    assert rated.total == sum(Decimal(t) for t in totals.column("total").to_pylist())
    embedded = rate_embedded(catalog(), tmp_path / "events", months, tmp_path / "embedded")
    assert rows(read_table(tmp_path / "embedded", LINES)) == rows(expected)
    assert (embedded.total, embedded.events) == (rated.total, rated.events)


NOON = datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_a_tie_at_a_bound_is_split_in_event_id_order_inside_a_spark_task(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Two events at one instant straddling the voice pool's first bound (10 units), stored
    # with the later event id first, one from the billing account and one from its
    # subaccount. In event-id order e1 (b, 8 units) comes first: b 8 x 2 = 16.00 in tier 1,
    # then a 2 x 1 = 2.00 in tier 1 and 6 x 0.5 = 3.00 in tier 2: 21.00. In stored order it
    # would be a 8 x 1 + b (2 x 2 + 6 x 0.25) = 13.50. ACP1 alone: t 3 x 0.005 = 0.015 -> 0.02.
    tied = [
        Usage("e2", "ACP0", NOON, "a", Decimal(8), "US"),
        Usage("e1", "ACP0a", NOON, "b", Decimal(8), "US"),
        Usage("e3", "ACP1", NOON, "t", Decimal(3), "US"),
    ]
    source = tmp_path / "tied.parquet"
    usages_to_frame(tied, {"ACP0": "ACP0", "ACP0a": "ACP0", "ACP1": "ACP1"}).write_parquet(source)
    rated = rate_spark(spark, [str(source)], catalog(), str(tmp_path / "out"), partitions=3)
    lines = {
        (r["billing_account"], r["category"], r["tier"]): (r["quantity"], r["amount"])
        for r in read_table(tmp_path / "out", LINES).to_pylist()
    }
    assert lines == {
        ("ACP0", "a", 1): ("2", Decimal("2.00")),
        ("ACP0", "a", 2): ("6", Decimal("3.00")),
        ("ACP0", "b", 1): ("8", Decimal("16.00")),
        ("ACP1", "t", None): ("3", Decimal("0.02")),
    }
    totals = read_table(tmp_path / "out", TOTALS).to_pylist()
    assert {r["billing_account"]: r["total"] for r in totals} == {"ACP0": "21.00", "ACP1": "0.02"}
    assert rated.total == Decimal("21.02")


def test_usage_without_a_price_fails_the_spark_job_with_the_kernels_message(
    spark: SparkSession, tmp_path: Path
) -> None:
    unpriced = [Usage("e9", "ACP1", NOON, "zz", Decimal(1), "US")]
    source = tmp_path / "unpriced.parquet"
    usages_to_frame(unpriced, {"ACP1": "ACP1"}).write_parquet(source)
    with pytest.raises(RatingError, match=r"no price in the catalog for:\n.*category 'zz'"):
        rate_spark(spark, [str(source)], catalog(), str(tmp_path / "out"))


def test_an_empty_month_rates_to_no_lines_and_a_zero_total(
    spark: SparkSession, tmp_path: Path
) -> None:
    source = tmp_path / "empty.parquet"
    frame().clear().write_parquet(source)
    rated = rate_spark(spark, [str(source)], catalog(), str(tmp_path / "out"))
    assert (rated.events, rated.lines, rated.invoices) == (0, 0, 0)
    assert str(rated.total) == "0.00"
    assert pl.from_arrow(read_table(tmp_path / "out", LINES)).height == 0
