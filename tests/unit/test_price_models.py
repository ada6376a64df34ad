"""Unit price models: per_unit, graduated, volume and package (one behaviour per test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ratecard.prices.graduated import GraduatedPrice
from ratecard.prices.metered import Usage
from ratecard.prices.package import PackagePrice
from ratecard.prices.parts import Kind, Part
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.volume import VolumePrice

ACCOUNT = "AC" + "1" * 32
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def usage(event_id: str, quantity: str | int, minute: int = 0) -> Usage:
    return Usage(event_id, ACCOUNT, T0 + timedelta(minutes=minute), "c", Decimal(quantity))


def pieces(parts: list[Part]) -> list[tuple[Kind, int | None, Decimal, Decimal]]:
    return [(p.kind, p.tier, p.quantity, p.amount) for p in parts]


def graduated(*tiers: dict[str, str]) -> GraduatedPrice:
    return GraduatedPrice(model="graduated", category="c", tiers=list(tiers))  # type: ignore[arg-type]


def volume(*tiers: dict[str, str]) -> VolumePrice:
    return VolumePrice(model="volume", category="c", tiers=list(tiers))  # type: ignore[arg-type]


# per_unit ---------------------------------------------------------------------------------


def test_per_unit_charges_each_usage_quantity_times_rate() -> None:
    price = PerUnitPrice(model="per_unit", category="c", rate=Decimal("0.0025"))
    parts = price.charge([usage("e1", 3), usage("e2", 400, minute=1)])
    # 3 x 0.0025 = 0.0075; 400 x 0.0025 = 1.0000
    assert [(p.quantity, p.amount, p.events) for p in parts] == [
        (Decimal(3), Decimal("0.0075"), ("e1",)),
        (Decimal(400), Decimal("1.0000"), ("e2",)),
    ]


def test_per_unit_keeps_a_fractional_quantity_exact() -> None:
    price = PerUnitPrice(model="per_unit", category="c", rate=Decimal("0.013"))
    (part,) = price.charge([usage("e1", "1.5")])
    # 1.5 x 0.013 = 0.0195, not rounded in the part
    assert part.amount == Decimal("0.0195")


def test_per_unit_without_usage_has_no_parts() -> None:
    price = PerUnitPrice(model="per_unit", category="c", rate=Decimal(1))
    assert price.charge([]) == []


def test_per_unit_zero_quantity_costs_nothing_but_keeps_its_event() -> None:
    price = PerUnitPrice(model="per_unit", category="c", rate=Decimal(1))
    (part,) = price.charge([usage("e1", 0)])
    assert (part.amount, part.events) == (Decimal(0), ("e1",))


# graduated --------------------------------------------------------------------------------


def test_graduated_units_pay_the_rate_of_the_tier_they_fall_in() -> None:
    price = graduated({"up_to": "100", "rate": "1"}, {"rate": "0.5"})
    parts = price.charge([usage("e1", 60), usage("e2", 30, minute=1), usage("e3", 10, minute=2)])
    # 60 + 30 + 10 = 100 units, all inside the first tier at 1: 60, 30, 10
    assert [(p.tier, p.amount) for p in parts] == [
        (1, Decimal(60)),
        (1, Decimal(30)),
        (1, Decimal(10)),
    ]


def test_graduated_splits_an_event_that_straddles_a_tier_bound() -> None:
    price = graduated({"up_to": "100", "rate": "1"}, {"rate": "0.5"})
    parts = price.charge([usage("e1", 90), usage("e2", 30, minute=1)])
    # e2 brings the count from 90 to 120: 10 units at 1 = 10, 20 units at 0.5 = 10.0
    assert pieces(parts) == [
        (Kind.USAGE, 1, Decimal(90), Decimal(90)),
        (Kind.USAGE, 1, Decimal(10), Decimal(10)),
        (Kind.USAGE, 2, Decimal(20), Decimal("10.0")),
    ]
    assert parts[1].events == parts[2].events == ("e2",)


def test_graduated_unit_exactly_at_the_bound_stays_in_the_lower_tier() -> None:
    price = graduated({"up_to": "100", "rate": "1"}, {"rate": "0.5"})
    parts = price.charge([usage("e1", 100), usage("e2", 1, minute=1)])
    # units 1..100 are tier 1 (100 x 1); unit 101 is tier 2 (1 x 0.5)
    assert [(p.tier, p.quantity, p.amount) for p in parts] == [
        (1, Decimal(100), Decimal(100)),
        (2, Decimal(1), Decimal("0.5")),
    ]


def test_graduated_flat_fee_is_charged_once_when_a_tier_is_entered() -> None:
    price = graduated(
        {"up_to": "10", "rate": "1", "flat_fee": "5"}, {"rate": "0.5", "flat_fee": "20"}
    )
    parts = price.charge([usage("e1", 4), usage("e2", 4, minute=1), usage("e3", 4, minute=2)])
    # tier 1 entered by e1: fee 5 once; e3 goes from 8 to 12 and enters tier 2: fee 20 once
    # usage: 4 x 1 + 4 x 1 + 2 x 1 + 2 x 0.5 = 11; fees 5 + 20 = 25; total 36
    fees = [(p.tier, p.amount) for p in parts if p.kind is Kind.FLAT_FEE]
    assert fees == [(1, Decimal(5)), (2, Decimal(20))]
    assert sum(p.amount for p in parts) == Decimal(36)


def test_graduated_flat_fee_of_a_tier_never_reached_is_not_charged() -> None:
    price = graduated({"up_to": "10", "rate": "1"}, {"rate": "0.5", "flat_fee": "20"})
    parts = price.charge([usage("e1", 10)])
    # 10 units fill tier 1 exactly; tier 2 (from unit 11) is never entered: 10 x 1 = 10
    assert pieces(parts) == [(Kind.USAGE, 1, Decimal(10), Decimal(10))]


def test_graduated_without_usage_has_no_parts() -> None:
    price = graduated({"up_to": "10", "rate": "1", "flat_fee": "5"}, {"rate": "0.5"})
    assert price.charge([]) == []


def test_graduated_tier_bounds_must_increase() -> None:
    with pytest.raises(ValidationError, match="up_to 10 does not increase"):
        graduated({"up_to": "10", "rate": "1"}, {"up_to": "10", "rate": "1"}, {"rate": "1"})


# volume -----------------------------------------------------------------------------------


def test_volume_total_picks_one_tier_for_every_unit() -> None:
    price = volume({"up_to": "1000", "rate": "0.01"}, {"rate": "0.008"})
    parts = price.charge([usage("e1", 600), usage("e2", 500, minute=1)])
    # 600 + 500 = 1,100 > 1,000: every unit at 0.008: 4.800 and 4.000
    assert [(p.tier, p.amount) for p in parts] == [(2, Decimal("4.800")), (2, Decimal("4.000"))]


def test_volume_total_exactly_at_up_to_stays_in_that_tier() -> None:
    price = volume({"up_to": "1000", "rate": "0.01"}, {"rate": "0.008"})
    parts = price.charge([usage("e1", 600), usage("e2", 400, minute=1)])
    # 600 + 400 = 1,000 = up_to: tier 1 at 0.01: 6.00 and 4.00
    assert [(p.tier, p.amount) for p in parts] == [(1, Decimal("6.00")), (1, Decimal("4.00"))]


def test_volume_adds_the_chosen_tiers_flat_fee_once() -> None:
    price = volume(
        {"up_to": "1000", "rate": "0.01", "flat_fee": "3"}, {"rate": "0.008", "flat_fee": "7"}
    )
    parts = price.charge([usage("e1", 1500), usage("e2", 500, minute=1)])
    # 2,000 units: tier 2; 2,000 x 0.008 = 16; flat fee of tier 2 only: 7; total 23
    assert [p.amount for p in parts if p.kind is Kind.FLAT_FEE] == [Decimal(7)]
    assert sum(p.amount for p in parts) == Decimal(23)


def test_volume_without_usage_has_no_parts() -> None:
    price = volume({"up_to": "1000", "rate": "0.01", "flat_fee": "3"}, {"rate": "0.008"})
    assert price.charge([]) == []


# package ----------------------------------------------------------------------------------


def package(rounding: str = "up", free_units: str = "0") -> PackagePrice:
    return PackagePrice(
        model="package",
        category="c",
        size=Decimal(1000),
        price=Decimal("5.00"),
        free_units=Decimal(free_units),
        rounding=rounding,  # type: ignore[arg-type]
    )


def test_package_rounding_up_charges_a_started_package_in_full() -> None:
    (part,) = package("up").charge([usage("e1", 1001)])
    # 1,001 / 1,000 = 1.001 packages, rounded up to 2; 2 x 5.00 = 10.00
    assert (part.quantity, part.amount) == (Decimal(2), Decimal("10.00"))


def test_package_rounding_down_charges_only_complete_packages() -> None:
    (part,) = package("down").charge([usage("e1", 1999)])
    # 1,999 / 1,000 = 1.999 packages, rounded down to 1; 1 x 5.00 = 5.00
    assert (part.quantity, part.amount) == (Decimal(1), Decimal("5.00"))


def test_package_parts_count_packages_not_the_categorys_units() -> None:
    (part,) = package("up").charge([usage("e1", 2500)])
    # 2,500 lookups = 3 packages at 5.00 a package: the line shows "3 packages", not "3 lookups"
    assert (part.quantity, part.unit, part.unit_price) == (Decimal(3), "packages", Decimal("5.00"))


def test_package_exact_multiple_is_not_rounded() -> None:
    (part,) = package("up").charge([usage("e1", 1200), usage("e2", 800, minute=1)])
    # 1,200 + 800 = 2,000 = 2 packages exactly; 2 x 5.00 = 10.00
    assert (part.quantity, part.amount, part.events) == (Decimal(2), Decimal("10.00"), ("e1", "e2"))


def test_package_free_units_are_taken_off_before_packaging() -> None:
    (part,) = package("up", free_units="500").charge([usage("e1", 1600)])
    # 1,600 - 500 free = 1,100 billable -> 1.1 packages -> 2 rounded up; 2 x 5.00 = 10.00
    assert (part.quantity, part.amount) == (Decimal(2), Decimal("10.00"))


def test_package_usage_within_free_units_costs_nothing() -> None:
    (part,) = package("up", free_units="500").charge([usage("e1", 500)])
    # 500 - 500 free = 0 billable -> 0 packages; 0 x 5.00 = 0
    assert (part.quantity, part.amount) == (Decimal(0), Decimal(0))


def test_package_without_usage_has_no_parts() -> None:
    assert package().charge([]) == []


def test_package_size_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        PackagePrice(model="package", category="c", size=Decimal(0), price=Decimal(1))
