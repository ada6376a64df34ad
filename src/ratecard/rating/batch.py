"""The batch kernel: month close over columns, in integers, equal line for line to the reference.

Input is usage as columns (:mod:`ratecard.rating.columns`). Units and money inside:

* quantities are Int64 micro-units (1e-6 unit), rates Int64 in 1e-7 of the currency, so an
  amount ``units x rate`` is an exact Int64 in 1e-13 of the currency. Nothing is rounded here:
  parts carry precise amounts; invoice lines are rounded once, half-up, by
  :func:`ratecard.billing.invoice.assemble_lines` (:meth:`BatchResult.lines` feeds it).
* Polars and NumPy wrap silently on int64 overflow, so the bounds are checked BEFORE rating:
  per pool counter, (cumulative quantity) x (largest rate of its rows) must fit in int64, and
  per row of a per-unit price, quantity x rate must fit. Otherwise :class:`RatingError`. Line
  sums are taken in Int128 (at most 2**31 rows of < 2**63 each cannot overflow it).

What is columnar and what is delegated:

* pooled categories (SPEC section 4): per (counter, pool, month), rows in (time, event id,
  account) order, a cumulative sum, each row split at its pool's tier bounds (a row may
  straddle several bounds; the few straddling rows are split in Python, the rest in Polars);
* ``per_unit`` prices without minimum/maximum spend: ``quantity x rate`` per row;
* every other price model (graduated, volume, package, percentage, graduated percentage, and
  per-unit prices with spend limits) is DELEGATED: its rows become :class:`Usage` objects and
  are rated by the reference model itself (``Price.charge`` and ``spend_limits``), grouped as
  the reference kernel groups them. These categories are few and small in practice.

Order: events are stored in time order, so the kernel first checks whether the pooled rows are
already in (time, event id, account) order (one linear pass) and then sorts nothing; when they
are not, it finds the counters whose rows are out of order and sorts only those rows.

Months: unlike :func:`ratecard.rating.engine.rate` (one month per call), the batch kernel
keys every counter and group by calendar month (UTC) as well, so one call may span months; the
result is keyed by (billing account, month).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl

from ratecard.billing.invoice import Line, assemble_lines
from ratecard.billing.periods import Month
from ratecard.catalog.model import Catalog, Charge
from ratecard.errors import NoPriceError, RatingError
from ratecard.money import total
from ratecard.rating.columns import (
    AMOUNT_PLACES,
    INT64_MAX,
    QUANTITY_PLACES,
    RATE_PLACES,
    check_columns,
    frame_to_usages,
    from_micros,
    micros,
    scaled,
    scan_parquet,
    unscaled,
)
from ratecard.rating.engine import Unpriced, spend_limits
from ratecard.rating.models.base import Price
from ratecard.rating.models.per_unit import PerUnitPrice
from ratecard.rating.models.pooled import Pool
from ratecard.rating.parts import Kind, Part
from ratecard.usage.metered import Usage

Mode = Literal["pool", "per_unit", "delegate"]
#: (billing account, month): the key of every result.
Key = tuple[str, Month]

_ORDER = ["time", "event_id", "account"]
_GROUP = ["group"]  # one Int64 per (counter, pool name, month): cheap to group by
_PIECE_COLUMNS = ["billing_account", "month", "account", "event_id", "combo", "tier", "units"]
_PART_COLUMNS = [*_PIECE_COLUMNS, "amount"]
_HALF = 2**32


@dataclass(frozen=True)
class _Combo:
    """How one (catalog version, category, country) is priced; ``id`` indexes the tables."""

    id: int
    category: str
    charge: Charge
    mode: Mode
    rates: tuple[Decimal, ...]  # per tier (pool) or the one rate (per unit); () if delegated
    bounds: tuple[int, ...]  # finite tier bounds in micro-units (pool)
    labels: tuple[str, ...] = ()  # tier labels (pool)


@dataclass
class BatchResult:
    """Rated usage: columnar pieces plus the parts of delegated price models.

    ``pieces`` holds one row per priced piece: ``billing_account``, ``month`` (year x 12 +
    month - 1), ``account``, ``event_id``, ``combo`` (index into ``combos``), ``tier`` (0-based,
    null for per-unit prices), ``units`` (Int64 micro-units), ``rate`` (Int64, 1e-7 currency),
    ``amount`` (Int64, 1e-13 currency, = units x rate exactly).
    """

    catalog: Catalog
    combos: list[_Combo]
    pieces: pl.DataFrame
    delegated: dict[Key, list[Part]]

    def parts(self) -> dict[Key, list[Part]]:
        """Every part, per (billing account, month): one Part per piece (for tests, audits)."""
        result: dict[Key, list[Part]] = defaultdict(list)
        for owner, month, account, event_id, combo, tier, units, amount in self.pieces.select(
            _PART_COLUMNS
        ).iter_rows():
            part = self._part(combo, tier, units, amount, account, (event_id,))
            result[(owner, _month(month))].append(part)
        for key, parts in self.delegated.items():
            result[key].extend(parts)
        return dict(result)

    def lines(self) -> dict[Key, tuple[Line, ...]]:
        """Invoice lines per (billing account, month), rounded once each (events left empty).

        Pieces are summed per line in Polars (Int128), then each sum becomes one synthetic part
        and :func:`assemble_lines` groups, sums exactly and rounds as it does for the reference.
        """
        # Exact Int64 sums without Int128 (slow in Polars): split each value v >= 0 into
        # v = hi x 2**32 + lo; below 2**31 rows neither the hi nor the lo sums can overflow.
        split = []
        for name in ("units", "amount"):
            hi = pl.col(name) // _HALF
            split += [hi.sum().alias(f"{name}_hi"), (pl.col(name) - hi * _HALF).sum().alias(name)]
        sums = self.pieces.group_by(["billing_account", "month", "combo", "tier"]).agg(split)
        sums = sums.select(
            "billing_account",
            "month",
            "combo",
            "tier",
            "units_hi",
            "units",
            "amount_hi",
            "amount",
        )
        parts: dict[Key, list[Part]] = defaultdict(list)
        for owner, month, combo, tier, units_hi, units, amount_hi, amount in sums.iter_rows():
            units += units_hi * _HALF
            amount += amount_hi * _HALF
            # One part carrying the exact sums of the line's pieces (exact products): the same
            # numbers the reference reaches by adding Decimal products.
            parts[(owner, _month(month))].append(self._part(combo, tier, units, amount, None, ()))
        for key, delegated in self.delegated.items():
            parts[key].extend(delegated)
        return {key: assemble_lines(group, self.catalog) for key, group in parts.items()}

    def _part(
        self,
        combo: int,
        tier: int | None,
        units: int,
        amount: int,
        account: str | None,
        events: tuple[str, ...],
    ) -> Part:
        """A Part from integers: ``units`` in micro-units, ``amount`` in 1e-13 currency."""
        spec = self.combos[combo]
        if isinstance(spec.charge, Pool):
            assert tier is not None
            rate = spec.rates[tier]
            label, pool, number = spec.labels[tier], spec.charge.name, tier + 1
        else:
            rate, label, pool, number = spec.rates[0], None, None, None
        return Part(
            category=spec.category,
            kind=Kind.USAGE,
            quantity=unscaled(units, QUANTITY_PLACES),
            unit_price=rate,
            amount=unscaled(amount, AMOUNT_PLACES),
            tier=number,
            tier_label=label,
            pool=pool,
            account=account,
            events=events,
        )


def invoice_total(lines: dict[Key, tuple[Line, ...]]) -> Decimal:
    """Sum of every rounded line amount: the total of all invoices (SPEC section 6)."""
    return total(line.amount for group in lines.values() for line in group)


def rate_frame(catalog: Catalog, frame: pl.DataFrame) -> BatchResult:
    """Rate usage columns (see :mod:`ratecard.rating.columns`); equal to the reference kernel.

    Raise NoPriceError listing every category/country without a price, RatingError when a
    value would overflow int64 or precedes the catalog.
    """
    frame = check_columns(frame)
    if frame.height and frame["quantity"].min() < 0:  # type: ignore[operator]
        raise RatingError("negative quantities are not rated by the batch kernel")
    frame = frame.with_columns(
        _month_of(pl.col("time")),
        _version_of(catalog),
        category_code=_code("category"),
        country_code=_code("country").fill_null(-1),
    )
    combos, keys = _resolve(catalog, frame)
    frame = frame.join(keys, on=_COMBO_KEY, how="left")
    modes = pl.Series([c.mode for c in combos], dtype=pl.String)
    frame = frame.with_columns(mode=modes.gather(frame["combo"]))
    pieces = [
        _rate_pools(combos, frame.filter(pl.col("mode") == "pool")),
        _rate_per_unit(combos, frame.filter(pl.col("mode") == "per_unit")),
    ]
    delegated = _delegate(combos, frame.filter(pl.col("mode") == "delegate"))
    # Pieces keep the input's string dtypes (Categorical stays Categorical: cheap to group).
    same = [p.cast({n: frame.schema[n] for n in ("billing_account", "account")}) for p in pieces]
    return BatchResult(catalog, combos, pl.concat(same, how="vertical"), delegated)


def rate_parquet(
    catalog: Catalog,
    path: Path,
    shard_rows: int = 30_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Key, tuple[Line, ...]]:
    """Rate a Parquet file of usage columns; return invoice lines per (billing account, month).

    Memory stays bounded: billing accounts are packed into shards of about ``shard_rows``
    rows (a billing account is never split: its counters need all its rows), each shard is
    read, rated and reduced to lines before the next. ``progress(done_rows, all_rows)`` is
    called after each shard.
    """
    scan = scan_parquet(path)
    sizes = scan.group_by("billing_account").agg(pl.len()).collect().sort("billing_account")
    shards = _pack(sizes["billing_account"].to_list(), sizes["len"].to_list(), shard_rows)
    all_rows, done = int(sizes["len"].sum()), 0
    lines: dict[Key, tuple[Line, ...]] = {}
    for owners, rows in shards:
        query = scan if len(shards) == 1 else scan.filter(pl.col("billing_account").is_in(owners))
        lines.update(rate_frame(catalog, query.collect()).lines())
        done += rows
        if progress is not None:
            progress(done, all_rows)
    return lines


def _pack(owners: list[str], counts: list[int], limit: int) -> list[tuple[list[str], int]]:
    shards: list[tuple[list[str], int]] = []
    current: list[str] = []
    rows = 0
    for owner, count in zip(owners, counts, strict=True):
        if current and rows + count > limit:
            shards.append((current, rows))
            current, rows = [], 0
        current.append(owner)
        rows += count
    if current:
        shards.append((current, rows))
    return shards


# ------------------------------------------------------------------------------------------
# Months, catalog versions and prices per row
# ------------------------------------------------------------------------------------------


_COMBO_KEY = ["version", "category_code", "country_code"]


def _code(name: str) -> pl.Expr:
    """Integer code of a string column (Polars' categorical codes: one per distinct string)."""
    return pl.col(name).cast(pl.Categorical).to_physical().cast(pl.Int64)


def _month_of(time: pl.Expr) -> pl.Expr:
    moment = pl.from_epoch(time, time_unit="us")
    return (moment.dt.year().cast(pl.Int32) * 12 + moment.dt.month().cast(pl.Int32) - 1).alias(
        "month"
    )


def _month(key: int) -> Month:
    return Month(key // 12, key % 12 + 1)


def _version_of(catalog: Catalog) -> pl.Expr:
    """Index of the catalog version in force (by UTC day, as :meth:`Catalog.at`)."""
    starts = [
        micros(datetime(v.effective.year, v.effective.month, v.effective.day, tzinfo=UTC))
        for v in catalog.versions
    ]
    version = pl.lit(0, dtype=pl.Int32)
    for start in starts[1:]:
        version = version + (pl.col("time") >= start).cast(pl.Int32)
    first = starts[0]
    return (
        pl.when(pl.col("time") < first).then(pl.lit(-1, dtype=pl.Int32)).otherwise(version)
    ).alias("version")


def _resolve(catalog: Catalog, frame: pl.DataFrame) -> tuple[list[_Combo], pl.DataFrame]:
    """Price every distinct (version, category, country); raise for what has no price."""
    distinct = (
        frame.group_by(_COMBO_KEY)
        .agg(
            pl.col("category").first().cast(pl.String),
            pl.col("country").first().cast(pl.String),
            pl.len(),
        )
        .sort(_COMBO_KEY)
    )
    combos: list[_Combo] = []
    missing: list[tuple[int, str, str | None, int]] = []
    ids = []
    for version, _, _, category, country, count in distinct.iter_rows():
        if version < 0:
            first = frame.filter(pl.col("version") < 0).sort("time")["time"][0]
            catalog.at(from_micros(first))  # raises RatingError naming the first priced day
        charge = catalog.versions[version].charge_for(category, country)
        if charge is None:
            missing.append((version, category, country, count))
            ids.append(-1)
            continue
        ids.append(len(combos))
        combos.append(_combo(len(combos), category, charge))
    if missing:
        raise NoPriceError(_unpriced(frame, missing))
    keys = distinct.select(_COMBO_KEY).with_columns(combo=pl.Series(ids, dtype=pl.Int32))
    return combos, keys


def _unpriced(
    frame: pl.DataFrame, missing: list[tuple[int, str, str | None, int]]
) -> list[Unpriced]:
    """One entry per category/country, first event in input order (as the reference)."""
    merged: dict[tuple[str, str | None], list[tuple[int, int]]] = {}
    for version, category, country, count in missing:
        merged.setdefault((category, country), []).append((version, count))
    result = []
    for (category, country), found in merged.items():
        versions = [version for version, _ in found]
        text = pl.col("country").cast(pl.String)
        match = (pl.col("category").cast(pl.String) == category) & pl.col("version").is_in(versions)
        match = match & (text.is_null() if country is None else text == country)
        first = frame.filter(match)["event_id"][0]
        result.append(Unpriced(category, country, first, sum(count for _, count in found)))
    return result


def _combo(index: int, category: str, charge: Charge) -> _Combo:
    if isinstance(charge, Pool):
        bounds = tuple(
            scaled(bound, QUANTITY_PLACES, f"pool '{charge.name}' bound")
            for bound in charge.bounds
            if bound is not None
        )
        labels = tuple(charge.label(i) for i in range(len(charge.tiers)))
        rates = tuple(charge.rates[category])
        return _Combo(index, category, charge, "pool", rates, bounds, labels)
    if _columnar_per_unit(charge):
        assert isinstance(charge, PerUnitPrice)
        return _Combo(index, category, charge, "per_unit", (charge.rate,), ())
    return _Combo(index, category, charge, "delegate", (), ())


def _columnar_per_unit(price: Price) -> bool:
    return (
        isinstance(price, PerUnitPrice)
        and price.minimum_spend is None
        and price.maximum_spend is None
    )


def _rate(value: Decimal) -> int:
    return scaled(value, RATE_PLACES, "rate")


def _table(combos: Sequence[_Combo], values: Callable[[_Combo], int]) -> pl.Series:
    return pl.Series([values(c) for c in combos], dtype=pl.Int64)


# ------------------------------------------------------------------------------------------
# Pools: ordered cumulative counters split at tier bounds
# ------------------------------------------------------------------------------------------


def _rate_pools(combos: list[_Combo], rows: pl.DataFrame) -> pl.DataFrame:
    if rows.is_empty():
        return _empty_pieces()
    scope_account = pl.Series(
        [isinstance(c.charge, Pool) and c.charge.scope == "account" for c in combos]
    )
    names = sorted({c.charge.name for c in combos if isinstance(c.charge, Pool)})
    tags = pl.Series(
        [names.index(c.charge.name) if isinstance(c.charge, Pool) else 0 for c in combos],
        dtype=pl.Int64,
    )
    # The counter is the billing account or (scope "account") the account; categorical codes
    # are one per distinct string, so a sid gets the same code in either column.
    counter = (
        pl.when(scope_account.gather(rows["combo"]))
        .then(_code("account"))
        .otherwise(_code("billing_account"))
    )
    rows = rows.with_columns(
        group=counter * 2**24 + tags.gather(rows["combo"]) * 2**16 + pl.col("month") % 2**16
    )
    rows = _in_order(rows)
    _check_pool_bounds(combos, rows)
    rows = rows.with_columns(after=pl.col("quantity").cum_sum().over(_GROUP))
    rows = rows.with_columns(before=pl.col("after") - pl.col("quantity"))
    depth = max(len(c.bounds) for c in combos)
    start = pl.lit(0, dtype=pl.Int32)
    end = pl.lit(0, dtype=pl.Int32)
    for k in range(depth):
        # Absent bounds (pools with fewer tiers) are INT64_MAX: never reached by a counter.
        bound = pl.Series([c.bounds[k] if k < len(c.bounds) else INT64_MAX for c in combos])
        per_row = bound.gather(rows["combo"])
        start = start + (pl.col("before") >= per_row).cast(pl.Int32)
        end = end + (pl.col("after") > per_row).cast(pl.Int32)
    rows = rows.with_columns(
        start=start, end=pl.when(pl.col("quantity") > 0).then(end).otherwise(start)
    )
    simple = rows.filter(pl.col("start") == pl.col("end"))
    straddling = rows.filter(pl.col("start") != pl.col("end"))
    width = depth + 1
    flat = pl.Series(
        [_rate(c.rates[t]) if t < len(c.rates) else 0 for c in combos for t in range(width)],
        dtype=pl.Int64,
    )
    index = simple["combo"].cast(pl.Int64) * width + simple["start"].cast(pl.Int64)
    simple = simple.select(
        "billing_account",
        "month",
        "account",
        "event_id",
        "combo",
        pl.col("start").cast(pl.Int8).alias("tier"),
        pl.col("quantity").alias("units"),
        rate=flat.gather(index),
    ).with_columns(amount=pl.col("units") * pl.col("rate"))
    straddled = _split(combos, straddling).cast(
        {n: rows.schema[n] for n in ("billing_account", "account")}
    )
    return pl.concat([simple, straddled], how="vertical")


def _in_order(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with every counter's rows in (time, event id, account) order.

    Already ordered input (the normal case: events are stored in time order) costs one linear
    check and no sort. Otherwise only the counters with a row out of order are sorted.
    """
    if bool(rows.select(_ordered(lambda e: e.shift(1)).all()).item()):
        return rows
    ordered = rows.select(_ordered(lambda e: e.shift(1).over(_GROUP)))
    bad = rows.filter(~ordered.to_series()).select(_GROUP).unique()
    clean = rows.join(bad, on=_GROUP, how="anti")
    dirty = rows.join(bad, on=_GROUP, how="semi").sort([*_GROUP, *_ORDER])
    return pl.concat([clean, dirty], how="vertical")


def _ordered(previous: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """True where a row is not before the row preceding it (first rows count as ordered)."""
    t, e, a = (pl.col(name) for name in _ORDER)
    pt, pe, pa = (previous(pl.col(name)) for name in _ORDER)
    later = (t > pt) | ((t == pt) & ((e > pe) | ((e == pe) & (a >= pa))))
    return later.fill_null(True)


def _check_pool_bounds(combos: list[_Combo], rows: pl.DataFrame) -> None:
    """Refuse a counter whose cumulative quantity x largest rate does not fit in int64."""
    top = _table(combos, lambda c: max((_rate(r) for r in c.rates), default=0))
    sums = (
        rows.with_columns(top=top.gather(rows["combo"]))
        .group_by(_GROUP)
        .agg(pl.col("quantity").cast(pl.Int128).sum().alias("units"), pl.col("top").max())
    )
    limit = pl.lit(INT64_MAX, dtype=pl.Int128)
    too_big = (pl.col("units") > limit) | (
        (pl.col("top") > 0) & (pl.col("units") > limit // pl.col("top").cast(pl.Int128))
    )
    bad = sums.filter(too_big)
    if not bad.is_empty():
        group, units, rate = bad.row(0)
        first = rows.filter(pl.col("group") == group).row(0, named=True)
        pool = combos[first["combo"]].charge
        assert isinstance(pool, Pool)
        raise RatingError(
            f"pool '{pool.name}' of billing account '{first['billing_account']}' in "
            f"{_month(first['month'])}: "
            f"{unscaled(units, QUANTITY_PLACES)} units x rate {unscaled(rate, RATE_PLACES)} "
            f"overflows int64 in 1e-{AMOUNT_PLACES} units; "
            "rate this counter with the reference kernel"
        )


def _split(combos: list[_Combo], rows: pl.DataFrame) -> pl.DataFrame:
    """Pieces of the rows that straddle tier bounds (few: at most one per bound and counter)."""
    out: dict[str, list[object]] = {name: [] for name in (*_PIECE_COLUMNS, "rate", "amount")}
    columns = ["billing_account", "month", "account", "event_id", "combo", "before", "quantity"]
    for owner, month, account, event_id, combo, before, quantity in rows.select(
        columns
    ).iter_rows():
        spec = combos[combo]
        bounds = [*spec.bounds, None]
        counted, remaining = before, quantity
        while True:  # the walk of ratecard.rating.tiers, in integers
            tier = next(i for i, b in enumerate(bounds) if b is None or counted < b)
            bound = bounds[tier]
            room = remaining if bound is None else min(remaining, bound - counted)
            rate = _rate(spec.rates[tier])
            for name, value in zip(
                out,
                (owner, month, account, event_id, combo, tier, room, rate, room * rate),
                strict=True,
            ):
                out[name].append(value)
            counted += room
            remaining -= room
            if remaining <= 0:
                break
    return pl.DataFrame(out, schema=_PIECES_SCHEMA)


_PIECES_SCHEMA: dict[str, pl.DataType] = {
    "billing_account": pl.String(),
    "month": pl.Int32(),
    "account": pl.String(),
    "event_id": pl.String(),
    "combo": pl.Int32(),
    "tier": pl.Int8(),
    "units": pl.Int64(),
    "rate": pl.Int64(),
    "amount": pl.Int64(),
}


def _empty_pieces() -> pl.DataFrame:
    return pl.DataFrame(schema=_PIECES_SCHEMA)


# ------------------------------------------------------------------------------------------
# Per-unit prices (columnar) and delegated price models (reference code)
# ------------------------------------------------------------------------------------------


def _rate_per_unit(combos: list[_Combo], rows: pl.DataFrame) -> pl.DataFrame:
    if rows.is_empty():
        return _empty_pieces()
    rate = _table(combos, lambda c: _rate(c.rates[0]) if c.mode == "per_unit" else 0)
    rows = rows.with_columns(rate=rate.gather(rows["combo"]))
    too_big = (pl.col("rate") > 0) & (pl.col("quantity") > INT64_MAX // pl.col("rate"))
    bad = rows.filter(too_big)
    if not bad.is_empty():
        event_id, quantity = bad.select("event_id", "quantity").row(0)
        raise RatingError(
            f"event '{event_id}': quantity {unscaled(quantity, QUANTITY_PLACES)} x rate "
            f"overflows int64 in 1e-{AMOUNT_PLACES} units; rate it with the reference kernel"
        )
    return rows.select(
        "billing_account",
        "month",
        "account",
        "event_id",
        "combo",
        pl.lit(None, dtype=pl.Int8).alias("tier"),
        pl.col("quantity").alias("units"),
        "rate",
        amount=pl.col("quantity") * pl.col("rate"),
    )


def _delegate(combos: list[_Combo], rows: pl.DataFrame) -> dict[Key, list[Part]]:
    """Rate the rows of other price models with the reference models, grouped as it does."""
    groups: dict[tuple[str, int, int], list[tuple[Usage, Price]]] = defaultdict(list)
    usages = frame_to_usages(rows)
    for usage, owner, month, combo in zip(
        usages,
        rows["billing_account"].to_list(),
        rows["month"].to_list(),
        rows["combo"].to_list(),
        strict=True,
    ):
        charge = combos[combo].charge
        assert isinstance(charge, Price)
        groups[(owner, month, id(charge))].append((usage, charge))
    result: dict[Key, list[Part]] = defaultdict(list)
    for (owner, month, _), members in groups.items():
        members.sort(key=lambda pair: pair[0].order_key)
        price = members[0][1]
        group = [usage for usage, _ in members]
        result[(owner, _month(month))].extend(spend_limits(price, price.charge(group)))
    return dict(result)
