"""Pooled tiers (SPEC section 4) and the reference engine: spend limits, lookups, zero usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ratecard.catalog import Catalog, parse_catalog
from ratecard.errors import NoPriceError
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.pooled import Pool
from ratecard.rating.engine import rate, spend_limits

PARENT = "AC" + "a" * 32
CHILD = "AC" + "b" * 32
OWNERS = {PARENT: PARENT, CHILD: PARENT}
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def usage(
    event_id: str,
    category: str,
    quantity: int | str,
    minute: int = 0,
    account: str = PARENT,
    country: str | None = "US",
) -> Usage:
    moment = T0 + timedelta(minutes=minute)
    return Usage(event_id, account, moment, category, Decimal(quantity), country)


def pool(scope: str = "billing_account") -> Pool:
    return Pool.model_validate(
        {
            "name": "voice",
            "scope": scope,
            "countries": ["US"],
            "tiers": [{"up_to": "100"}, {}],
            "rates": {"in": ["0.01", "0.008"], "out": ["0.02", "0.015"]},
        }
    )


def catalog(**extra: Any) -> Catalog:
    data: dict[str, Any] = {
        "name": "t",
        "version": "1",
        "currency": "USD",
        "effective": "2026-01-01",
        "categories": {
            "in": {"description": "inbound", "unit": "minutes"},
            "out": {"description": "outbound", "unit": "minutes"},
            "fee": {"description": "fee", "unit": "units"},
        },
        "pools": [pool().model_dump(mode="json")],
        "prices": [],
    }
    data.update(extra)
    return parse_catalog(data)


def rows(parts: list[Part]) -> list[tuple[tuple[str, ...], str, int | None, Decimal, Decimal]]:
    return [(p.events, p.category, p.tier, p.quantity, p.amount) for p in parts]


# pooled -----------------------------------------------------------------------------------


def test_pool_counts_every_category_on_one_shared_counter() -> None:
    parts, counted = pool().charge([usage("e1", "in", 60), usage("e2", "out", 60, 1)])
    # e1 counts 60; e2 goes 60 -> 120 across the bound at 100: 40 at 0.02, 20 at 0.015
    assert rows(parts) == [
        (("e1",), "in", 1, Decimal(60), Decimal("0.60")),
        (("e2",), "out", 1, Decimal(40), Decimal("0.80")),
        (("e2",), "out", 2, Decimal(20), Decimal("0.300")),
    ]
    assert counted == Decimal(120)


def test_pool_each_category_pays_its_own_rate_in_each_tier() -> None:
    parts, _ = pool().charge([usage("e1", "in", 100), usage("e2", "in", 10, 1)])
    parts2, _ = pool().charge([usage("e3", "out", 100), usage("e4", "out", 10, 1)])
    # in: 100 x 0.01 = 1.00 then 10 x 0.008 = 0.080; out: 100 x 0.02 = 2.00, 10 x 0.015 = 0.150
    assert [p.amount for p in parts] == [Decimal("1.00"), Decimal("0.080")]
    assert [p.amount for p in parts2] == [Decimal("2.00"), Decimal("0.150")]


def test_pool_continues_from_the_count_it_is_given() -> None:
    parts, counted = pool().charge([usage("e1", "in", 5)], counted=Decimal(98))
    # 98 -> 103: 2 at 0.01 = 0.02, 3 at 0.008 = 0.024
    assert [(p.tier, p.amount) for p in parts] == [(1, Decimal("0.02")), (2, Decimal("0.024"))]
    assert counted == Decimal(103)


def test_pool_rates_usage_in_time_order_whatever_order_it_arrives_in() -> None:
    late = usage("e1", "out", 100, minute=5)
    early = usage("e2", "in", 100, minute=1)
    (parts,) = rate(catalog(), [late, early], OWNERS).values()
    # e2 (earlier) fills tier 1: 100 x 0.01 = 1.00; e1 then pays tier 2: 100 x 0.015 = 1.500
    assert rows(parts) == [
        (("e2",), "in", 1, Decimal(100), Decimal("1.00")),
        (("e1",), "out", 2, Decimal(100), Decimal("1.500")),
    ]


def test_pool_ties_in_time_are_broken_by_event_id() -> None:
    b = usage("b", "out", 100)
    a = usage("a", "in", 100)
    (parts,) = rate(catalog(), [b, a], OWNERS).values()
    # same instant: "a" < "b", so a takes tier 1 (1.00) and b pays tier 2 (100 x 0.015 = 1.500)
    assert [(p.events, p.tier, p.amount) for p in parts] == [
        (("a",), 1, Decimal("1.00")),
        (("b",), 2, Decimal("1.500")),
    ]


def test_pool_of_billing_account_scope_shares_the_counter_with_subaccounts() -> None:
    usages = [usage("e1", "in", 100, 0, PARENT), usage("e2", "in", 10, 1, CHILD)]
    result = rate(catalog(), usages, OWNERS)
    # the child's 10 minutes are units 101-110 of the parent's counter: 10 x 0.008 = 0.080
    assert list(result) == [PARENT]
    assert [(p.account, p.tier, p.amount) for p in result[PARENT]] == [
        (PARENT, 1, Decimal("1.00")),
        (CHILD, 2, Decimal("0.080")),
    ]


def test_pool_of_account_scope_counts_each_account_on_its_own() -> None:
    scoped = catalog(pools=[pool("account").model_dump(mode="json")])
    usages = [usage("e1", "in", 100, 0, PARENT), usage("e2", "in", 10, 1, CHILD)]
    parts = rate(scoped, usages, OWNERS)[PARENT]
    # the child has its own counter: its 10 minutes are in tier 1, 10 x 0.01 = 0.10
    assert sorted((p.account, p.tier, p.amount) for p in parts) == [
        (PARENT, 1, Decimal("1.00")),
        (CHILD, 1, Decimal("0.10")),
    ]


def test_pool_does_not_price_usage_from_a_country_it_does_not_cover() -> None:
    with pytest.raises(NoPriceError, match="category 'in' in country DE"):
        rate(catalog(), [usage("e1", "in", 1, country="DE")], OWNERS)


def test_unpriced_usage_is_reported_together_never_silently_free() -> None:
    usages = [usage("e1", "in", 1, country="DE"), usage("e2", "fee", 1), usage("e3", "fee", 1)]
    with pytest.raises(NoPriceError) as caught:
        rate(catalog(), usages, OWNERS)
    found = [(u.category, u.country, u.first_event, u.count) for u in caught.value.unpriced]
    assert found == [("in", "DE", "e1", 1), ("fee", "US", "e2", 2)]


def test_pool_rate_list_must_have_one_rate_per_tier() -> None:
    with pytest.raises(ValueError, match=r"rates.in: 1 rate\(s\) for 2 tier\(s\)"):
        Pool.model_validate(
            {
                "name": "p",
                "countries": ["US"],
                "tiers": [{"up_to": "1"}, {}],
                "rates": {"in": ["1"]},
            }
        )


# spend limits -----------------------------------------------------------------------------


def spend_price(minimum: str | None = None, maximum: str | None = None) -> PerUnitPrice:
    return PerUnitPrice.model_validate(
        {
            "model": "per_unit",
            "category": "fee",
            "rate": "2",
            "minimum_spend": minimum,
            "maximum_spend": maximum,
        }
    )


def test_minimum_spend_tops_up_a_month_below_it() -> None:
    price = spend_price(minimum="10")
    parts = spend_limits(price, price.charge([usage("e1", "fee", 3)]))
    # 3 x 2 = 6 < 10: top-up 10 - 6 = 4, on a part of its own
    assert [(p.kind, p.amount) for p in parts] == [
        (Kind.USAGE, Decimal(6)),
        (Kind.MINIMUM_SPEND, Decimal(4)),
    ]


def test_maximum_spend_reduces_a_month_above_it() -> None:
    price = spend_price(maximum="10")
    parts = spend_limits(price, price.charge([usage("e1", "fee", 7)]))
    # 7 x 2 = 14 > 10: reduction 10 - 14 = -4
    assert [(p.kind, p.amount) for p in parts] == [
        (Kind.USAGE, Decimal(14)),
        (Kind.MAXIMUM_SPEND, Decimal(-4)),
    ]


def test_spend_between_the_limits_is_not_adjusted() -> None:
    price = spend_price(minimum="2", maximum="10")
    parts = spend_limits(price, price.charge([usage("e1", "fee", 3)]))
    # 3 x 2 = 6, inside [2, 10]
    assert [p.kind for p in parts] == [Kind.USAGE]


def test_minimum_spend_applies_to_the_months_total_not_each_event() -> None:
    price = spend_price(minimum="10")
    fees = [usage("e1", "fee", 2), usage("e2", "fee", 2, 1)]
    result = rate(catalog(prices=[price.model_dump(mode="json")]), fees, OWNERS)
    # (2 + 2) x 2 = 8 < 10: one top-up of 2 for the month
    assert [(p.kind, p.amount) for p in result[PARENT]] == [
        (Kind.USAGE, Decimal(4)),
        (Kind.USAGE, Decimal(4)),
        (Kind.MINIMUM_SPEND, Decimal(2)),
    ]


def test_minimum_spend_is_not_charged_in_a_month_without_usage() -> None:
    price = spend_price(minimum="10")
    assert rate(catalog(prices=[price.model_dump(mode="json")]), [], OWNERS) == {}


def test_minimum_spend_above_maximum_spend_is_refused() -> None:
    with pytest.raises(ValueError, match="minimum_spend 10 is above maximum_spend 5"):
        spend_price(minimum="10", maximum="5")


# zero usage -------------------------------------------------------------------------------


def test_engine_without_usage_prices_nothing() -> None:
    assert rate(catalog(), [], OWNERS) == {}


def test_pool_zero_quantity_costs_nothing_and_does_not_move_the_counter() -> None:
    parts, counted = pool().charge([usage("e1", "in", 0)])
    assert [(p.events, p.amount) for p in parts] == [(("e1",), Decimal(0))]
    assert counted == Decimal(0)
