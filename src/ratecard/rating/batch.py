"""The batch kernel: month close over columns, in integers, equal line for line to the reference.

Input is usage as columns (:mod:`ratecard.rating.columns`). Units and money inside:

* quantities are Int64 micro-units (1e-6 unit), rates Int64 in 1e-7 of the currency. Rows are
  never multiplied: the 10M-row passes only SUM micro-units per (billing account, month,
  price, tier); a line's amount is then ``units x rate`` on the ~100k summed rows, in Int128
  (1e-13 of the currency, exact), and its half-up rounding to the minor unit is integer
  arithmetic in Polars too (:func:`ratecard.rating.columns.round_half_up`, proven equal to
  :func:`ratecard.money.round_money` in tests). Python ``Line`` objects are built only from the
  summed rows.
* Limit (checked before rating, :class:`RatingError` otherwise, never a silent wrap): the
  quantities of one billing account's month must sum to at most ``2**63 - 1`` micro-units
  (about 9.2e12 units); then every counter, cumulative count and line sum fits in Int64, and
  amounts (< 2**63 x 2**63) always fit in Int128. There is no money limit below ~1.7e25.

What is columnar and what is delegated:

* pooled categories (SPEC section 4): per (counter, pool, month), rows in (time, event id,
  account) order, a cumulative sum, each row split at its pool's tier bounds. Only counters
  that reach their first bound need the order and the cumulative sum ("crossing" counters);
  every row of the others is in the first tier, and is summed as it comes;
* ``per_unit`` prices without minimum/maximum spend: summed per line;
* every other price model (graduated, volume, package, percentage, graduated percentage, and
  per-unit prices with spend limits) is DELEGATED: its rows become :class:`Usage` objects and
  are rated by the reference model itself (``Price.charge`` and ``spend_limits``), grouped as
  the reference kernel groups them. These categories are few and small in practice.

Order: events are stored in time order, so the kernel checks whether the rows of crossing
counters are already in (time, event id, account) order (one linear pass) and then sorts
nothing; when they are not, it finds the counters whose rows are out of order and sorts only
those rows.

Months: unlike :func:`ratecard.rating.engine.rate` (one month per call), the batch kernel
keys every counter and group by calendar month (UTC) as well, so one call may span months; the
result is keyed by (billing account, month).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
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
from ratecard.money import EXACT_QUANTIZE, ZERO, minor_units, plain, total
from ratecard.rating.columns import (
    AMOUNT_PLACES,
    INT64_MAX,
    QUANTITY_PLACES,
    RATE_PLACES,
    check_columns,
    frame_to_usages,
    from_micros,
    micros,
    read_parquet,
    round_half_up,
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
_MODES: dict[str, int] = {"pool": 0, "per_unit": 1, "delegate": 2}
_UNIT = 10**QUANTITY_PLACES
_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}


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


@dataclass(frozen=True)
class _LineSpec:
    """What a line of (combo, tier) shows; combos with equal specs share one line."""

    category: str
    pool: str | None
    tier: int | None
    label: str | None
    rate: Decimal


@dataclass
class BatchResult:
    """Rated usage: columnar pieces (lazy) plus the parts of delegated price models.

    ``pieces`` yields one row per priced piece: ``billing_account``, ``month`` (year x 12 +
    month - 1), ``account``, ``event_id``, ``combo`` (index into ``combos``), ``tier`` (0-based;
    0 for per-unit prices), ``units`` (Int64 micro-units). Its amount is ``units x`` the rate
    of (combo, tier), exactly.
    """

    catalog: Catalog
    combos: list[_Combo]
    pieces: pl.LazyFrame
    delegated: dict[Key, list[Part]]

    def parts(self) -> dict[Key, list[Part]]:
        """Every part, per (billing account, month): one Part per piece (for tests, audits)."""
        result: dict[Key, list[Part]] = defaultdict(list)
        rows = self.pieces.select(_PIECE_COLUMNS).collect()
        for owner, month, account, event_id, combo, tier, units in rows.iter_rows():
            spec = self._spec(combo, tier)
            amount = unscaled(units * _rate(spec.rate), AMOUNT_PLACES)
            part = Part(
                category=spec.category,
                kind=Kind.USAGE,
                quantity=unscaled(units, QUANTITY_PLACES),
                unit_price=spec.rate,
                amount=amount,
                tier=spec.tier,
                tier_label=spec.label,
                pool=spec.pool,
                account=account,
                events=(event_id,),
            )
            result[(owner, _month(month))].append(part)
        for key, parts in self.delegated.items():
            result[key].extend(parts)
        return dict(result)

    def line_sums(
        self, by_account: bool = False, owners: list[str] | None = None
    ) -> tuple[list[_LineSpec], pl.DataFrame]:
        """Exact sums of the columnar lines, rounded in integers: (specs, one row per line).

        Rows: ``billing_account``, [``account``,] ``month``, ``line`` (index into the specs),
        ``units`` (Int128 micro-units), ``amount`` (Int128, 1e-13 currency, exact),
        ``pieces`` (how many pieces, i.e. the line's event count), ``fractional`` (a piece is
        not a whole number of units), ``rounded`` (Int128, minor units, half-up).
        """
        specs, table = self._line_table()
        pieces = self.pieces
        if owners is not None:
            pieces = pieces.filter(pl.col("billing_account").cast(pl.String).is_in(owners))
        keys = ["billing_account", *(["account"] if by_account else []), "month"]
        sums = (
            pieces.group_by([*keys, "combo", "tier"])
            .agg(
                pl.col("units").sum(),
                pl.len().alias("pieces"),
                (pl.col("units") % _UNIT != 0).any().alias("fractional"),
            )
            .join(table.lazy(), on=["combo", "tier"], how="left")
            .group_by([*keys, "line"])
            .agg(
                pl.col("units").cast(pl.Int128).sum(),
                (pl.col("units").cast(pl.Int128) * pl.col("rate").cast(pl.Int128))
                .sum()
                .alias("amount"),
                pl.col("pieces").sum(),
                pl.col("fractional").any(),
            )
        )
        places = AMOUNT_PLACES - minor_units(self.catalog.currency)
        return specs, sums.with_columns(rounded=round_half_up(pl.col("amount"), places)).collect()

    def lines(self) -> dict[Key, tuple[Line, ...]]:
        """Invoice lines per (billing account, month), rounded once each (events left empty).

        Columnar lines come from :meth:`line_sums`; delegated parts are assembled by
        :func:`assemble_lines`, and where one of their lines coincides with a columnar line
        (same category, pool, tier and unit price) the two are assembled together.
        """
        counted = self.counted_lines()
        return {
            (owner, month): tuple(ln for ln, _ in v) for (owner, _, month), v in counted.items()
        }

    def counted_lines(
        self, by_account: bool = False, owners: list[str] | None = None
    ) -> dict[tuple[str, str | None, Month], list[tuple[Line, int]]]:
        """Lines with their event counts, in invoice order, per (billing account, account,
        month); ``account`` is None unless ``by_account`` (the per-account breakdown).
        ``owners``: only these billing accounts."""
        specs, sums = self.line_sums(by_account, owners)
        result: dict[tuple[str, str | None, Month], list[tuple[Line, int]]] = defaultdict(list)
        minor = minor_units(self.catalog.currency)
        shown = [self._shown(spec) for spec in specs]
        month_of = {m: _month(m) for m in sums["month"].unique().to_list()}
        columns = ["billing_account", "month", "line", "units", "amount", "pieces"]
        columns += ["fractional", "rounded"]
        account_column = pl.col("account" if by_account else "billing_account").alias("who")
        for owner, month, index, units, amount, pieces, fractional, rounded, account in sums.select(
            *columns, account_column
        ).iter_rows():
            spec = specs[index]
            description, unit, exponent = shown[index]
            if fractional:
                quantity = plain(unscaled(units, QUANTITY_PLACES))
                precise = unscaled(amount, AMOUNT_PLACES)
            else:  # whole units: exact integer steps, written as the reference writes them
                quantity = Decimal(units // _UNIT)
                precise = Decimal(amount // 10 ** (AMOUNT_PLACES + exponent)).scaleb(
                    exponent, EXACT_QUANTIZE
                )
            line = Line(
                category=spec.category,
                description=description,
                unit=unit,
                kind=Kind.USAGE,
                pool=spec.pool,
                tier=spec.tier,
                tier_label=spec.label,
                quantity=quantity,
                unit_price=spec.rate,
                precise_amount=precise,
                amount=Decimal(rounded).scaleb(-minor, EXACT_QUANTIZE),
                events=(),
            )
            result[(owner, account if by_account else None, month_of[month])].append((line, pieces))
        delegated: dict[tuple[str, str | None, Month], list[Part]] = defaultdict(list)
        wanted = None if owners is None else set(owners)
        for (owner, month), parts in self.delegated.items():
            if wanted is not None and owner not in wanted:
                continue
            for part in parts:
                account = (part.account or owner) if by_account else None
                delegated[(owner, account, month)].append(part)
        for key, parts in delegated.items():
            result[key] = _merge(result.get(key, []), parts, self.catalog)
        order = {name: i for i, name in enumerate(self.catalog.categories)}
        return {key: _sorted(group, order) for key, group in result.items()}

    def _spec(self, combo: int, tier: int) -> _LineSpec:
        spec = self.combos[combo]
        if isinstance(spec.charge, Pool):
            return _LineSpec(
                spec.category, spec.charge.name, tier + 1, spec.labels[tier], spec.rates[tier]
            )
        return _LineSpec(spec.category, None, None, None, spec.rates[0])

    def _line_table(self) -> tuple[list[_LineSpec], pl.DataFrame]:
        """Every (combo, tier) with its line index and integer rate."""
        specs: dict[_LineSpec, int] = {}
        rows: dict[str, list[int]] = {"combo": [], "tier": [], "line": [], "rate": []}
        for combo in self.combos:
            tiers = {"pool": len(combo.rates), "per_unit": 1, "delegate": 0}[combo.mode]
            for tier in range(tiers):
                spec = self._spec(combo.id, tier)
                for name, value in zip(
                    rows,
                    (combo.id, tier, specs.setdefault(spec, len(specs)), _rate(spec.rate)),
                    strict=True,
                ):
                    rows[name].append(value)
        schema = {"combo": pl.Int32, "tier": pl.Int8, "line": pl.Int32, "rate": pl.Int64}
        return list(specs), pl.DataFrame(rows, schema=schema)

    def _shown(self, spec: _LineSpec) -> tuple[str, str, int]:
        """Description and unit of a line's category, and its precise amount's exponent."""
        category = self.catalog.categories.get(spec.category)
        exponent = spec.rate.as_tuple().exponent
        assert isinstance(exponent, int)
        return (
            category.description if category else spec.category,
            category.unit if category else "units",
            min(0, exponent),
        )


def _line_key(line: Line) -> tuple[object, ...]:
    return (line.category, line.kind, line.pool, line.tier, line.tier_label, line.unit_price)


def _merge(
    columnar: list[tuple[Line, int]], parts: list[Part], catalog: Catalog
) -> list[tuple[Line, int]]:
    """Columnar lines plus the lines of delegated parts (assembled together if they meet)."""
    delegated = [(line, len(line.events)) for line in assemble_lines(parts, catalog)]
    counts = {_line_key(line): count for line, count in columnar}
    if not any(_line_key(line) in counts for line, _ in delegated):
        return [*columnar, *delegated]
    for line, count in delegated:
        counts[_line_key(line)] = counts.get(_line_key(line), 0) + count
    as_parts = [
        Part(
            category=line.category,
            kind=line.kind,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.precise_amount,
            tier=line.tier,
            tier_label=line.tier_label,
            pool=line.pool,
        )
        for line, _ in columnar
    ]
    merged = assemble_lines([*as_parts, *parts], catalog)
    return [(line, counts[_line_key(line)]) for line in merged]


def _sorted(lines: list[tuple[Line, int]], order: dict[str, int]) -> list[tuple[Line, int]]:
    """Lines in :func:`assemble_lines`' order."""
    return sorted(
        lines,
        key=lambda pair: (
            order.get(pair[0].category, len(order)),
            pair[0].category,
            _KIND_ORDER[pair[0].kind],
            pair[0].tier or 0,
            pair[0].tier_label or "",
            pair[0].unit_price if pair[0].unit_price is not None else ZERO,
        ),
    )


