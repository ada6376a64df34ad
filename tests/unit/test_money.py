"""The D() gateway, the one rounding function and Money (SPEC section 6: money is exact)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ratecard.errors import MoneyError
from ratecard.money import D, Money, round_money


def test_d_accepts_decimal_strings_integers_and_decimals() -> None:
    assert D("0.0085") == Decimal("0.0085")
    assert D(3) == Decimal(3)
    assert D(Decimal("1.50")) == Decimal("1.50")


def test_d_refuses_a_float() -> None:
    with pytest.raises(MoneyError, match="float"):
        D(0.1)


@pytest.mark.parametrize("value", [True, False])
def test_d_refuses_a_bool(value: bool) -> None:
    with pytest.raises(MoneyError, match="boolean"):
        D(value)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-inf", Decimal("NaN")])
def test_d_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(MoneyError, match="finite"):
        D(value)


def test_d_refuses_text_that_is_not_a_number() -> None:
    with pytest.raises(MoneyError, match="not a decimal number"):
        D("1,50")


def test_round_money_rounds_a_half_cent_up() -> None:
    # 0.125 is exactly half-way between 0.12 and 0.13: half-up gives 0.13
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")


def test_round_money_rounds_below_the_half_down() -> None:
    # 0.124999 < 0.125, so it is nearer 0.12
    assert round_money(Decimal("0.124999"), "USD") == Decimal("0.12")


def test_round_money_rounds_a_negative_half_away_from_zero() -> None:
    # -0.125: half-up means away from zero, -0.13 (a credit rounds like a charge)
    assert round_money(Decimal("-0.125"), "USD") == Decimal("-0.13")


def test_round_money_writes_the_result_to_the_minor_unit() -> None:
    # 8 = 1,000 x 0.0080 written as 8.0000 precise, 8.00 rounded
    assert str(round_money(Decimal("8.0000"), "USD")) == "8.00"


def test_round_money_in_yen_has_no_decimal_places() -> None:
    # JPY has minor unit 0: 1.5 -> 2, 1.49 -> 1
    assert str(round_money(Decimal("1.5"), "JPY")) == "2"
    assert round_money(Decimal("1.49"), "JPY") == Decimal(1)


def test_round_money_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        round_money(Decimal(1), "XXX")


def test_money_refuses_a_float_amount() -> None:
    with pytest.raises(MoneyError, match="float"):
        Money(0.5, "USD")  # type: ignore[arg-type]


def test_money_adds_exactly_in_one_currency() -> None:
    # 0.1 + 0.2 = 0.3 exactly (a binary float would give 0.30000000000000004)
    assert Money(Decimal("0.1"), "USD") + Money(Decimal("0.2"), "USD") == Money(
        Decimal("0.3"), "USD"
    )


def test_money_times_a_rate_is_exact() -> None:
    # 1,000 minutes x 0.0085 = 8.5000
    assert Money(Decimal(1000), "USD").times(Decimal("0.0085")).amount == Decimal("8.5")


def test_money_rounded_uses_half_up() -> None:
    assert Money(Decimal("2.675"), "USD").rounded() == Money(Decimal("2.68"), "USD")


def test_money_addition_refuses_mixed_currencies() -> None:
    with pytest.raises(MoneyError, match="cannot combine USD and EUR"):
        _ = Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")


def test_money_subtraction_refuses_mixed_currencies() -> None:
    with pytest.raises(MoneyError, match="cannot combine USD and JPY"):
        _ = Money(Decimal(1), "USD") - Money(Decimal(1), "JPY")
