"""Rows not in time order: the radix sort that orders them, and the kernel's lines on them.

:func:`ratecard.rating.order.time_order` must be exactly ``np.argsort(kind="stable")`` (ties in
time keep input order: the kernel's tie runs are then settled by event id as for ordered
input). The batch kernel on shuffled rows must give line for line what it gives on the same
rows in time order and what the reference kernel gives: with ties in time that straddle tier
bounds, several pools of either scope, two months, one thread and two, and the tie
bookkeeping overflowing.
"""

from __future__ import annotations

import importlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_differential import BILLING, catalogs, reference, table, usage_lists

from ratecard.catalog.load import load_catalog
from ratecard.catalog.model import Catalog
from ratecard.prices.metered import Usage
from ratecard.rating import batch
from ratecard.rating.batch import rate_frame
from ratecard.rating.columns import usages_to_frame, write_parquet
from ratecard.rating.order import sort_by_time, time_order

ROOT = Path(__file__).resolve().parents[2]
INT64 = st.integers(-(2**63), 2**63 - 1)


def check(time: np.ndarray) -> None:
    order, ordered = time_order(time)
    expected = np.argsort(time, kind="stable")
    assert np.array_equal(order, expected)
    assert np.array_equal(ordered, time[expected])


@settings(max_examples=200, deadline=None)
@given(
    base=INT64,
    offsets=st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=300),
    shift=st.integers(0, 63),
)
def test_the_radix_sort_is_a_stable_argsort(base: int, offsets: list[int], shift: int) -> None:
    # spans from one value (all tied) to the whole int64 range, wrapping kept inside int64
    values = [(base + (offset >> shift)) for offset in offsets]
    values = [v if -(2**63) <= v < 2**63 else v - 2**64 for v in values]
    check(np.array(values, dtype=np.int64))


@pytest.mark.parametrize(
    "span",
    [1, 3, 2**11, 2**22 + 5, 31 * 86400 * 10**6, 2**63 - 1],
)
def test_the_radix_sort_on_large_buckets(span: int) -> None:
    # 300k rows: buckets of the first pass hold far more than the insertion-sort size, so every
    # digit pass runs; many ties (whole seconds) and one heavy instant (skewed buckets)
    rng = np.random.default_rng(span % 1000)
    time = rng.integers(0, span, 300_000, dtype=np.int64, endpoint=True)
    time[::7] = span // 2
    if span > 10**6:
        time -= time % 10**6
    check(time - (span // 3))
    check(np.sort(time))  # already ordered: still the identity


def lines(catalog: Catalog, usages: list[Usage]) -> dict[Any, Any]:
    return table(rate_frame(catalog, usages_to_frame(usages, BILLING)).lines(), events=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalog=catalogs(), usages=usage_lists(), seed=st.integers(0, 2**32))
def test_shuffled_rows_rate_as_ordered_rows_and_as_the_reference(
    catalog: Catalog, usages: list[Usage], seed: int
) -> None:
    ordered = sorted(usages, key=lambda u: u.order_key)
    shuffled = list(usages)
    random.Random(seed).shuffle(shuffled)
    expected = table(reference(catalog, ordered), events=False)
    assert lines(catalog, ordered) == expected
    with pytest.MonkeyPatch.context() as patch:
        for threaded, capacity in (
            (batch._THREADED_ROWS, batch._FLAG_CAPACITY),
            (0, 1 << 16),
            (0, 1),
        ):
            patch.setattr(batch, "_THREADED_ROWS", threaded)  # 0: two threads for a handful
            patch.setattr(batch, "_FLAG_CAPACITY", capacity)  # 1: ties overflow, exact order
            assert lines(catalog, shuffled) == expected


def test_a_shuffled_bench_month_rates_line_for_line_as_in_time_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the bench generator's data (Zipf accounts, whole-second ties), large enough for two
    # threads and for multi-pass radix buckets; few accounts, so the pools' tier bounds are
    # crossed, some inside runs of ties. The bench's Polars query agrees to the cent.
    monkeypatch.syspath_prepend(str(ROOT))
    generate = importlib.import_module("bench.generate").generate
    polars_total = importlib.import_module("bench.polars_query").polars_total
    catalog = load_catalog("us")
    frame = generate(400_000, seed=3, accounts=4)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    first = rate_frame(catalog, frame)
    second = rate_frame(catalog, shuffled)
    assert first.lines() == second.lines()
    assert first.total() == second.total()
    path = tmp_path / "shuffled.parquet"
    write_parquet(shuffled, path)
    assert polars_total(catalog, path) == first.total()


def test_the_bench_compares_ordered_shuffled_and_polars_with_equal_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # ``python -m bench kernel --compare``: four child runs, one summary, one recorded row
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("bench.__main__")
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(bench, "RESULTS", results)
    args = ["kernel", "--events", "1000", "--compare", "--repeat", "1", "--format", "json"]
    bench.main([*args, "--record"])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    engines = [run["engine"] for run in printed[:-1]]
    assert engines == ["batch", "batch shuffled", "polars", "polars shuffled"]
    assert {run["total"] for run in printed} == {printed[0]["total"]}
    assert printed[-1]["runs"] == 1
    assert "| 1,000 | 1 |" in results.read_text()  # events and runs, as the other tables
    assert results.read_text().count(f"| {printed[0]['total']} |") == 1
    sys.modules.pop("bench.__main__", None)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.integers(-(2**15), 2**15 - 1),
            st.integers(-(2**31), 2**31 - 1),
            INT64,
        ),
        max_size=400,
    ),
    small=st.booleans(),
)
def test_columns_move_with_their_rows_whatever_their_range(
    data: list[tuple[int, int, int, int]], small: bool
) -> None:
    """Columns are partitioned in the narrowest type that holds their values and widened
    back: int32 codes that fit in int16, Int64 values that fit in int32, and full-range ones
    must all come back exactly, in ``np.argsort(time, kind="stable")`` order."""
    time = np.array([t for t, *_ in data], dtype=np.int64)
    codes16 = np.array([a for _, a, _, _ in data], dtype=np.int32)
    wide32 = np.array([b for *_, b, _ in data], dtype=np.int64)
    full = np.array([c for *_, c in data], dtype=np.int64)
    if small:  # int64 columns whose values fit in int16
        wide32 = wide32 % 100
    order, ordered, moved = sort_by_time(time, [codes16, wide32, full])
    expected = np.argsort(time, kind="stable")
    assert np.array_equal(order, expected)
    assert np.array_equal(ordered, time[expected])
    for column, result in zip([codes16, wide32, full], moved, strict=True):
        assert result.dtype == column.dtype
        assert np.array_equal(result, column[expected])