def invoice_total(lines: dict[Key, tuple[Line, ...]]) -> Decimal:
    """Sum of every rounded line amount: the total of all invoices (SPEC section 6)."""
    return total(line.amount for group in lines.values() for line in group)


def rate_frame(catalog: Catalog, frame: pl.DataFrame) -> BatchResult:
    """Rate usage columns (see :mod:`ratecard.rating.columns`); equal to the reference kernel.

    Raise NoPriceError listing every category/country without a price, RatingError when a
    billing account's quantities would overflow int64 or usage precedes the catalog.
    """
    frame = check_columns(frame)
    if frame.height and frame["quantity"].min() < 0:  # type: ignore[operator]
        raise RatingError("negative quantities are not rated by the batch kernel")
    _check_sums(frame)
    frame = frame.with_columns(_month_of(frame), _version_of(catalog))
    frame = frame.with_columns(key=_combo_key(frame))
    combos, table = _resolve(catalog, frame)
    combo = frame["key"].replace_strict(table["key"], table["combo"], return_dtype=pl.Int32)
    frame = frame.with_columns(
        combo=combo, **{name: table[name].gather(combo) for name in _ATTRIBUTES}
    )
    pools = [c for c in combos if isinstance(c.charge, Pool)]
    # The counter is the billing account or (scope "account") the account; categorical codes
    # are one per distinct string, so a sid gets the same code in either column.
    counter = (
        pl.when(pl.col("scope_account")).then(_code("account")).otherwise(_code("billing_account"))
    )
    frame = frame.with_columns(
        group=pl.when(pl.col("mode") == _MODES["pool"]).then(
            counter * 2**24 + pl.col("tag") * 2**16 + pl.col("month") % 2**16
        )
    )
    crossing: list[int] = []
    if pools:
        crossing = (
            frame.lazy()
            .filter(pl.col("mode") == _MODES["pool"])
            .group_by(_GROUP)
            .agg(pl.col("quantity").sum(), pl.col("first").min())
            .filter(pl.col("quantity") >= pl.col("first"))
            .collect()["group"]
            .to_list()
        )
    is_crossing = pl.col("group").is_in(crossing).fill_null(False)
    straight = (
        frame.lazy()
        .filter((pl.col("mode") != _MODES["delegate"]) & ~is_crossing)
        .select(
            "billing_account",
            "month",
            "account",
            "event_id",
            "combo",
            pl.lit(0, dtype=pl.Int8).alias("tier"),
            pl.col("quantity").alias("units"),
        )
    )
    pooled = _rate_pools(combos, frame.filter(is_crossing))
    delegated = _delegate(combos, frame.filter(pl.col("mode") == _MODES["delegate"]))
    # Pieces keep the input's string dtypes (Categorical stays Categorical: cheap to group).
    same = [
        p.with_columns(pl.col(n).cast(frame.schema[n]) for n in ("billing_account", "account"))
        for p in pooled
    ]
    pieces = pl.concat([straight, *(p.lazy() for p in same)], how="vertical")
    return BatchResult(catalog, combos, pieces, delegated)


