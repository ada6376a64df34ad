"""The curated public API stays complete: every name in __all__ exists, and the core entry
points a program needs to price usage without the CLI are in it."""

from __future__ import annotations

import ratecard

ENTRY_POINTS = {
    "D",
    "round_money",
    "load_catalog",
    "parse_event",
    "normalize",
    "rate",
    "price",
    "bill_month",
    "load_book",
    "check_change",
    "compare",
    "checklist",
    "RatecardError",
}


def test_every_name_in_all_is_importable_and_sorted() -> None:
    missing = [name for name in ratecard.__all__ if not hasattr(ratecard, name)]
    assert missing == []
    assert ratecard.__all__ == sorted(ratecard.__all__)


def test_the_core_entry_points_are_public() -> None:
    assert set(ratecard.__all__) >= ENTRY_POINTS


def test_every_public_error_is_a_ratecard_error() -> None:
    errors = [getattr(ratecard, n) for n in ratecard.__all__ if n.endswith("Error")]
    assert errors
    assert all(issubclass(e, ratecard.RatecardError) for e in errors)
