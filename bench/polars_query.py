"""The same rating as one Polars query: the yardstick the batch kernel is measured against.

Written from the catalog and the pricing rules (SPEC sections 4 and 6), not from the kernel:
each pooled counter (billing account or account by the pool's scope, pool, month) is a
running ``cum_sum`` over its rows in exact (time, event id, account) order (a window with
``order_by``: Polars sorts within each counter), each row's (before, after] is split at the
tier bounds, units are summed per (billing account, month, line) and multiplied by the line's
rate in Int128 (1e-13 of the currency: exact), each line rounded half-up once, in integers.
Per-unit prices are summed per line. Other price models are refused (the bench file has
none). Its total must equal the kernel's to the cent: the bench asserts it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from ratecard.catalog.model import Catalog
from ratecard.money import EXACT_QUANTIZE, minor_units
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.pooled import Pool
from ratecard.rating.columns import (
    AMOUNT_PLACES,
    INT64_MAX,
    QUANTITY_PLACES,
    RATE_PLACES,
    from_micros,
    round_half_up,
    scaled,
    scan_parquet,
)
from ratecard.rating.grouping import counter_expr, order_by, per_account

_LINE = ["billing_account", "month", "category", "pool", "tier", "rate"]


def _prices(catalog: Catalog, frame: pl.DataFrame, when: datetime) -> pl.DataFrame:
    """One row per (category, country, tier) present: pool, scope, bounds [low, high), rate."""
    version = catalog.at(when)
    rows: dict[str, list[object]] = {
        name: []
        for name in ("category", "country", "pooled", "pool", "by_account", "tier", "low", "high")
    }
    rows["rate"] = []
    for category, country in frame.cast(pl.String).iter_rows():
        charge = version.charge_for(category, country)
        if isinstance(charge, Pool):
            bounds = [
                0,
                *(scaled(b, QUANTITY_PLACES, "bound") for b in charge.bounds if b is not None),
            ]
            rates = charge.rates[category]
            for tier, rate in enumerate(rates):
                high = bounds[tier + 1] if tier + 1 < len(bounds) else INT64_MAX
                values: tuple[object, ...] = (category, country, True, charge.name)
                values += (per_account(charge), tier + 1, bounds[tier], high)
                values += (scaled(rate, RATE_PLACES, "rate"),)
                for name, value in zip(rows, values, strict=True):
                    rows[name].append(value)
        elif (
            isinstance(charge, PerUnitPrice)
            and charge.minimum_spend is None
            and charge.maximum_spend is None
        ):
            values = (category, country, False, None, False, None, 0, INT64_MAX)
            values += (scaled(charge.rate, RATE_PLACES, "rate"),)
            for name, value in zip(rows, values, strict=True):
                rows[name].append(value)
        else:
            raise SystemExit(f"polars query: no price (or not pooled/per-unit) for {category}")
    schema = {
        "category": pl.String,
        "country": pl.String,
        "pooled": pl.Boolean,
        "pool": pl.String,
        "by_account": pl.Boolean,
        "tier": pl.Int8,
        "low": pl.Int64,
        "high": pl.Int64,
        "rate": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def polars_total(catalog: Catalog, path: Path) -> Decimal:
    """The sum of every rounded invoice line of the file (one month, one catalog version)."""
    events = scan_parquet(path)  # string columns as Categorical: cheaper to group and join
    span = events.select(pl.col("time").min().alias("low"), pl.col("time").max().alias("high"))
    low, high = span.collect().row(0)
    if catalog.at(from_micros(low)) is not catalog.at(from_micros(high)):
        raise SystemExit("polars query: the file spans catalog versions")
    pairs = events.select("category", "country").unique().collect()
    prices = _prices(catalog, pairs, from_micros(low).astimezone(UTC)).with_columns(
        pl.col("category", "country").cast(pl.Categorical)
    )
    moment = pl.from_epoch("time", time_unit="us")
    rows = events.with_columns(month=moment.dt.year() * 12 + moment.dt.month() - 1)
    # per (category, country): its pool and each tier's [low, high) as columns (an empty
    # [0, 0) past its last tier), so each pooled row is split without a join per tier
    depth = max(1, int(prices.select(pl.col("tier").max().fill_null(1)).item()))
    wide = prices.group_by("category", "country", "pooled", "pool", "by_account").agg(
        *(
            pl.col(bound).filter(pl.col("tier") == k).first().fill_null(0).alias(f"{bound}{k}")
            for k in range(1, depth + 1)
            for bound in ("low", "high")
        )
    )
    rows = rows.join(wide.lazy(), on=["category", "country"], how="left", nulls_equal=True)
    counter = ["counter", "pool", "month"]
    per_row = ["billing_account", "month", "category", "country"]
    pooled = (
        rows.filter(pl.col("pooled"))
        .with_columns(counter=counter_expr(pl.col("by_account")))
        .with_columns(after=pl.col("quantity").cum_sum().over(counter, order_by=order_by()))
        .with_columns(before=pl.col("after") - pl.col("quantity"))
        .group_by(per_row)
        .agg(
            (pl.min_horizontal("after", f"high{k}") - pl.max_horizontal("before", f"low{k}"))
            .clip(lower_bound=0)
            .sum()
            .alias(str(k))
            for k in range(1, depth + 1)
        )
        .unpivot(index=per_row, variable_name="tier", value_name="units")
        .with_columns(pl.col("tier").cast(pl.Int8))
    )
    units = (
        rows.filter(~pl.col("pooled"))
        .group_by(per_row)
        .agg(units=pl.col("quantity").sum())
        .with_columns(tier=pl.lit(None, dtype=pl.Int8))
    )
    rates = prices.select("category", "country", "pool", "tier", "rate").lazy()
    same = [*per_row, "tier", "units"]
    priced = pl.concat([pooled.select(same), units.select(same)]).join(
        rates, on=["category", "country", "tier"], nulls_equal=True
    )
    places = AMOUNT_PLACES - minor_units(catalog.currency)
    lines = (
        priced.group_by(_LINE)
        .agg(amount=(pl.col("units").cast(pl.Int128) * pl.col("rate").cast(pl.Int128)).sum())
        .select(round_half_up(pl.col("amount"), places).sum())
        .collect()
    )
    rounded = int(lines.item() or 0)
    return Decimal(rounded).scaleb(-minor_units(catalog.currency), EXACT_QUANTIZE)