def _check_sums(frame: pl.DataFrame) -> None:
    """Refuse a billing account whose month of quantities does not fit in int64 micro-units.

    Then no counter, cumulative count or line sum can wrap (Polars wraps silently).
    """
    if frame.is_empty():
        return
    largest = frame["quantity"].max()
    assert isinstance(largest, int)
    if largest * frame.height <= INT64_MAX:  # the cheap sufficient bound: the usual case
        return
    moment = pl.from_epoch(pl.col("time"), time_unit="us")
    sums = (
        frame.group_by(
            "billing_account", moment.dt.year().alias("year"), moment.dt.month().alias("m")
        )
        .agg(pl.col("quantity").cast(pl.Int128).sum())
        .filter(pl.col("quantity") > INT64_MAX)
    )
    if not sums.is_empty():
        owner, year, month, units = sums.row(0)
        raise RatingError(
            f"billing account '{owner}' in {Month(year, month)}: quantities sum to "
            f"{unscaled(units, QUANTITY_PLACES)} units, which overflows int64 in "
            f"1e-{QUANTITY_PLACES} units; rate it with the reference kernel"
        )


def rate_parquet(
    catalog: Catalog,
    path: Path,
    shard_rows: int = 10_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Key, tuple[Line, ...]]:
    """Rate a Parquet file of usage columns; return invoice lines per (billing account, month).

    Memory stays bounded: billing accounts are packed into shards of about ``shard_rows``
    rows (a billing account is never split: its counters need all its rows), each shard is
    read, rated and reduced to lines before the next. ``progress(done_rows, all_rows)`` is
    called after each shard. A file of at most ``shard_rows`` rows is read once, whole.
    """
    scan = scan_parquet(path)
    all_rows = int(scan.select(pl.len()).collect().item())  # from the file's metadata
    shards: list[tuple[list[str] | None, int]] = [(None, all_rows)]
    if all_rows > shard_rows:
        sizes = scan.group_by("billing_account").agg(pl.len()).collect().sort("billing_account")
        owners = sizes["billing_account"].cast(pl.String).to_list()
        shards = list(_pack(owners, sizes["len"].to_list(), shard_rows))
    done = 0
    lines: dict[Key, tuple[Line, ...]] = {}
    for owners_, rows in shards:
        lines.update(rate_frame(catalog, read_parquet(path, owners_)).lines())
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


