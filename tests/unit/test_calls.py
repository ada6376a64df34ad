"""Calls: per-call rounding to billable minutes, and a call straddling the voice threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ratecard.catalog import load_catalog, parse_catalog
from ratecard.rating.engine import rate
from ratecard.usage.events import parse_events
from ratecard.usage.normalize import billable_minutes, normalize

ACCOUNT = "AC" + "c" * 32
JULY = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))


def call(event_id: str, seconds: int, time: str, direction: str = "inbound") -> dict[str, Any]:
    return {
        "type": "call",
        "id": event_id,
        "account": ACCOUNT,
        "time": time,
        "call_id": f"CA{event_id}",
        "direction": direction,
        "number_type": "local",
        "country": "US",
        "duration_seconds": seconds,
    }


def test_an_80_second_call_bills_2_minutes() -> None:
    # 80 s rounded up to whole minutes = 120 s = 2 minutes
    assert billable_minutes(80, 60) == Decimal(2)


def test_a_60_second_call_bills_1_minute() -> None:
    assert billable_minutes(60, 60) == Decimal(1)


def test_a_61_second_call_bills_2_minutes() -> None:
    # one second into the second minute starts it: 120 s = 2 minutes
    assert billable_minutes(61, 60) == Decimal(2)


def test_a_0_second_call_bills_nothing() -> None:
    assert billable_minutes(0, 60) == Decimal(0)


def test_per_second_billing_keeps_80_over_60_minutes_to_20_places() -> None:
    # 80 s / 60 = 1.3333...; kept to 20 decimal places (half-even: the 21st digit is 3)
    assert billable_minutes(80, 1) == Decimal("1.33333333333333333333")


def test_per_second_billing_of_90_seconds_is_exactly_one_and_a_half_minutes() -> None:
    assert str(billable_minutes(90, 1)) == "1.5"


def test_normalize_uses_the_categorys_per_second_increment() -> None:
    catalog = parse_catalog(
        {
            "name": "t",
            "version": "1",
            "currency": "USD",
            "effective": "2026-01-01",
            "categories": {
                "calls-inbound-local": {
                    "description": "inbound",
                    "unit": "minutes",
                    "increment_seconds": 1,
                }
            },
            "prices": [{"category": "calls-inbound-local", "model": "per_unit", "rate": "0.006"}],
        }
    )
    events = parse_events([("t", call("c1", 80, "2026-07-02T10:00:00Z"))])
    (usage,) = normalize(events, catalog.categories, *JULY)
    assert (usage.category, usage.quantity) == (
        "calls-inbound-local",
        Decimal("1.33333333333333333333"),
    )


def test_normalize_rounds_each_call_up_on_its_own() -> None:
    # two 80 s calls bill 2 + 2 = 4 minutes, not ceil(160 s) = 3
    events = parse_events(
        [
            ("t1", call("c1", 80, "2026-07-02T10:00:00Z")),
            ("t2", call("c2", 80, "2026-07-02T11:00:00Z")),
        ]
    )
    usages = normalize(events, load_catalog("us").categories, *JULY)
    assert [u.quantity for u in usages] == [Decimal(2), Decimal(2)]


def test_outbound_call_is_metered_as_calls_outbound() -> None:
    events = parse_events([("t", call("c1", 60, "2026-07-02T10:00:00Z", "outbound"))])
    (usage,) = normalize(events, load_catalog("us").categories, *JULY)
    assert usage.category == "calls-outbound"


def test_call_straddling_the_us_voice_threshold_is_split_in_two_parts() -> None:
    events = parse_events(
        [
            # 499,990 minutes already counted this month (29,999,400 s / 60)
            ("t1", call("c1", 29_999_400, "2026-07-01T00:00:00Z")),
            # then a 20-minute call (1,200 s): minutes 499,991 .. 500,010
            ("t2", call("c2", 1_200, "2026-07-15T12:00:00Z")),
        ]
    )
    catalog = load_catalog("us")
    usages = normalize(events, catalog.categories, *JULY)
    parts = rate(catalog, usages, {ACCOUNT: ACCOUNT})[ACCOUNT]
    split = [
        (p.tier_label, p.quantity, p.unit_price, p.amount) for p in parts if p.events == ("c2",)
    ]
    # 10 minutes at 0.0085 = 0.0850 fill the 500,000-minute threshold; 10 at 0.0080 = 0.0800
    assert split == [
        ("first 500,000", Decimal(10), Decimal("0.0085"), Decimal("0.0850")),
        ("over 500,000", Decimal(10), Decimal("0.0080"), Decimal("0.0800")),
    ]
