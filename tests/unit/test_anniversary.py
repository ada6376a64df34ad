"""Phone-number anniversaries (SPEC section 4): charge on purchase, then monthly."""

from __future__ import annotations

from datetime import UTC, datetime

from ratecard.periods import charge_times


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def days(charges: object) -> list[str]:
    return [moment.date().isoformat() for moment in charges]  # type: ignore[attr-defined]


def test_a_number_is_charged_on_purchase_then_on_the_same_day_each_month() -> None:
    charges = charge_times(at(2026, 1, 15), until=at(2026, 4, 1, 0))
    assert days(charges) == ["2026-01-15", "2026-02-15", "2026-03-15"]


def test_anniversaries_keep_the_time_of_day_of_the_purchase() -> None:
    charges = list(charge_times(at(2026, 1, 15, 9), until=at(2026, 3, 1, 0)))
    assert charges == [at(2026, 1, 15, 9), at(2026, 2, 15, 9)]


def test_bought_on_jan_31_billing_day_moves_to_feb_28_for_good() -> None:
    # Feb 2026 has 28 days: the charge falls on the 28th, and the 28th is the billing day
    # from then on, so March is charged on the 28th too, not the 31st
    charges = charge_times(at(2026, 1, 31), until=at(2026, 5, 1, 0))
    assert days(charges) == ["2026-01-31", "2026-02-28", "2026-03-28", "2026-04-28"]


def test_bought_on_jan_31_of_a_leap_year_billing_day_moves_to_feb_29() -> None:
    charges = charge_times(at(2028, 1, 31), until=at(2028, 4, 1, 0))
    assert days(charges) == ["2028-01-31", "2028-02-29", "2028-03-29"]


def test_bought_on_the_30th_moves_only_when_a_month_is_shorter() -> None:
    # Jan 30 -> Feb 28 (short month) -> Mar 28 (the moved day is kept)
    charges = charge_times(at(2026, 1, 30), until=at(2026, 4, 1, 0))
    assert days(charges) == ["2026-01-30", "2026-02-28", "2026-03-28"]


def test_released_before_the_months_anniversary_that_month_is_not_charged() -> None:
    # bought the 15th, released May 10: April 15 is charged, May 15 is after the release
    charges = charge_times(at(2026, 3, 15), until=at(2026, 7, 1, 0), released=at(2026, 5, 10))
    assert days(charges) == ["2026-03-15", "2026-04-15"]


def test_released_before_the_first_anniversary_only_the_purchase_is_charged() -> None:
    charges = charge_times(at(2026, 3, 15), until=at(2026, 7, 1, 0), released=at(2026, 4, 2))
    assert days(charges) == ["2026-03-15"]


def test_a_charge_exactly_at_the_release_instant_is_not_made() -> None:
    charges = charge_times(at(2026, 3, 15), until=at(2026, 7, 1, 0), released=at(2026, 4, 15))
    assert days(charges) == ["2026-03-15"]


def test_a_number_released_at_once_still_pays_its_purchase_charge() -> None:
    # no proration and no refund: the purchase charge stands
    charges = charge_times(at(2026, 3, 15), until=at(2026, 7, 1, 0), released=at(2026, 3, 15))
    assert days(charges) == ["2026-03-15"]


def test_charges_stop_before_until() -> None:
    # until is exclusive: the anniversary exactly at until belongs to the next period
    charges = charge_times(at(2026, 3, 15), until=at(2026, 4, 15))
    assert days(charges) == ["2026-03-15"]


def test_a_purchase_at_or_after_until_has_no_charges() -> None:
    assert days(charge_times(at(2026, 3, 15), until=at(2026, 3, 15))) == []
