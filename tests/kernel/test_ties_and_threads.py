"""The batch kernel's one-pass loop: ties in time at a tier bound, threads, and the fallbacks.

Rows are rated in time order as they come; where several rows of one counter share an instant
and a tier bound falls among them, the order of their event ids decides the split (SPEC
section 4). These tests pin that with hand-computed amounts and against the reference kernel
on usage made of ties, with the loop on one thread and on two, and with the tie bookkeeping
forced to overflow (every row then rated in exact order).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ratecard.catalog.load import parse_catalog
from ratecard.catalog.model import Catalog
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating import batch
from ratecard.rating.batch import invoice_total, rate_frame, rate_parquet
from ratecard.rating.columns import usages_to_frame, write_parquet
from ratecard.rating.engine import rate
from ratecard.rating.lines import Line, assemble_lines

NOON = datetime(2026, 1, 5, 12, tzinfo=UTC)
OWNERS = {"A": "A", "B": "A", "C": "C"}


def catalog(scope: str = "billing_account") -> Catalog:
    return parse_catalog(
        {
            "name": "ties",
            "version": "1",
            "currency": "USD",
            "effective": "2025-01-01",
            "categories": {c: {"description": c, "unit": "units"} for c in ("a", "b")},
            "pools": [
                {
                    "name": "p",
                    "scope": scope,
                    "countries": ["*"],
                    "tiers": [{"up_to": "10"}, {"up_to": "20"}, {}],
                    "rates": {"a": ["1", "0.5", "0.1"], "b": ["2", "0.25", "0.05"]},
                }
            ],
            "prices": [],
        }
    )


def usage(event: str, category: str, units: int, account: str = "A", second: int = 0) -> Usage:
    return Usage(event, account, NOON + timedelta(seconds=second), category, Decimal(units))


# Two rows at one instant straddling the first bound (10 units), stored with the later event
# id first. In event-id order e1 (b, 8 units) comes first: b 8 x 2 = 16.00 in tier 1, then
# a 2 x 1 = 2.00 in tier 1 and 6 x 0.5 = 3.00 in tier 2: 21.00. Rated in stored order it would
# be a 8 x 1 + b (2 x 2 + 6 x 0.25) = 13.50.
TIED = [usage("e2", "a", 8), usage("e1", "b", 8)]


def amounts(lines: tuple[Line, ...]) -> dict[tuple[str, int | None], Decimal]:
    return {(line.category, line.tier): line.amount for line in lines}


def test_a_tie_at_a_bound_is_split_in_event_id_order() -> None:
    lines = rate_frame(catalog(), usages_to_frame(TIED, OWNERS)).lines()[("A", Month(2026, 1))]
    assert amounts(lines) == {
        ("a", 1): Decimal("2.00"),
        ("a", 2): Decimal("3.00"),
        ("b", 1): Decimal("16.00"),
    }
    assert invoice_total({("A", Month(2026, 1)): lines}) == Decimal("21.00")


def test_a_tie_at_a_bound_in_a_parquet_file_reads_only_what_it_needs(tmp_path: Path) -> None:
    # Ids are not decoded with the rest of the file; the tied rows' ids are read on demand.
    path = tmp_path / "usage.parquet"
    filler = [usage(f"f{i}", "a", 1, account="C", second=-i - 1) for i in range(5)]
    write_parquet(usages_to_frame(sorted([*filler, *TIED], key=lambda u: u.time), OWNERS), path)
    lines = rate_parquet(catalog(), path)
    assert invoice_total({("A", Month(2026, 1)): lines[("A", Month(2026, 1))]}) == Decimal("21.00")
    assert invoice_total({("C", Month(2026, 1)): lines[("C", Month(2026, 1))]}) == Decimal("5.00")


def test_a_tie_that_ends_on_a_bound_does_not_need_the_ids() -> None:
    # 4 + 6 = 10: the run ends exactly on the bound, both rows are in tier 1 in any order.
    rows = [usage("e2", "a", 4), usage("e1", "b", 6)]
    lines = rate_frame(catalog(), usages_to_frame(rows, OWNERS)).lines()[("A", Month(2026, 1))]
    assert amounts(lines) == {("a", 1): Decimal("4.00"), ("b", 1): Decimal("12.00")}


def reference(cat: Catalog, usages: list[Usage]) -> dict[Any, list[tuple[object, ...]]]:
    by_month: dict[Month, list[Usage]] = defaultdict(list)
    for item in usages:
        by_month[Month.of(item.time)].append(item)
    lines: dict[Any, list[tuple[object, ...]]] = {}
    for month, group in by_month.items():
        for owner, parts in rate(cat, group, OWNERS).items():
            lines[(owner, month)] = sorted(canonical(ln) for ln in assemble_lines(parts, cat))
    return lines


def canonical(line: Line) -> tuple[object, ...]:
    return (line.category, line.tier, line.quantity, line.precise_amount, line.amount)


def batch_lines(cat: Catalog, usages: list[Usage]) -> dict[Any, list[tuple[object, ...]]]:
    result = rate_frame(cat, usages_to_frame(usages, OWNERS))
    return {key: sorted(canonical(ln) for ln in group) for key, group in result.lines().items()}


@st.composite
def tied_usage(draw: st.DrawFn) -> list[Usage]:
    """Up to 40 events at three instants over two billing accounts: runs of ties everywhere."""
    count = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 99), min_size=count, max_size=count, unique=True))
    return [
        usage(
            f"e{number:02d}",
            draw(st.sampled_from(["a", "b"])),
            draw(st.integers(0, 7)),
            account=draw(st.sampled_from(sorted(OWNERS))),
            second=draw(st.integers(0, 2)),
        )
        for number in ids
    ]


@settings(max_examples=120, deadline=None)
@given(usages=tied_usage(), scope=st.sampled_from(["billing_account", "account"]))
def test_runs_of_ties_agree_with_the_reference(usages: list[Usage], scope: str) -> None:
    cat = catalog(scope)
    assert batch_lines(cat, usages) == reference(cat, usages)


@settings(max_examples=60, deadline=None)
@given(usages=tied_usage(), scope=st.sampled_from(["billing_account", "account"]))
def test_two_threads_and_the_exact_order_fallback_agree_with_the_reference(
    usages: list[Usage], scope: str
) -> None:
    cat = catalog(scope)
    expected = reference(cat, usages)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "_THREADED_ROWS", 0)  # two threads even for a handful of rows
        assert batch_lines(cat, usages) == expected
        patch.setattr(batch, "_FLAG_CAPACITY", 1)  # tie bookkeeping overflows: exact order
        assert batch_lines(cat, usages) == expected
