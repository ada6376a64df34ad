"""The streaming rating (row group by row group, each read once) equals the one-shot kernel.

Files are written with tiny row groups (1 to 7 rows) so that every boundary case happens:
straddles of a tier bound across a row group boundary, ties in time split between row
groups, months and several pools (one per billing account, one per account) and a per-unit
price across boundaries.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ratecard.catalog.load import parse_catalog
from ratecard.catalog.model import Catalog
from ratecard.errors import NoPriceError, RatingError
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating.batch import invoice_total, rate_parquet_shards
from ratecard.rating.columns import parquet_writer, usages_to_frame
from ratecard.rating.lines import Line
from ratecard.rating.stream import rate_parquet_stream

NOON = datetime(2026, 1, 31, 23, 59, 50, tzinfo=UTC)  # ten seconds before February
OWNERS = {"A": "A", "B": "A", "C": "C"}
JANUARY = Month(2026, 1)


def catalog() -> Catalog:
    return parse_catalog(
        {
            "name": "stream",
            "version": "1",
            "currency": "USD",
            "effective": "2025-01-01",
            "categories": {c: {"description": c, "unit": "units"} for c in "abcd"},
            "pools": [
                {
                    "name": "p",
                    "scope": "billing_account",
                    "countries": ["*"],
                    "tiers": [{"up_to": "10"}, {"up_to": "20"}, {}],
                    "rates": {"a": ["1", "0.5", "0.1"], "b": ["2", "0.25", "0.05"]},
                },
                {
                    "name": "q",
                    "scope": "account",
                    "countries": ["*"],
                    "tiers": [{"up_to": "5"}, {}],
                    "rates": {"c": ["3", "0.7"]},
                },
            ],
            "prices": [{"category": "d", "model": "per_unit", "rate": "0.013"}],
        }
    )


def usage(event: str, category: str, units: int, account: str = "A", second: int = 0) -> Usage:
    return Usage(event, account, NOON + timedelta(seconds=second), category, Decimal(units))


def write(path: Path, usages: list[Usage], row_group: int) -> Path:
    table = usages_to_frame(usages, OWNERS).drop("amount").to_arrow()
    with parquet_writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=row_group)
    return path


def amounts(lines: tuple[Line, ...]) -> dict[tuple[str, int | None], Decimal]:
    return {(line.category, line.tier): line.amount for line in lines}


def one_shot(cat: Catalog, path: Path) -> dict[Any, tuple[Line, ...]]:
    lines: dict[Any, tuple[Line, ...]] = {}
    for result in rate_parquet_shards(cat, path):
        lines.update(result.lines())
    return lines


def test_a_straddle_across_a_row_group_boundary_is_split_at_the_bound(tmp_path: Path) -> None:
    # One row per row group: a 6 at second 0, then a 6 at second 1 counted from 6, so
    # 4 units fill tier 1 (to 10) at $1 and 2 go to tier 2 at $0.50: 10.00 + 1.00.
    rows = [usage("e1", "a", 6), usage("e2", "a", 6, second=1)]
    path = write(tmp_path / "u.parquet", rows, row_group=1)
    lines = rate_parquet_stream(catalog(), path).lines()[("A", JANUARY)]
    assert amounts(lines) == {("a", 1): Decimal("10.00"), ("a", 2): Decimal("1.00")}


def test_a_tie_split_between_row_groups_is_rated_in_event_id_order(tmp_path: Path) -> None:
    # Same instant, stored e2 then e1, one per row group. In event-id order b 8 x 2 = 16.00
    # in tier 1, then a 2 x 1 = 2.00 and 6 x 0.5 = 3.00: 21.00 (file order would be 13.50).
    rows = [usage("e2", "a", 8), usage("e1", "b", 8)]
    path = write(tmp_path / "u.parquet", rows, row_group=1)
    lines = rate_parquet_stream(catalog(), path).lines()
    assert amounts(lines[("A", JANUARY)]) == {
        ("a", 1): Decimal("2.00"),
        ("a", 2): Decimal("3.00"),
        ("b", 1): Decimal("16.00"),
    }
    assert invoice_total(lines) == Decimal("21.00")


def test_counters_start_again_in_a_new_month(tmp_path: Path) -> None:
    # 12 units in January (10 at $1, 2 at $0.50), 12 in February: the same again.
    rows = [usage("e1", "a", 12, second=9), usage("e2", "a", 12, second=10)]
    path = write(tmp_path / "u.parquet", rows, row_group=1)
    lines = rate_parquet_stream(catalog(), path).lines()
    for month in (JANUARY, Month(2026, 2)):
        assert amounts(lines[("A", month)]) == {
            ("a", 1): Decimal("10.00"),
            ("a", 2): Decimal("1.00"),
        }


def random_usages(seed: int, count: int) -> list[Usage]:
    rng = random.Random(seed)
    usages = [
        usage(
            f"e{rng.randrange(10**6):06d}-{i}",
            rng.choice("aabbcd"),
            rng.randrange(0, 5),
            account=rng.choice("ABC"),
            second=rng.randrange(0, 20),  # few instants: many ties, across a month start
        )
        for i in range(count)
    ]
    return sorted(usages, key=lambda u: u.time)  # stable: ties keep a random id order


@pytest.mark.parametrize("row_group", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("seed", range(6))
def test_streaming_equals_the_one_shot_kernel_line_by_line(
    tmp_path: Path, seed: int, row_group: int
) -> None:
    path = write(tmp_path / "u.parquet", random_usages(seed, 120), row_group)
    streamed = rate_parquet_stream(catalog(), path, threads=1)
    expected = one_shot(catalog(), path)
    assert streamed.lines() == expected
    assert streamed.total() == invoice_total(expected)
    assert len(expected) >= 4  # two billing accounts, two months


def test_rows_unsorted_inside_row_groups_in_order_are_rated_as_sorted(tmp_path: Path) -> None:
    usages = random_usages(11, 60)
    shuffled: list[Usage] = []
    for start in range(0, len(usages), 7):  # each row group's rows reversed
        shuffled.extend(reversed(usages[start : start + 7]))
    path = write(tmp_path / "u.parquet", shuffled, row_group=7)
    reference = write(tmp_path / "sorted.parquet", usages, row_group=60)
    assert rate_parquet_stream(catalog(), path).lines() == one_shot(catalog(), reference)


def test_row_groups_out_of_time_order_are_refused(tmp_path: Path) -> None:
    rows = [usage("e1", "a", 1, second=5), usage("e2", "a", 1, second=1)]
    path = write(tmp_path / "u.parquet", rows, row_group=1)
    with pytest.raises(RatingError, match=r"row group 1 starts at .*rate_parquet_shards"):
        rate_parquet_stream(catalog(), path)


def test_usage_without_a_price_is_listed_once_for_the_whole_file(tmp_path: Path) -> None:
    rows = [usage(f"e{i}", "x" if i % 2 else "a", 1, second=i) for i in range(6)]
    path = write(tmp_path / "u.parquet", rows, row_group=2)
    with pytest.raises(NoPriceError) as raised:
        rate_parquet_stream(catalog(), path)
    (item,) = raised.value.unpriced
    assert (item.category, item.first_event, item.count) == ("x", "e1", 3)
