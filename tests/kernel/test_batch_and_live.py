"""The batch kernel and live rating on the spec's worked example, overflow and late events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ratecard.catalog.load import load_catalog
from ratecard.errors import NoPriceError, RatingError
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating.batch import invoice_total, rate_frame, rate_parquet
from ratecard.rating.columns import usages_to_frame, write_parquet
from ratecard.rating.engine import rate
from ratecard.rating.lines import assemble_lines
from ratecard.rating.live import LiveRater

JULY = datetime(2026, 7, 1, tzinfo=UTC)
OWNERS = {"AC1": "AC1", "AC2": "AC2"}


def voice(event: str, minutes: int, category: str, second: int, account: str = "AC1") -> Usage:
    return Usage(event, account, JULY + timedelta(seconds=second), category, Decimal(minutes), "US")


ARTICLE = [
    voice("e1", 200_000, "calls-inbound-local", 1),
    voice("e2", 200_000, "calls-outbound", 2),
    voice("e3", 100_000, "calls-inbound-tollfree", 3),
    voice("e4", 1_000, "calls-inbound-local", 4),
]


def test_batch_kernel_prices_the_articles_voice_month_at_6508() -> None:
    result = rate_frame(load_catalog("us"), usages_to_frame(ARTICLE, OWNERS))
    assert invoice_total(result.lines()) == Decimal("6508.00")


def test_live_rating_prices_the_articles_voice_month_at_6508() -> None:
    live = LiveRater(load_catalog("us"), OWNERS)
    for usage in ARTICLE:
        live.add(usage)
    assert sum(line.amount for line in live.lines("AC1", Month(2026, 7))) == Decimal("6508.00")


def test_a_late_event_re_rates_only_the_tail_of_its_own_counter() -> None:
    live = LiveRater(load_catalog("us"), OWNERS)
    for usage in [*ARTICLE[:2], ARTICLE[3], voice("x", 5, "calls-outbound", 1, "AC2")]:
        live.add(usage)
    live.add(ARTICLE[2])  # toll-free minutes at second 3, arriving after the second-4 event
    ours = next(c for key, c in live.counters.items() if key[0] == "AC1")
    theirs = next(c for key, c in live.counters.items() if key[0] == "AC2")
    assert (ours.rerated, theirs.rerated) == (1, 0)
    assert sum(line.amount for line in live.lines("AC1", Month(2026, 7))) == Decimal("6508.00")


def test_a_counter_beyond_int64_money_is_rated_exactly() -> None:
    # 1e18 micro-units x 220,000 (1e-7 dollars) overflows int64 amounts; line sums are Int128.
    huge = [voice("e1", 10**12, "calls-inbound-tollfree", 1), voice("e2", 5, "sms-outbound", 2)]
    catalog = load_catalog("us")
    expected = {
        (owner, Month(2026, 7)): assemble_lines(parts, catalog)
        for owner, parts in rate(catalog, huge, OWNERS).items()
    }
    lines = rate_frame(catalog, usages_to_frame(huge, OWNERS)).lines()
    assert lines == {k: tuple(replace(ln, events=()) for ln in v) for k, v in expected.items()}
    assert invoice_total(lines) > Decimal(10**10)


def test_quantities_that_would_overflow_int64_are_refused_not_wrapped() -> None:
    huge = [voice(f"e{i}", 5 * 10**12, "calls-outbound", i) for i in range(2)]  # 1e19 micro
    with pytest.raises(RatingError, match="overflows int64"):
        rate_frame(load_catalog("us"), usages_to_frame(huge, OWNERS))


def test_quantities_finer_than_a_micro_unit_are_refused() -> None:
    fine = [Usage("e1", "AC1", JULY, "calls-outbound", Decimal("1.3333333"), "US")]
    with pytest.raises(RatingError, match="decimal places"):
        usages_to_frame(fine, OWNERS)


def test_usage_without_a_price_is_reported_not_free() -> None:
    unpriced = [Usage("e9", "AC1", JULY, "sms-outbound", Decimal(1), "FR")]
    with pytest.raises(NoPriceError, match="sms-outbound"):
        rate_frame(load_catalog("us"), usages_to_frame(unpriced, OWNERS))


def test_parquet_in_several_shards_gives_the_same_lines(tmp_path: Path) -> None:
    catalog = load_catalog("us")
    usages = [*ARTICLE, voice("x", 7, "calls-outbound", 9, "AC2")]
    path = tmp_path / "usage.parquet"
    write_parquet(usages_to_frame(usages, OWNERS), path)
    whole = rate_parquet(catalog, path)
    sharded = rate_parquet(catalog, path, shard_rows=1)
    assert whole == sharded
    assert invoice_total(whole) == Decimal("6508.00") + Decimal("0.09")


def test_a_package_line_reads_the_same_from_the_batch_kernel_as_from_the_reference() -> None:
    """The batch kernel hands a delegated price its quantities at six places: the package
    label said "25.000000 units" where the reference said "25 units". 25 units less 4 free =
    21, in packages of 10 rounded up: 3 packages x 0.75 = 2.25."""
    from ratecard.catalog.load import parse_catalog

    catalog = parse_catalog(
        {
            "name": "packages",
            "version": "1",
            "currency": "USD",
            "effective": "2025-01-01",
            "categories": {"lookups": {"description": "Lookups", "unit": "lookups"}},
            "prices": [
                {"category": "lookups", "model": "package", "size": "10.0", "price": "0.75"}
                | {"free_units": "4.00"}
            ],
        }
    )
    usages = [
        Usage("e1", "AC1", JULY, "lookups", Decimal("12.5"), None),
        Usage("e2", "AC1", JULY + timedelta(seconds=1), "lookups", Decimal("12.50"), None),
    ]
    ((owner, month), lines), *_ = (
        rate_frame(catalog, usages_to_frame(usages, OWNERS)).lines().items()
    )
    (reference,) = assemble_lines(rate(catalog, usages, OWNERS)["AC1"], catalog)
    label = "packages of 10 (25 units, 4 free, rounded up)"
    assert [(line.tier_label, line.quantity, line.amount) for line in lines] == [
        (label, Decimal(3), Decimal("2.25"))
    ]
    assert (owner, month, reference.tier_label) == ("AC1", Month(2026, 7), label)
