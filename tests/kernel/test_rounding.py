"""Integer half-up rounding in Polars (the batch kernel's line amounts) == money.round_money."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ratecard.money import EXACT_QUANTIZE, MINOR_UNITS, round_money
from ratecard.rating.columns import AMOUNT_PLACES, round_half_up

INT128 = 2**126


def rounded(amounts: list[int], places: int) -> list[int]:
    frame = pl.DataFrame({"amount": pl.Series(amounts, dtype=pl.Int128)})
    result = frame.select(round_half_up(pl.col("amount"), places))
    return [int(value) for value in result.to_series().to_list()]


def expected(amount: int, currency: str) -> Decimal:
    # scaled in a wide context: the default one keeps 28 digits and would round the oracle
    return round_money(Decimal(amount).scaleb(-AMOUNT_PLACES, EXACT_QUANTIZE), currency)


# Ties (.5 of the minor unit), just below and above them, zero, negatives, and huge values.
EDGES = [0, 1, -1, 4999999999, 5000000000, 5000000001, -5000000000, -4999999999, -5000000001]
EDGES += [15 * 10**9, -15 * 10**9, 25 * 10**9, -25 * 10**9, INT128 - 1, -(INT128 - 1)]


def test_ties_and_negatives_round_half_away_from_zero_like_round_money() -> None:
    for currency in ("USD", "JPY", "BHD"):
        places = AMOUNT_PLACES - MINOR_UNITS[currency]
        got = rounded(EDGES, places)
        for amount, value in zip(EDGES, got, strict=True):
            assert Decimal(value).scaleb(-MINOR_UNITS[currency]) == expected(amount, currency)


@settings(max_examples=200, deadline=None)
@given(
    amounts=st.lists(
        st.one_of(
            st.integers(-(10**16), 10**16),
            st.integers(-(10**6), 10**6).map(lambda n: n * 10**10 + 5 * 10**9),  # exact ties
            st.integers(-INT128 + 1, INT128 - 1),
        ),
        min_size=1,
        max_size=30,
    ),
    currency=st.sampled_from(sorted(MINOR_UNITS)),
)
def test_integer_rounding_equals_round_money_for_every_amount(
    amounts: list[int], currency: str
) -> None:
    minor = MINOR_UNITS[currency]
    got = rounded(amounts, AMOUNT_PLACES - minor)
    for amount, value in zip(amounts, got, strict=True):
        result = Decimal(value).scaleb(-minor)
        assert result == expected(amount, currency)
        if amount >= 0:  # same digits as documents show (Decimal also has -0.00; ints do not)
            assert str(result) == str(expected(amount, currency))