#: Bits of a categorical code in the combo key (version | category | country).
_CODE_BITS = 27
#: Per-combo attributes gathered per row.
_ATTRIBUTES = ("mode", "tag", "scope_account", "first")


def _code(name: str) -> pl.Expr:
    """Integer code of a string column (Polars' categorical codes: one per distinct string)."""
    return pl.col(name).cast(pl.Categorical).to_physical().cast(pl.Int64)


def _month_of(frame: pl.DataFrame) -> pl.Expr:
    """The month key (year x 12 + month - 1) per row; a constant when all rows share one."""
    if not frame.is_empty():
        low, high = frame["time"].min(), frame["time"].max()
        assert isinstance(low, int)
        assert isinstance(high, int)
        first, last = Month.of(from_micros(low)), Month.of(from_micros(high))
        if first == last:
            return pl.lit(first.year * 12 + first.month - 1, dtype=pl.Int32).alias("month")
    moment = pl.from_epoch(pl.col("time"), time_unit="us")
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


def _combo_key(frame: pl.DataFrame) -> pl.Expr:
    """One Int64 per (catalog version, category, country): cheap to find distinct, to map."""
    codes = frame.select(_code("category").max(), _code("country").max())
    if any(value is not None and value >= 2**_CODE_BITS - 1 for value in codes.row(0)):
        raise RatingError("too many distinct category or country strings for the batch kernel")
    version = (pl.col("version").cast(pl.Int64) + 1) * 2 ** (2 * _CODE_BITS)
    key: pl.Expr = version + _code("category") * 2**_CODE_BITS + _code("country").fill_null(-1) + 1
    return key


