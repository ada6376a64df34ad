"""Reference kernel == batch kernel == live rating, line for line, on random catalogs and usage.

Random catalogs have several pools (either scope) with small tier bounds so events straddle
them, rates with up to 7 places, per-unit prices (some with a minimum spend, which the batch
kernel delegates), graduated and volume prices (delegated; some tiers billed in blocks, volume
tiers chosen by quantity, peak, events or amount), package prices (free units, rounded up or
down), percentage prices (separate or combined free allowances, per-transaction minimum and
maximum), graduated percentage prices (tiers of carried amount, some in blocks): every model
the catalog knows (asserted), and sometimes a mid-month revision. Random
usage has ties in time, zero and fractional quantities, several months, accounts and
subaccounts. The reference kernel rates one month per call; the others key by month.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratecard.catalog.load import parse_catalog
from ratecard.catalog.model import Catalog
from ratecard.catalog.schema import PRICE_MODELS
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating import batch
from ratecard.rating.batch import invoice_total, rate_frame
from ratecard.rating.columns import usages_to_frame
from ratecard.rating.engine import rate
from ratecard.rating.lines import Line, assemble_lines
from ratecard.rating.live import LiveRater

CATEGORIES = [f"c{i}" for i in range(6)]
BILLING = {"A0": "A0", "A1": "A0", "A2": "A2", "A3": "A2", "A4": "A4"}
MONTHS = [Month(2026, 1), Month(2026, 2)]

rates = st.builds(
    lambda units, places: str(Decimal(units).scaleb(-places)),
    st.integers(0, 300_000),
    st.integers(2, 7),  # at most $3,000 a unit: realistic, and int64 holds any sum here
)
bounds = st.lists(st.integers(1, 40), min_size=0, max_size=3, unique=True).map(sorted)


@st.composite
def pool_data(draw: st.DrawFn, name: str, members: list[str]) -> dict[str, Any]:
    ups = draw(bounds)
    return {
        "name": name,
        "scope": draw(st.sampled_from(["billing_account", "account"])),
        "countries": draw(st.sampled_from([["US", "CA"], ["US"], ["*"]])),
        "tiers": [{"up_to": str(b)} for b in ups] + [{}],
        "rates": {c: [draw(rates) for _ in range(len(ups) + 1)] for c in members},
    }


@st.composite
def tier_data(draw: st.DrawFn, up_to: int | None) -> dict[str, Any]:
    """A tier priced per unit or, sometimes, in blocks (a started block paid whole)."""
    tier: dict[str, Any] = {} if up_to is None else {"up_to": str(up_to)}
    if draw(st.integers(0, 2)) == 0:
        tier["block_size"] = draw(st.sampled_from(["1", "3", "2.5", "10"]))
        tier["block_price"] = draw(rates)
    else:
        tier["rate"] = draw(rates)
    if draw(st.integers(0, 4)) == 0:
        tier["flat_fee"] = draw(st.sampled_from(["0.5", "2"]))
    return tier


@st.composite
def price_data(draw: st.DrawFn, category: str) -> dict[str, Any]:
    model = draw(st.sampled_from(["per_unit", *PRICE_MODELS]))  # per-unit twice as often
    price: dict[str, Any] = {"category": category, "model": model}
    if model == "per_unit":
        price["rate"] = draw(rates)
        if draw(st.integers(0, 3)) == 0:
            price["minimum_spend"] = draw(st.sampled_from(["0.05", "1", "3.5"]))
    elif model == "package":
        price["size"] = draw(st.sampled_from(["1", "3", "2.5", "10"]))
        price["price"] = draw(rates)
        price["free_units"] = draw(st.sampled_from(["0", "4", "0.5"]))
        price["rounding"] = draw(st.sampled_from(["up", "down"]))
    elif model == "percentage":
        price["rate"] = draw(st.sampled_from(["0.029", "0.015", "0.1234567"]))
        price["fixed_fee"] = draw(st.sampled_from(["0", "0.30"]))
        price["free_events"] = draw(st.integers(0, 3))
        price["free_amount"] = draw(st.sampled_from(["0", "5", "12.5"]))
        if draw(st.booleans()):
            price["per_transaction_min"] = "0.50"
        if draw(st.integers(0, 2)) == 0:
            price["per_transaction_max"] = draw(st.sampled_from(["0.75", "2"]))
        if price["free_events"] or price["free_amount"] != "0":
            price["free_allowance"] = draw(st.sampled_from(["separate", "combined"]))
    elif model == "graduated_percentage":
        ups = draw(bounds)  # bounds of carried money: the events carry 0.00 to 20.00 each
        fractions = st.sampled_from(["0.029", "0.015", "0.1234567", "0"])
        price["tiers"] = [
            {"up_to": str(b), "rate": draw(fractions)}
            if draw(st.integers(0, 2))
            else draw(tier_data(b))
            for b in ups
        ] + [{"rate": draw(fractions)}]
    else:
        ups = draw(bounds)
        price["tiers"] = [draw(tier_data(b)) for b in ups] + [draw(tier_data(None))]
        if model == "volume":
            price["tier_by"] = draw(st.sampled_from(["quantity", "peak", "events", "amount"]))
    return price


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    shuffled = draw(st.permutations(CATEGORIES))
    cut = draw(st.integers(1, 3))
    pooled = [shuffled[:3], shuffled[3 : 3 + cut]]
    pools = [draw(pool_data(f"p{i}", members)) for i, members in enumerate(pooled)]
    data: dict[str, Any] = {
        "name": "random",
        "version": "1",
        "currency": "USD",
        "effective": "2025-01-01",
        "categories": {c: {"description": c, "unit": "units"} for c in CATEGORIES},
        "pools": pools,
        # A fallback price for every category: whatever a pool does not cover is priced.
        "prices": [draw(price_data(c)) for c in CATEGORIES],
    }
    if draw(st.booleans()):
        day = draw(st.integers(2, 28))
        data["revisions"] = [
            {
                "effective": f"2026-01-{day:02d}",
                "pools": [draw(pool_data("p0", pooled[0]))],
                "prices": [draw(price_data(draw(st.sampled_from(CATEGORIES))))],
            }
        ]
    return parse_catalog(data)


@st.composite
def usage_lists(draw: st.DrawFn) -> list[Usage]:
    count = draw(st.integers(0, 60))
    ids = draw(st.lists(st.integers(0, 999), min_size=count, max_size=count, unique=True))
    usages = []
    for number in ids:
        month = draw(st.sampled_from(MONTHS))
        # Few distinct instants: many ties in time, broken by event id (SPEC section 4).
        day, second = draw(st.integers(1, 28)), draw(st.integers(0, 2))
        quantity = draw(
            st.one_of(
                st.integers(0, 15).map(Decimal),
                st.integers(0, 15_000_000).map(lambda n: Decimal(n).scaleb(-6)),
            )
        )
        usages.append(
            Usage(
                event_id=f"e{number:03d}",
                account=draw(st.sampled_from(sorted(BILLING))),
                time=datetime(month.year, month.month, day, 0, 0, second, tzinfo=UTC),
                category=draw(st.sampled_from(CATEGORIES)),
                quantity=quantity,
                country=draw(st.sampled_from(["US", "CA", "FR", None])),
                # every event carries an amount: percentage prices and tier_by = amount read it
                amount=Decimal(draw(st.integers(0, 2_000))).scaleb(-2),
            )
        )
    return usages


Row = tuple[object, ...]


def row(line: Line, with_events: bool = True) -> Row:
    events = tuple(sorted(line.events)) if with_events else ()
    return (
        line.category,
        line.kind,
        line.pool,
        line.tier,
        line.tier_label,
        line.quantity,
        line.unit_price,
        line.precise_amount,
        line.amount,
        events,
    )


def table(lines: dict[tuple[str, Month], tuple[Line, ...]], events: bool = True) -> dict[Any, Any]:
    """Lines per (billing account, month) in a canonical order (events compared as sets)."""
    return {k: sorted((row(ln, events) for ln in group), key=repr) for k, group in lines.items()}


def reference(catalog: Catalog, usages: list[Usage]) -> dict[tuple[str, Month], tuple[Line, ...]]:
    by_month: dict[Month, list[Usage]] = defaultdict(list)
    for usage in usages:
        by_month[Month.of(usage.time)].append(usage)
    lines = {}
    for month, group in by_month.items():
        for owner, parts in rate(catalog, group, BILLING).items():
            lines[(owner, month)] = assemble_lines(parts, catalog)
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalog=catalogs(), usages=usage_lists(), seed=st.integers(0, 2**32))
def test_reference_batch_and_live_rating_agree_on_every_line(
    catalog: Catalog, usages: list[Usage], seed: int
) -> None:
    expected = reference(catalog, usages)

    result = rate_frame(catalog, usages_to_frame(usages, BILLING))
    batch_parts = {k: assemble_lines(p, catalog) for k, p in result.parts().items()}
    assert table(batch_parts) == table(expected)
    assert table(result.lines(), events=False) == table(expected, events=False)
    # the columnar total (no Line objects; delegated lines merged where they meet) is the
    # sum of the rounded lines
    assert result.total() == invoice_total(result.lines())
    with pytest.MonkeyPatch.context() as patch:  # the loop on two threads, months, versions
        patch.setattr(batch, "_THREADED_ROWS", 0)
        threaded = rate_frame(catalog, usages_to_frame(usages, BILLING)).lines()
    assert table(threaded, events=False) == table(expected, events=False)

    arrival = list(usages)
    random.Random(seed).shuffle(arrival)  # late events: live rating re-rates their tails
    live = LiveRater(catalog, BILLING)
    for usage in arrival:
        live.add(usage)
    assert table({k: live.lines(*k) for k in live.billing_months()}) == table(expected)

    batched = LiveRater(catalog, BILLING)  # the same arrivals, a few at a time (catch-ups)
    sizes = random.Random(seed + 1)
    start = 0
    while start < len(arrival):
        size = sizes.randint(1, 8)
        batched.add_all(arrival[start : start + size])
        start += size
    assert table({k: batched.lines(*k) for k in batched.billing_months()}) == table(expected)


@settings(max_examples=40, deadline=None)
@given(catalog=catalogs(), usages=usage_lists(), seed=st.integers(0, 2**32))
def test_batch_kernel_does_not_depend_on_row_order(
    catalog: Catalog, usages: list[Usage], seed: int
) -> None:
    ordered = sorted(usages, key=lambda u: u.order_key)
    shuffled = list(usages)
    random.Random(seed).shuffle(shuffled)
    first = rate_frame(catalog, usages_to_frame(ordered, BILLING)).lines()
    second = rate_frame(catalog, usages_to_frame(shuffled, BILLING)).lines()
    assert table(first, events=False) == table(second, events=False)
