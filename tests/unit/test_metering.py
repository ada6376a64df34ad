"""The one metering table: category and quantity of each event type, for every normalizer."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from ratecard.catalog.schema import Category
from ratecard.usage.events import parse_event
from ratecard.usage.metering import METERS, NOT_METERED, Measure, Metering, metering
from ratecard.usage.metering_columns import whole_units
from ratecard.usage.normalize import normalize

SID = "AC" + "a" * 32
JULY = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))


def event(**fields: Any) -> Any:
    return parse_event({"id": "e1", "account": SID, "time": "2026-07-02T10:00:00Z", **fields})


CALL = {"type": "call", "call_id": "CA1", "direction": "inbound", "number_type": "tollfree"}
MESSAGE = {"type": "message", "direction": "outbound", "channel": "mms", "segments": 3}


def test_a_call_is_metered_in_seconds_in_its_direction_and_number_types_category() -> None:
    call = event(**CALL, country="US", duration_seconds=80)
    assert metering(call) == Metering("calls-inbound-tollfree", Decimal(80), "US", None)
    assert METERS["call"].measure is Measure.SECONDS


def test_every_other_metered_type_is_metered_in_units_billed_as_they_are() -> None:
    assert metering(event(**MESSAGE, country="CA")) == Metering("mms-outbound", Decimal(3), "CA")
    task = event(type="taskrouter_task", task="WT1")
    assert metering(task) == Metering("taskrouter-tasks", Decimal(1), None, None)
    usage = event(type="usage", category="recordings", quantity="2.5", amount="0.40")
    assert metering(usage) == Metering("recordings", Decimal("2.5"), None, Decimal("0.40"))
    assert {m.measure for name, m in METERS.items() if name != "call"} == {Measure.UNITS}


def test_a_number_purchase_is_not_metered_one_event_at_a_time() -> None:
    bought = event(
        type="number_purchased", number="+14155550100", number_type="local", country="US"
    )
    assert metering(bought) == NOT_METERED


def test_normalize_bills_a_calls_seconds_in_minutes_rounded_up_to_the_increment() -> None:
    calls = [event(**CALL, country="US", duration_seconds=80)]
    (per_minute,) = normalize(calls, {}, *JULY)
    assert (per_minute.category, per_minute.quantity) == ("calls-inbound-tollfree", Decimal(2))
    per_second = {
        "calls-inbound-tollfree": Category(description="d", unit="min", increment_seconds=1)
    }
    (exact,) = normalize(calls, per_second, *JULY)
    assert exact.quantity == Decimal("1.33333333333333333333")  # 80/60 kept to 20 places


def test_the_columns_meter_whole_units_as_normalize_does_and_null_what_the_kernel_cannot() -> None:
    stored = pl.DataFrame(
        {
            "type": ["call", "call", "call", "message", "usage", "usage", "usage", "call"],
            "category": ["calls-outbound"] * 3 + ["sms-outbound", "r", "r", "r", None],
            "quantity": ["80", "0", "61", "4", "7", "7.5", "7", "60"],
            "amount": [None, None, None, None, None, None, "1.00", None],
        },
        schema_overrides={"amount": pl.String},
    )
    units = whole_units(stored, {"calls-outbound": 60, "per-second": 1})
    # 80 s -> 2 min, 0 s -> 0, 61 s -> 2 min; 4 segments; 7 units; 7.5 and an amount are
    # not whole units for the kernel; a row without rating columns is never guessed
    assert units.to_list() == [2, 0, 2, 4, 7, None, None, None]
    per_second = stored.head(1).with_columns(category=pl.lit("per-second"))
    assert whole_units(per_second, {"per-second": 1}).item() is None  # 80/60 min
