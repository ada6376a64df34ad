"""``volume`` with ``tier_by``: the tier is chosen by another measure than the one billed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from catalog_data import catalog_of

from ratecard.catalog.load import parse_catalog
from ratecard.errors import CatalogError, RatingError
from ratecard.prices.metered import Usage
from ratecard.prices.volume import VolumePrice

ACCOUNT = "AC" + "4" * 32
T0 = datetime(2026, 7, 1, tzinfo=UTC)
TIERS = [
    {"up_to": "100", "rate": "0.10"},
    {"up_to": "1000", "rate": "0.08"},
    {"rate": "0.05"},
]


def usage(event_id: str, quantity: str, day: int = 1, amount: str | None = None) -> Usage:
    carried = None if amount is None else Decimal(amount)
    moment = T0 + timedelta(days=day - 1)
    return Usage(event_id, ACCOUNT, moment, "c", Decimal(quantity), amount=carried)


def volume(tier_by: str, **extra: Any) -> VolumePrice:
    return VolumePrice.model_validate(
        {"model": "volume", "category": "c", "tiers": TIERS, "tier_by": tier_by, **extra}
    )


def amounts(price: VolumePrice, usages: list[Usage]) -> tuple[list[Decimal], list[str | None]]:
    parts = price.charge(usages)
    return [p.amount for p in parts], [p.tier_label for p in parts]


# GB-days of storage: one event a day; 3 days of 60, 120 and 90 GB = 270 GB-days.
STORAGE = [usage("d1", "60", 1), usage("d2", "120", 2), usage("d3", "90", 3)]


def test_tier_by_quantity_is_the_default_volume_price() -> None:
    price = VolumePrice.model_validate({"model": "volume", "category": "c", "tiers": TIERS})
    # 270 units total: tier 2 (over 100 up to 1,000) at 0.08 for every unit
    assert amounts(price, STORAGE)[0] == [Decimal("4.80"), Decimal("9.60"), Decimal("7.20")]


def test_tier_by_peak_picks_the_tier_of_the_largest_event_and_bills_the_total() -> None:
    got, labels = amounts(volume("peak"), STORAGE)
    # peak day 120 GB -> tier 2 at 0.08; billed on 270 GB-days: 60, 120, 90 x 0.08
    assert got == [Decimal("4.80"), Decimal("9.60"), Decimal("7.20")]
    assert labels == ["over 100 up to 1,000 (by peak 120)"] * 3
    # a peak of 100 stays in tier 1: all 190 GB-days at 0.10 = 19.00
    low = [usage("d1", "100", 1), usage("d2", "90", 2)]
    assert sum(amounts(volume("peak"), low)[0]) == Decimal("19.00")


def test_tier_by_events_picks_the_tier_by_the_number_of_events() -> None:
    # 3 events -> tier 1 (up to 100) at 0.10, though 270 units are billed: 27.00
    assert sum(amounts(volume("events"), STORAGE)[0]) == Decimal("27.00")


def test_tier_by_amount_picks_the_tier_by_the_months_carried_amount() -> None:
    payments = [usage("p1", "1", 1, "700.00"), usage("p2", "1", 2, "400.00")]
    got, labels = amounts(volume("amount"), payments)
    # 1,100.00 carried (shown plain: 1,100) -> tier 3 at 0.05 per unit; 2 units billed: 0.10
    assert got == [Decimal("0.05"), Decimal("0.05")]
    assert labels == ["over 1,000 (by amount 1,100)"] * 2


def test_tier_by_amount_needs_the_amount_each_event_carries() -> None:
    with pytest.raises(RatingError, match="has no 'amount'"):
        volume("amount").charge([usage("p1", "1")])


def test_tier_by_picks_the_flat_fee_and_blocks_of_the_chosen_tier() -> None:
    tiers = [
        {"up_to": "100", "rate": "1"},
        {"block_size": "50", "block_price": "4", "flat_fee": "10"},
    ]
    price = VolumePrice.model_validate(
        {"model": "volume", "category": "c", "tiers": tiers, "tier_by": "peak"}
    )
    # peak 120 -> tier 2: 270 units in blocks of 50 = 6 blocks x 4 = 24, + flat fee 10 = 34
    assert sum(amounts(price, STORAGE)[0]) == Decimal(34)


def test_an_unknown_tier_by_is_refused_naming_the_field() -> None:
    data = catalog_of({"category": "c", "model": "volume", "tiers": TIERS, "tier_by": "mean"})
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("prices[0] (c)", "tier_by")
    assert "'quantity', 'peak', 'events' or 'amount'" in problem.reason