def _resolve(catalog: Catalog, frame: pl.DataFrame) -> tuple[list[_Combo], pl.DataFrame]:
    """Price every distinct (version, category, country); raise for what has no price.

    Returns the combos and a table by combo index: ``key`` (see :func:`_combo_key`) and the
    attributes the kernel gathers per row (:data:`_ATTRIBUTES`).
    """
    firsts = frame.select(pl.col("key").arg_unique()).to_series()
    distinct = (
        frame[firsts]
        .select(
            "key",
            "version",
            pl.col("category").cast(pl.String),
            pl.col("country").cast(pl.String),
        )
        .sort("key")
    )
    combos: list[_Combo] = []
    missing: list[tuple[int, str, str | None, int]] = []
    for key, version, category, country in distinct.iter_rows():
        if version < 0:
            first = frame.filter(pl.col("version") < 0).sort("time")["time"][0]
            catalog.at(from_micros(first))  # raises RatingError naming the first priced day
        charge = catalog.versions[version].charge_for(category, country)
        if charge is None:
            count = int(frame.select((pl.col("key") == key).sum()).item())
            missing.append((version, category, country, count))
            continue
        combos.append(_combo(len(combos), category, charge))
    if missing:
        raise NoPriceError(_unpriced(frame, missing))
    names = sorted({c.charge.name for c in combos if isinstance(c.charge, Pool)})
    pools = [c.charge if isinstance(c.charge, Pool) else None for c in combos]
    table = pl.DataFrame(
        {
            "key": distinct["key"],
            "combo": [c.id for c in combos],
            "mode": [_MODES[c.mode] for c in combos],
            "tag": [names.index(p.name) if p else 0 for p in pools],
            "scope_account": [p is not None and p.scope == "account" for p in pools],
            "first": [c.bounds[0] if c.bounds else INT64_MAX for c in combos],
        },
        schema={
            "key": pl.Int64,
            "combo": pl.Int32,
            "mode": pl.Int8,
            "tag": pl.Int64,
            "scope_account": pl.Boolean,
            "first": pl.Int64,
        },
    )
    return combos, table


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


