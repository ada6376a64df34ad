"""The overview's figures, computed by hand: pool progress, the linear crossing forecast, the
daily series and the SVG chart drawn from them."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from ratecard.prices.pooled import Pool
from ratecard.service.usage_records import Record
from ratecard.web.chart import bar_chart
from ratecard.web.overview import Series, daily_series, forecast_crossing, pool_progress

VOICE = Pool(
    name="voice",
    description="Voice <minutes>",
    unit="minutes",
    countries=["US"],
    tiers=[{"up_to": Decimal(1000)}, {"up_to": Decimal(5000)}, {}],  # type: ignore[list-item]
    rates={"calls-outbound": [Decimal("0.013"), Decimal("0.012"), Decimal("0.011")]},
)


def _line(
    quantity: str, pool: str | None = "voice", original: str | None = None
) -> dict[str, str | None]:
    return {"pool": pool, "quantity": quantity, "original_month": original}


def test_a_pool_at_60_a_day_on_the_10th_crosses_1000_on_the_17th() -> None:
    # 600 units in 10 days is 60 a day: 960 by the 16th, 1020 by the 17th
    assert forecast_crossing(Decimal(600), Decimal(1000), date(2026, 7, 10)) == date(2026, 7, 17)


def test_a_projection_reaching_the_threshold_exactly_crosses_that_day() -> None:
    # 500 in 10 days is 50 a day: exactly 1000 at the end of the 20th
    assert forecast_crossing(Decimal(500), Decimal(1000), date(2026, 7, 10)) == date(2026, 7, 20)


def test_a_pool_that_would_cross_after_the_months_end_is_not_forecast_to_cross() -> None:
    # 100 in 10 days is 10 a day: 310 by the 31st
    assert forecast_crossing(Decimal(100), Decimal(1000), date(2026, 7, 10)) is None


def test_a_pool_without_usage_is_not_forecast_to_cross() -> None:
    assert forecast_crossing(Decimal(0), Decimal(1000), date(2026, 7, 10)) is None


def test_the_last_day_of_a_short_month_still_counts() -> None:
    # 900 in 14 February days is 64.28... a day: 1000 needs ceil(1000 * 14 / 900) = 16 days
    assert forecast_crossing(Decimal(900), Decimal(1000), date(2026, 2, 14)) == date(2026, 2, 16)
    # 400 in 14 days: ceil(14000 / 400) = 35 days, past the 28th
    assert forecast_crossing(Decimal(400), Decimal(1000), date(2026, 2, 14)) is None


def test_progress_counts_this_months_lines_of_the_pool_against_the_next_threshold() -> None:
    lines = [
        _line("700"),
        _line("550"),
        _line("40", pool="messages"),
        _line("300", original="2026-06"),  # an adjustment: June's counter, not July's
    ]
    (voice,) = pool_progress([VOICE], lines, date(2026, 7, 10))
    # 1250 is past 1000: the next threshold is 5000, 25.0% of the way; 125 a day reaches
    # 5000 after ceil(5000 * 10 / 1250) = 40 days, after July
    assert (voice.used, voice.threshold, voice.percent, voice.crossing) == (
        Decimal(1250),
        Decimal(5000),
        Decimal("25.0"),
        None,
    )


def test_progress_rounds_the_percentage_down() -> None:
    (voice,) = pool_progress([VOICE], [_line("2")], date(2026, 7, 10))
    assert voice.percent == Decimal("0.2")  # 2 of 1000 is 0.2%
    (voice,) = pool_progress([VOICE], [_line("999.99")], date(2026, 7, 10))
    assert voice.percent == Decimal("99.9")  # 99.999% is not yet 100


def test_a_pool_past_every_threshold_has_none_left() -> None:
    (voice,) = pool_progress([VOICE], [_line("6000")], date(2026, 7, 10))
    assert (voice.threshold, voice.percent, voice.crossing) == (None, Decimal(100), None)


def _record(category: str, day: date, usage: str) -> Record:
    return Record(
        "AC1",
        category,
        category,
        day,
        day,
        1,
        "calls",
        Decimal(usage),
        "minutes",
        Decimal(0),
        "usd",
    )


def test_daily_series_fill_days_without_records_with_zero() -> None:
    records = [
        _record("calls-outbound", date(2026, 7, 1), "5"),
        _record("calls-outbound", date(2026, 7, 3), "7"),
        _record("calls-inbound-local", date(2026, 7, 2), "2"),
    ]
    first, today = date(2026, 7, 1), date(2026, 7, 3)
    inbound, outbound = daily_series(records, first, today)
    assert (inbound.category, inbound.values) == ("calls-inbound-local", (0, 2, 0))
    assert (outbound.category, outbound.values, outbound.total) == ("calls-outbound", (5, 0, 7), 12)


def test_the_chart_draws_one_bar_per_day_scaled_to_the_highest_day() -> None:
    series = Series(
        "calls-outbound", "Outbound <voice>", "minutes", (Decimal(10), Decimal(0), Decimal(5))
    )
    svg = bar_chart(series, "c1")
    heights = [Decimal(h) for h in re.findall(r'<rect class="day-bar"[^>]*height="([^"]+)"', svg)]
    # the plot is 140 - 8 - 22 = 110 px high: 10 fills it, 5 half of it
    assert heights == [Decimal("110.0"), Decimal("0.0"), Decimal("55.0")]
    assert '<title id="c1-title">Daily calls-outbound usage, in minutes</title>' in svg
    assert "total 15 minutes; highest day 10 minutes" in svg


def test_the_chart_escapes_its_text() -> None:
    series = Series("x<y", "d", "u&v", (Decimal(1),))
    svg = bar_chart(series, "c2")
    assert "x&lt;y" in svg
    assert "u&amp;v" in svg
    assert "x<y" not in svg
