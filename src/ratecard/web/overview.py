"""The account overview's figures: pool progress, the crossing forecast, daily usage series.

Everything here is computed from what the services already produce (the draft invoice's
lines, the usage records), with exact decimals; nothing is priced again.

The forecast rule, as the page states it: usage so far grows **linearly at the month's daily
average so far** (units counted on the pool this month divided by the days elapsed, today
included); the forecast crossing date is the first day of the month whose projected cumulative
usage reaches the threshold. A pool whose projection stays below the threshold through the
month's last day (or that has no usage yet) is "not forecast to cross" this month.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ratecard.money import ZERO, total
from ratecard.periods import Month
from ratecard.prices.pooled import Pool
from ratecard.service.usage_records import Record

FORECAST_RULE = (
    "Forecast: usage continues at this month's daily average so far (usage on the pool this "
    "month divided by the days elapsed, today included); the crossing date is the first day "
    "on which that projection reaches the threshold."
)


@dataclass(frozen=True)
class PoolProgress:
    """One pool's counter this month against its next volume threshold (``None``: every
    threshold is already crossed). ``percent`` is rounded down to one place."""

    name: str
    description: str
    unit: str
    used: Decimal
    threshold: Decimal | None
    percent: Decimal
    crossing: date | None


def forecast_crossing(used: Decimal, threshold: Decimal, today: date) -> date | None:
    """The day the linear projection of ``used`` (counted from the 1st through ``today``)
    reaches ``threshold``; None if that is after the month's last day or usage is zero."""
    if used >= threshold:
        return today
    if used <= ZERO:
        return None
    days = Decimal(today.day)
    # projected cumulative usage at the end of day d is used / days * d: the first d reaching
    # the threshold is ceil(threshold * days / used), in exact decimal arithmetic
    needed = (threshold * days / used).to_integral_value(rounding=ROUND_CEILING)
    first = today.replace(day=1)
    last = (Month.of(today).end - timedelta(days=1)).date()
    crossing = first + timedelta(days=int(needed) - 1)
    return crossing if crossing <= last else None


def _pool_usage(lines: Iterable[dict[str, Any]], pool: str) -> Decimal:
    """Units counted on ``pool`` by this month's own lines (adjustment lines for earlier
    months counted on those months' counters, not this one)."""
    return total(
        Decimal(line["quantity"])
        for line in lines
        if line.get("pool") == pool and not line.get("original_month")
    )


def pool_progress(
    pools: Sequence[Pool], lines: Sequence[dict[str, Any]], today: date
) -> list[PoolProgress]:
    """Each pool's progress to its next threshold with the forecast crossing date."""
    result = []
    for pool in pools:
        used = _pool_usage(lines, pool.name)
        threshold = next((b for b in pool.bounds if b is not None and used < b), None)
        percent = Decimal(100)
        crossing = None
        if threshold is not None:
            percent = (used * 100 / threshold).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)
            crossing = forecast_crossing(used, threshold, today)
        result.append(
            PoolProgress(
                pool.name,
                pool.description or pool.name,
                pool.unit,
                used,
                threshold,
                percent,
                crossing,
            )
        )
    return result


@dataclass(frozen=True)
class Series:
    """One category's daily usage over the month so far (``values[i]`` is day ``i + 1``)."""

    category: str
    description: str
    unit: str
    values: tuple[Decimal, ...]

    @property
    def total(self) -> Decimal:
        return total(self.values)


def daily_series(records: Sequence[Record], first: date, today: date) -> list[Series]:
    """The usage records of each day from ``first`` through ``today``, one series per
    category (days without a record are zero), ordered by category name."""
    days = (today - first).days + 1
    found: dict[str, list[Decimal]] = {}
    about: dict[str, tuple[str, str]] = {}
    for record in records:
        values = found.setdefault(record.category, [ZERO] * days)
        about[record.category] = (record.description, record.usage_unit)
        values[(record.start - first).days] = record.usage
    return [
        Series(name, about[name][0], about[name][1], tuple(found[name])) for name in sorted(found)
    ]