# ------------------------------------------------------------------------------------------
# Pools: ordered cumulative counters split at tier bounds (crossing counters only)
# ------------------------------------------------------------------------------------------


def _rate_pools(combos: list[_Combo], rows: pl.DataFrame) -> list[pl.DataFrame]:
    """Pieces of the rows of crossing counters: in order, counted, split at tier bounds."""
    if rows.is_empty():
        return []
    rows = _in_order(rows)
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
    simple = rows.filter(pl.col("start") == pl.col("end")).select(
        "billing_account",
        "month",
        "account",
        "event_id",
        "combo",
        pl.col("start").cast(pl.Int8).alias("tier"),
        pl.col("quantity").alias("units"),
    )
    straddled = _split(combos, rows.filter(pl.col("start") != pl.col("end")))
    return [simple, straddled]


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


def _split(combos: list[_Combo], rows: pl.DataFrame) -> pl.DataFrame:
    """Pieces of the rows that straddle tier bounds (few: at most one per bound and counter)."""
    out: dict[str, list[object]] = {name: [] for name in _PIECE_COLUMNS}
    columns = ["billing_account", "month", "account", "event_id", "combo", "before", "quantity"]
    for owner, month, account, event_id, combo, before, quantity in rows.select(
        columns
    ).iter_rows():
        bounds = [*combos[combo].bounds, None]
        counted, remaining = before, quantity
        while True:  # the walk of ratecard.rating.tiers, in integers
            tier = next(i for i, b in enumerate(bounds) if b is None or counted < b)
            bound = bounds[tier]
            room = remaining if bound is None else min(remaining, bound - counted)
            for name, value in zip(
                out, (owner, month, account, event_id, combo, tier, room), strict=True
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
}


# ------------------------------------------------------------------------------------------
# Delegated price models (reference code)
# ------------------------------------------------------------------------------------------


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
