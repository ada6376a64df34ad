"""Percentage price models: a share of the amount each event carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ratecard.errors import RatingError
from ratecard.prices.graduated_percentage import GraduatedPercentagePrice
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.percentage import PercentagePrice

ACCOUNT = "AC" + "2" * 32
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def payment(event_id: str, amount: str | None, minute: int = 0) -> Usage:
    carried = None if amount is None else Decimal(amount)
    moment = T0 + timedelta(minutes=minute)
    return Usage(event_id, ACCOUNT, moment, "payments", Decimal(1), amount=carried)


def percentage(**settings: str | int) -> PercentagePrice:
    return PercentagePrice.model_validate(
        {"model": "percentage", "category": "payments", **settings}
    )


def pieces(parts: list[Part]) -> list[tuple[Kind, str | None, Decimal]]:
    return [(p.kind, p.tier_label, p.amount) for p in parts]


def test_percentage_charges_the_rate_of_the_carried_amount() -> None:
    (part,) = percentage(rate="0.029").charge([payment("p1", "100.00")])
    # 2.9% of 100.00 = 100.00 x 0.029 = 2.90000
    assert (part.quantity, part.amount) == (Decimal("100.00"), Decimal("2.90000"))


def test_percentage_adds_a_fixed_fee_per_event() -> None:
    parts = percentage(rate="0.029", fixed_fee="0.30").charge([payment("p1", "10")])
    # 10 x 0.029 = 0.290, plus 0.30 fixed = 0.590
    assert pieces(parts) == [
        (Kind.USAGE, None, Decimal("0.290")),
        (Kind.FIXED_FEE, None, Decimal("0.30")),
    ]


def test_percentage_free_events_cost_nothing_at_all() -> None:
    price = percentage(rate="0.01", fixed_fee="0.30", free_events=2)
    parts = price.charge([payment("p1", "50"), payment("p2", "50", 1), payment("p3", "50", 2)])
    # p1, p2 free (no percentage, no fixed fee); p3: 50 x 0.01 = 0.50 + 0.30 = 0.80
    assert pieces(parts) == [
        (Kind.USAGE, "free event", Decimal(0)),
        (Kind.USAGE, "free event", Decimal(0)),
        (Kind.USAGE, None, Decimal("0.50")),
        (Kind.FIXED_FEE, None, Decimal("0.30")),
    ]


def test_percentage_free_amount_is_used_up_across_events_in_time_order() -> None:
    price = percentage(rate="0.01", free_amount="120")
    parts = price.charge([payment("p1", "100"), payment("p2", "100", 1)])
    # p1: all 100 free; p2: 20 free (120 - 100), 80 at 1% = 0.80
    assert [(p.events, p.tier_label, p.quantity, p.amount) for p in parts] == [
        (("p1",), "free amount", Decimal(100), Decimal(0)),
        (("p1",), None, Decimal(0), Decimal(0)),
        (("p2",), "free amount", Decimal(20), Decimal(0)),
        (("p2",), None, Decimal(80), Decimal("0.80")),
    ]


def test_percentage_fee_below_the_per_transaction_minimum_is_topped_up() -> None:
    parts = percentage(rate="0.01", per_transaction_min="0.50").charge([payment("p1", "20")])
    # 20 x 0.01 = 0.20 < 0.50: a minimum part of 0.50 - 0.20 = 0.30 brings it to 0.50
    assert pieces(parts) == [
        (Kind.USAGE, None, Decimal("0.20")),
        (Kind.TRANSACTION_MINIMUM, None, Decimal("0.30")),
    ]


def test_percentage_fee_above_the_per_transaction_maximum_is_reduced() -> None:
    parts = percentage(rate="0.01", per_transaction_max="5").charge([payment("p1", "1000")])
    # 1,000 x 0.01 = 10.00 > 5: a maximum part of 5 - 10.00 = -5.00 brings it to 5
    assert pieces(parts) == [
        (Kind.USAGE, None, Decimal("10.00")),
        (Kind.TRANSACTION_MAXIMUM, None, Decimal("-5.00")),
    ]


def test_percentage_fee_between_the_limits_is_not_adjusted() -> None:
    price = percentage(rate="0.01", per_transaction_min="0.10", per_transaction_max="5")
    parts = price.charge([payment("p1", "100")])
    # 100 x 0.01 = 1.00, inside [0.10, 5]
    assert pieces(parts) == [(Kind.USAGE, None, Decimal("1.00"))]


def test_percentage_limits_include_the_fixed_fee() -> None:
    price = percentage(rate="0.01", fixed_fee="0.30", per_transaction_min="0.50")
    parts = price.charge([payment("p1", "10")])
    # 10 x 0.01 = 0.10, + 0.30 = 0.40 < 0.50: top-up 0.10
    assert parts[-1].kind is Kind.TRANSACTION_MINIMUM
    assert parts[-1].amount == Decimal("0.10")


def test_percentage_event_without_an_amount_cannot_be_rated() -> None:
    with pytest.raises(RatingError, match="event 'p1' of category 'payments' has no 'amount'"):
        percentage(rate="0.01").charge([payment("p1", None)])


def test_percentage_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="per_transaction_min 5 is above per_transaction_max 1"):
        percentage(rate="0.01", per_transaction_min="5", per_transaction_max="1")


def test_percentage_without_usage_has_no_parts() -> None:
    assert percentage(rate="0.01", fixed_fee="0.30").charge([]) == []


# graduated_percentage -----------------------------------------------------------------------


def graduated_percentage() -> GraduatedPercentagePrice:
    return GraduatedPercentagePrice.model_validate(
        {
            "model": "graduated_percentage",
            "category": "payments",
            "tiers": [
                {"up_to": "1000", "rate": "0.03", "flat_fee": "1"},
                {"rate": "0.02", "flat_fee": "4"},
            ],
        }
    )


def test_graduated_percentage_rates_the_part_of_the_running_amount_in_each_tier() -> None:
    parts = graduated_percentage().charge([payment("p1", "800"), payment("p2", "500", 1)])
    # p1: 800 x 0.03 = 24.00; p2 goes 800 -> 1,300: 200 x 0.03 = 6.00, 300 x 0.02 = 6.00
    # flat fees: 1 when tier 1 is entered (p1), 4 when tier 2 is entered (p2)
    assert [(p.kind, p.tier, p.quantity, p.amount) for p in parts] == [
        (Kind.FLAT_FEE, 1, Decimal(1), Decimal(1)),
        (Kind.USAGE, 1, Decimal(800), Decimal("24.00")),
        (Kind.USAGE, 1, Decimal(200), Decimal("6.00")),
        (Kind.FLAT_FEE, 2, Decimal(1), Decimal(4)),
        (Kind.USAGE, 2, Decimal(300), Decimal("6.00")),
    ]
    # total 1 + 24 + 6 + 4 + 6 = 41
    assert sum(p.amount for p in parts) == Decimal(41)


def test_graduated_percentage_event_without_an_amount_cannot_be_rated() -> None:
    with pytest.raises(RatingError, match="has no 'amount'"):
        graduated_percentage().charge([payment("p1", None)])


def test_graduated_percentage_without_usage_has_no_parts() -> None:
    assert graduated_percentage().charge([]) == []


# percentage with a combined free allowance (free_allowance = "combined", as Lago) -----------


THREE = [payment("p1", "100"), payment("p2", "100", 1), payment("p3", "100", 2)]


def total_of(parts: list[Part]) -> Decimal:
    return sum((p.amount for p in parts), Decimal(0))


def test_combined_allowance_ends_when_the_free_events_are_used_up_first() -> None:
    settings: dict[str, str | int] = {
        "rate": "0.01",
        "fixed_fee": "0.30",
        "per_transaction_min": "0.50",
        "free_events": 2,
        "free_amount": "1000",
    }
    combined = percentage(**settings, free_allowance="combined").charge(THREE)
    # p1, p2 free (2 events reached before 1,000.00); p3 pays 100 x 0.01 = 1.00 + 0.30 = 1.30
    assert pieces(combined) == [
        (Kind.USAGE, "free allowance", Decimal(0)),
        (Kind.USAGE, "free allowance", Decimal(0)),
        (Kind.USAGE, None, Decimal("1.00")),
        (Kind.FIXED_FEE, None, Decimal("0.30")),
    ]
    # today's separate allowances give p3 its 100 free as well: 0 + 0.30, topped up to 0.50
    assert total_of(percentage(**settings).charge(THREE)) == Decimal("0.50")


def test_combined_allowance_ends_when_the_free_amount_is_used_up_first() -> None:
    price = percentage(
        rate="0.01",
        fixed_fee="0.30",
        per_transaction_min="0.50",
        free_events=5,
        free_amount="150",
        free_allowance="combined",
    )
    parts = price.charge(THREE)
    # p1: 100 of 150 free, no fee; p2: the last 50 free, 50 x 0.01 = 0.50 + 0.30 = 0.80 (not
    # free: it pays its fixed fee); p3: nothing left though 3 of 5 events: 1.00 + 0.30 = 1.30
    assert [(p.events, p.kind, p.tier_label, p.quantity, p.amount) for p in parts] == [
        (("p1",), Kind.USAGE, "free allowance", Decimal(100), Decimal(0)),
        (("p2",), Kind.USAGE, "free allowance", Decimal(50), Decimal(0)),
        (("p2",), Kind.USAGE, None, Decimal(50), Decimal("0.50")),
        (("p2",), Kind.FIXED_FEE, None, Decimal(1), Decimal("0.30")),
        (("p3",), Kind.USAGE, None, Decimal(100), Decimal("1.00")),
        (("p3",), Kind.FIXED_FEE, None, Decimal(1), Decimal("0.30")),
    ]
    assert total_of(parts) == Decimal("2.10")


def test_combined_allowance_free_event_pays_no_fixed_fee_and_no_minimum() -> None:
    settings: dict[str, str | int] = {
        "rate": "0.01",
        "fixed_fee": "0.30",
        "per_transaction_min": "0.50",
        "free_amount": "200",
    }
    payments = [payment("p1", "100")]
    # combined: 100 of the 200 free covers p1 fully: nothing at all
    assert total_of(percentage(**settings, free_allowance="combined").charge(payments)) == 0
    # separate (today): 0 percentage + 0.30 fixed fee, topped up to the 0.50 minimum
    assert total_of(percentage(**settings).charge(payments)) == Decimal("0.50")


def test_combined_allowance_with_only_an_amount_ends_exactly_at_it() -> None:
    price = percentage(rate="0.01", free_amount="100", free_allowance="combined")
    parts = price.charge(THREE)
    # p1 uses the 100 exactly (an unset free_events is no limit); p2 and p3 pay 1.00 each
    assert [p.amount for p in parts] == [Decimal(0), Decimal("1.00"), Decimal("1.00")]


def test_combined_allowance_needs_a_limit_and_names_the_field() -> None:
    with pytest.raises(ValueError, match="free_allowance: 'combined' needs free_events"):
        percentage(rate="0.01", free_allowance="combined")
    with pytest.raises(ValueError, match="free_allowance"):
        percentage(rate="0.01", free_events=1, free_allowance="shared")
