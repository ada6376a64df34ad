"""The batch kernel: month close over columns, in integers, equal line for line to the reference.

Input is usage as columns (:mod:`ratecard.rating.columns`), as dense codes
(:mod:`ratecard.rating.rows`). Units and money inside:

* quantities are Int64 micro-units (1e-6 unit), rates Int64 in 1e-7 of the currency. Rows are
  never multiplied: one pass over the rows (:func:`ratecard.rating.loop.rate_rows`) only SUMS
  micro-units per (month, account, price, tier); a line's amount is then ``units x rate`` on
  the summed rows, in Int128 (1e-13 of the currency, exact), and its half-up rounding to the
  minor unit is integer arithmetic too (:func:`ratecard.rating.columns.round_half_up`, proven
  equal to :func:`ratecard.money.round_money` in tests). Python ``Line`` objects are built
  only when asked for (:meth:`BatchResult.lines`); :meth:`BatchResult.total` needs none.
* Limit (checked before rating, :class:`RatingError` otherwise, never a silent wrap): the
  quantities of one billing account's month must sum to at most ``2**63 - 1`` micro-units
  (about 9.2e12 units); then every counter and sum fits in Int64, and amounts
  (< 2**63 x 2**63) always fit in Int128. There is no money limit below ~1.7e25.

What is rated where:

* pooled categories (SPEC section 4): one running total per (counter, pool, month), rows in
  time order, each row split at its price's tier bounds (the loop);
* ``per_unit`` prices without minimum/maximum spend: summed (the loop);
* every other price model (graduated, volume, package, percentage, graduated percentage, and
  per-unit prices with spend limits) is DELEGATED: its rows become :class:`Usage` objects and
  are rated by the reference model itself (``Price.charge`` and ``spend_limits``), grouped as
  the reference kernel groups them. These categories are few and small in practice.

Order: the reference counts a pool's rows in (time, event id, account) order. Rows stored in
time order are rated as they come (no sort); other input is first put in time order (one
stable sort). Ties in time matter only where a tier bound falls inside a run of one counter's
rows at one instant: the loop flags those runs, and only their rows' event ids are read and
the runs re-applied in exact order (:func:`_settle_ties`).

Threads: the loop runs on two threads for large inputs, each rating the billing accounts of
its parity (a billing account's counters and sums are never shared between threads).

Months: unlike :func:`ratecard.rating.engine.rate` (one month per call), the batch kernel
keys every counter and sum by calendar month (UTC) as well, so one call may span months; the
result is keyed by (billing account, month).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import polars as pl

from ratecard.catalog.model import Catalog, CatalogVersion, Charge
from ratecard.errors import NoPriceError, RatingError
from ratecard.money import EXACT_QUANTIZE, ZERO, D, minor_units, plain, total
from ratecard.periods import Month
from ratecard.prices.base import Price
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.pooled import Pool
from ratecard.rating import loop
from ratecard.rating.columns import (
    AMOUNT_COLUMN,
    AMOUNT_PLACES,
    INT64_MAX,
    QUANTITY_PLACES,
    RATE_PLACES,
    from_micros,
    micros,
    round_half_up,
    scaled,
    unscaled,
)
from ratecard.rating.engine import Unpriced, rate_counter
from ratecard.rating.grouping import (
    LINE_GROUP,
    ORDER_COLUMNS,
    line_key,
    order_by,
    per_account,
)
from ratecard.rating.lines import Line, assemble_lines
from ratecard.rating.rows import ParquetRows, Rows, frame_rows, shards

Mode = Literal["pool", "per_unit", "delegate"]
#: (billing account, month): the key of every result.
Key = tuple[str, Month]

_KINDS: dict[Mode, int] = {"pool": loop.POOL, "per_unit": loop.PER_UNIT, "delegate": loop.DELEGATE}
_UNIT = 10**QUANTITY_PLACES
_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}
#: Tie runs recorded per call before falling back to exact order for every row.
_FLAG_CAPACITY = 1 << 16
#: Rows below which one thread rates alone (starting a second costs more than it saves).
_THREADED_ROWS = 1 << 18
#: Largest sums table (months x accounts x prices x tiers) one call may allocate.
_MAX_CELLS = 1 << 28
_SUMS_SCHEMA: dict[str, pl.DataType] = {
    "billing_account": pl.String(),
    "account": pl.String(),
    "month": pl.Int32(),
    "combo": pl.Int32(),
    "tier": pl.Int8(),
    "units": pl.Int64(),
    "pieces": pl.Int64(),
    "fractional": pl.Boolean(),
}


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
    """Rated usage: exact unit sums per (billing account, account, month, combo, tier), plus
    the parts of delegated price models.

    ``sums`` has one row per (billing account, account, month (year x 12 + month - 1), combo
    (index into ``combos``), tier (0-based; 0 for per-unit prices)) with ``units`` (Int64
    micro-units), ``pieces`` (how many event pieces make them) and ``fractional`` (a piece is
    not a whole number of units). Its amount is ``units x`` the rate of (combo, tier), exactly.
    ``audit`` recomputes every event's parts (:meth:`parts`).
    """

    catalog: Catalog
    combos: list[_Combo]
    sums: pl.DataFrame
    delegated: dict[Key, list[Part]]
    audit: Callable[[], dict[Key, list[Part]]]

    def parts(self) -> dict[Key, list[Part]]:
        """Every part, per (billing account, month): one Part per event piece (tests, audits).

        Reads every event id and rates the rows again in exact order: slow, never needed for
        invoices."""
        return self.audit()

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
        sums = self.sums.lazy()
        if owners is not None:
            wanted = pl.DataFrame({"billing_account": pl.Series(owners, dtype=pl.String)})
            sums = sums.join(wanted.lazy(), on="billing_account", how="semi")
        first, month = LINE_GROUP
        keys = [first, *(["account"] if by_account else []), month]
        summed = (
            sums.join(table.lazy(), on=["combo", "tier"], how="left")
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
        return specs, summed.with_columns(rounded=round_half_up(pl.col("amount"), places)).collect()

    def total(self) -> Decimal:
        """Sum of every rounded line of every invoice (SPEC section 6), without Line objects.

        Columnar lines are rounded once each in integers (:meth:`line_sums`); lines of
        delegated parts are assembled as the reference assembles them. Where a delegated line
        coincides with a columnar one, the two are one line (:meth:`lines` merges them), so
        this falls back to building the lines of those invoices only.
        """
        _, sums = self.line_sums()
        minor = minor_units(self.catalog.currency)
        rounded = sums["rounded"].sum() if sums.height else 0
        amount = Decimal(int(rounded)).scaleb(-minor, EXACT_QUANTIZE)
        if not self.delegated:
            return amount
        owners = sorted({owner for owner, _ in self.delegated})
        _, mixed = self.line_sums(owners=owners)
        mixed_rounded = int(mixed["rounded"].sum()) if mixed.height else 0
        amount -= Decimal(mixed_rounded).scaleb(-minor, EXACT_QUANTIZE)
        counted = self.counted_lines(owners=owners)
        return amount + total(ln.amount for group in counted.values() for ln, _ in group)

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
        pool = spec.charge.pool_name
        if pool is not None:
            return _LineSpec(spec.category, pool, tier + 1, spec.labels[tier], spec.rates[tier])
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
    return line_key(
        line.category, line.kind, line.pool, line.tier, line.tier_label, line.unit_price
    )


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


# ------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------


def rate_frame(catalog: Catalog, frame: pl.DataFrame) -> BatchResult:
    """Rate usage columns (see :mod:`ratecard.rating.columns`); equal to the reference kernel.

    Raise NoPriceError listing every category/country without a price, RatingError when a
    billing account's quantities would overflow int64 or usage precedes the catalog.
    """
    return rate_rows(catalog, frame_rows(frame))


def rate_parquet(
    catalog: Catalog,
    path: Path,
    shard_rows: int = 10_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Key, tuple[Line, ...]]:
    """Rate a Parquet file of usage columns; return invoice lines per (billing account, month).

    See :func:`rate_parquet_shards` (memory stays bounded).
    """
    lines: dict[Key, tuple[Line, ...]] = {}
    for result in rate_parquet_shards(catalog, path, shard_rows, progress):
        lines.update(result.lines())
    return lines


def rate_parquet_shards(
    catalog: Catalog,
    path: Path,
    shard_rows: int = 10_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[BatchResult]:
    """Rate a Parquet file of usage columns, one result per shard of billing accounts.

    Memory stays bounded: billing accounts are packed into shards of about ``shard_rows``
    rows (a billing account is never split: its counters need all its rows), each shard is
    read (event ids excepted) and rated before the next. ``progress(done_rows, all_rows)`` is
    called after each shard. A file of at most ``shard_rows`` rows is read once, whole.
    """
    source = ParquetRows(path)
    all_rows = source.count
    plan: list[tuple[set[str] | None, int]] = [(None, all_rows)]
    if all_rows > shard_rows:
        plan = list(shards(source.owner_counts(), shard_rows))
    done = 0
    for owners, count in plan:
        yield rate_rows(catalog, source.rows(owners))
        done += count
        if progress is not None:
            progress(done, all_rows)


def _check_sums(rows: Rows) -> None:
    """Refuse a billing account whose month of quantities does not fit in int64 micro-units.

    Then no counter, running total or sum can wrap (NumPy and Numba wrap silently).
    """
    if not len(rows):
        return
    if int(rows.quantity.min()) < 0:
        raise RatingError("negative quantities are not rated by the batch kernel")
    largest = int(rows.quantity.max())
    if largest * len(rows) <= INT64_MAX:  # the cheap sufficient bound: the usual case
        return
    moment = pl.from_epoch(pl.col("time"), time_unit="us")
    frame = pl.DataFrame({"owner": rows.owner.codes, "time": rows.time, "quantity": rows.quantity})
    sums = (
        frame.group_by("owner", moment.dt.year().alias("year"), moment.dt.month().alias("m"))
        .agg(pl.col("quantity").cast(pl.Int128).sum())
        .filter(pl.col("quantity") > INT64_MAX)
    )
    if not sums.is_empty():
        owner, year, month, units = sums.row(0)
        raise RatingError(
            f"billing account '{rows.owner.values[owner]}' in {Month(year, month)}: quantities "
            f"sum to {unscaled(units, QUANTITY_PLACES)} units, which overflows int64 in "
            f"1e-{QUANTITY_PLACES} units; rate it with the reference kernel"
        )


# ------------------------------------------------------------------------------------------
# The rating
# ------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Everything per row and per combo that the loop reads (see :func:`loop.rate_rows`)."""

    rows: Rows
    combos: list[_Combo]
    table: np.ndarray  # (version, category, country) -> combo id, -1 without a price
    version: np.ndarray  # per row, or empty (one version)
    month: np.ndarray  # per row, or empty (one month)
    months: list[int]  # month keys by dense index
    member: np.ndarray  # per row: dense (billing account, account)
    members: list[tuple[int, int]]  # (owner code, account code) by member
    account_slot: np.ndarray  # per account code: its counter slot (see loop.rate_rows)
    info: np.ndarray  # per combo: kind, pool tag, scope account, bound count, cells offset
    bounds: np.ndarray  # per combo: finite tier bounds (micro-units), INT64_MAX padded
    shape: np.ndarray  # members, combos, cells per member, owners, slots, pools, categories,
    # countries, parts (threads), fractions possible

    @cached_property
    def combo(self) -> np.ndarray:
        """The combo of every row (-1: no price): computed when asked for (ties, delegated
        rows, errors, audits), not by the loop, which then writes 40 MB less per 10M rows."""
        combo: np.ndarray = loop.combos_of(
            self.rows.category.codes, self.rows.country.codes, self.version, self.table, self.shape
        )
        return combo

    @property
    def cells(self) -> int:
        return int(self.shape[0] * self.shape[2]) * max(1, len(self.months))


def rate_rows(catalog: Catalog, rows: Rows, threads: int = 2) -> BatchResult:
    """Rate coded usage rows (:mod:`ratecard.rating.rows`); equal to the reference kernel.

    ``threads``: how many threads share the loop (billing accounts are split between them).
    """
    _check_sums(rows)
    ordered, whole = loop.survey(rows.time, rows.quantity).tolist()
    if not ordered:  # a stable radix sort on time: ties keep input order, as argsort's would
        rows = rows.in_time_order(threads)
    plan = _plan(catalog, rows, threads, whole=bool(whole))
    if plan.cells > _MAX_CELLS:
        raise RatingError(
            f"{plan.cells:,} (month, account, price, tier) sums in one call: rate fewer "
            "billing accounts at a time (rate_parquet shards them)"
        )
    out = np.zeros((plan.cells, 2), dtype=np.int64)
    ran = _run(rows, plan, out, track=True)
    if ran.missing:
        raise NoPriceError(_unpriced(rows, plan.combo))
    if ran.found > len(ran.flags):  # ties everywhere: rate every row in exact order instead
        rows = _exact(rows)
        plan = _plan(catalog, rows, threads)
        out[:] = 0
        _run(rows, plan, out, track=False)
    elif ran.found:
        _settle_ties(rows, plan, ran.flags, out)
    sums = _sums(rows, plan, out)
    delegated = _delegate(plan, rows) if ran.delegated else {}

    def audit() -> dict[Key, list[Part]]:
        return _audit(catalog, rows)

    return BatchResult(catalog, plan.combos, sums, delegated, audit)


class _Ran(NamedTuple):
    """What one loop over every row reports."""

    found: int  # tie runs flagged (more than ``len(flags)`` when the flags overflowed)
    missing: int  # rows without a price
    delegated: int  # rows of delegated price models (rated by :func:`_delegate`)
    flags: np.ndarray  # the flagged runs recorded (empty when they overflowed)


def _run(
    rows: Rows,
    plan: _Plan,
    out: np.ndarray,
    track: bool,
    before: np.ndarray | None = None,
    state: np.ndarray | None = None,
) -> _Ran:
    """The loop over every row, its parts on their own threads; ``state``: the counters
    carried over from earlier rows (see :func:`loop.rate_rows`), else fresh ones."""
    parts = int(plan.shape[8])
    capacity = _FLAG_CAPACITY if track else 0
    flags = [np.zeros((capacity, 3), dtype=np.int64) for _ in range(parts)]
    wanted = np.zeros(0, dtype=np.int64) if before is None else before
    counters = np.zeros((0, 4), dtype=np.int64) if state is None else state

    def part(index: int) -> np.ndarray:
        result: np.ndarray = loop.rate_rows(
            rows.owner.codes,
            rows.account.codes,
            rows.category.codes,
            rows.country.codes,
            plan.member,
            plan.month,
            plan.version,
            rows.time,
            rows.quantity,
            plan.table,
            plan.info,
            plan.bounds,
            plan.account_slot,
            plan.shape,
            index,
            out,
            wanted,
            flags[index],
            counters,
        )
        return result

    if parts == 1:
        results = [part(0)]
    else:
        with ThreadPoolExecutor(parts) as pool:
            results = list(pool.map(part, range(parts)))
    found = [int(result[0]) for result in results]
    missing = sum(int(result[1]) for result in results)
    delegated = sum(int(result[2]) for result in results)
    if any(n > capacity for n in found):
        return _Ran(sum(found), missing, delegated, np.zeros((0, 3), dtype=np.int64))
    recorded = np.concatenate([f[:n] for f, n in zip(flags, found, strict=True)])
    return _Ran(sum(found), missing, delegated, recorded)


def _exact(rows: Rows) -> Rows:
    """``rows`` in exact (time, event id, account) order: reads every event id."""
    everything = np.arange(len(rows))
    values = (
        rows.time,
        pl.Series(rows.fetch("event_id", everything), dtype=pl.String),
        pl.Series(rows.account.names()).gather(rows.account.codes),
    )
    keys = pl.DataFrame(dict(zip(ORDER_COLUMNS, values, strict=True)))
    order = keys.select(pl.arg_sort_by(order_by())).to_series().to_numpy()
    return rows.take(order)


def _settle_ties(rows: Rows, plan: _Plan, flags: np.ndarray, out: np.ndarray) -> None:
    """Re-apply each flagged tie run in (event id, account) order.

    A run is the rows of one counter at one instant; the loop rated them in file order from
    the counter's total at the run's start. Undo that and walk them again in exact order.
    Rows are in time order, so a run lies within the rows of its instant (a binary search).
    """
    for group, instant, start in flags.tolist():
        low = int(np.searchsorted(rows.time, instant, side="left"))
        high = int(np.searchsorted(rows.time, instant, side="right"))
        candidates = np.arange(low, high, dtype=np.int64)
        counters = loop.group_of(
            candidates,
            rows.owner.codes,
            rows.account.codes,
            plan.month,
            plan.combo,
            plan.info,
            plan.account_slot,
            plan.shape,
        )
        run = candidates[counters == group]
        ids = rows.fetch("event_id", run)
        accounts = [rows.account.values[code] for code in rows.account.codes[run].tolist()]
        order = sorted(range(len(run)), key=lambda j: (ids[j] or "", accounts[j] or ""))
        if order == list(range(len(run))):
            continue
        for members, sign in ((run, -1), (run[order], 1)):
            loop.apply(
                members,
                start,
                sign,
                plan.member,
                plan.month,
                rows.quantity,
                plan.combo,
                plan.info,
                plan.bounds,
                plan.shape,
                out,
            )


def _sums(rows: Rows, plan: _Plan, out: np.ndarray) -> pl.DataFrame:
    """The non-empty cells of the loop's table as rows (see :class:`BatchResult`)."""
    cells = np.flatnonzero(out[:, 1])
    members, width = int(plan.shape[0]), int(plan.shape[2])
    within, rest = cells % width, cells // width
    member, month = rest % members, rest // members
    # each cell of a member's row back to its (combo, tier)
    used = plan.info[: len(plan.combos)]
    widths = [_width(int(kind), int(count)) for kind, count in used[:, [0, 3]]]
    owner_of_cell = np.repeat(np.arange(len(widths)), widths)
    tier_of_cell = np.concatenate([np.arange(w) for w in widths] or [np.zeros(0, np.int64)])
    combo, tier = owner_of_cell[within], tier_of_cell[within]
    pairs = np.array(plan.members, dtype=np.int64).reshape(-1, 2)
    owner = pairs[member, 0] if len(cells) else np.zeros(0, dtype=np.int64)
    account = pairs[member, 1] if len(cells) else np.zeros(0, dtype=np.int64)
    keys = np.array(plan.months or [0], dtype=np.int32)
    picked = out[cells]
    counts = picked[:, 1]
    return pl.DataFrame(
        {
            "billing_account": pl.Series(rows.owner.names(), dtype=pl.String).gather(owner),
            "account": pl.Series(rows.account.names(), dtype=pl.String).gather(account),
            "month": keys[month],
            "combo": combo,
            "tier": tier,
            "units": picked[:, 0],
            "pieces": counts & (loop.FRACTIONAL - 1),
            "fractional": counts >> 32 > 0,
        },
        schema=_SUMS_SCHEMA,
    )


# ------------------------------------------------------------------------------------------
# Months, catalog versions and prices per row
# ------------------------------------------------------------------------------------------


def _plan(catalog: Catalog, rows: Rows, threads: int, whole: bool = False) -> _Plan:
    """``whole``: every quantity is a whole number of units (then, with whole tier bounds, no
    piece can be fractional and the loop skips that bookkeeping)."""
    month, months = _months(rows)
    version, versions = _versions(catalog, rows)
    combos, table = _resolve(rows, versions)
    member, members = _members(rows)
    functional = member is rows.account.codes
    names = sorted({c.charge.pool_name for c in combos if c.charge.pool_name is not None})
    info, bounds, width = _tables(combos, names)
    # Threads split rows by billing account; a pooled counter of scope account must not be
    # shared between two, so an account billed to two billing accounts means one thread.
    parts = threads if functional and len(rows) >= _THREADED_ROWS else 1
    owners, accounts = len(rows.owner.values), len(rows.account.values)
    return _Plan(
        rows=rows,
        combos=combos,
        table=table,
        version=version,
        month=month,
        months=months,
        member=member,
        members=members,
        account_slot=_account_slots(rows),
        info=info,
        bounds=bounds,
        shape=np.array(
            [
                len(members),
                max(1, len(combos)),
                max(1, width),
                owners,
                owners + accounts,
                max(1, len(names)),
                len(rows.category.values),
                len(rows.country.values),
                max(1, parts),
                not whole or any(bound % _UNIT for c in combos for bound in c.bounds),
            ],
            dtype=np.int64,
        ),
    )


def _tables(combos: list[_Combo], names: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """The loop's per-combo tables: ``info`` (kind, pool tag: index in ``names``, scope
    account, bound count, offset of its cells), ``bounds`` (finite tier bounds, micro-units,
    INT64_MAX padded) and the cells per (month, member)."""
    depth = max((len(c.bounds) for c in combos), default=0)
    bounds = np.full((max(1, len(combos)), max(1, depth)), INT64_MAX, dtype=np.int64)
    info = np.zeros((max(1, len(combos)), 5), dtype=np.int64)
    width = 0
    for c in combos:
        bounds[c.id, : len(c.bounds)] = c.bounds
        pool = c.charge.pool_name
        info[c.id] = (
            _KINDS[c.mode],
            names.index(pool) if pool is not None else 0,
            per_account(c.charge),  # the loop's counter: grouping.counter_key's who
            len(c.bounds),
            width,
        )
        width += _width(_KINDS[c.mode], len(c.bounds))
    return info, bounds, width


def _width(kind: int, bounds: int) -> int:
    """Cells of one combo in a member's row: one per tier (pool), one (per unit), none."""
    return {loop.POOL: bounds + 1, loop.PER_UNIT: 1}.get(kind, 0)


def _months(rows: Rows) -> tuple[np.ndarray, list[int]]:
    """Dense month index per row (empty when all rows share one month) and the month keys
    (year x 12 + month - 1) by index."""
    if not len(rows):
        return np.zeros(0, dtype=np.int32), []
    first = Month.of(from_micros(int(rows.time[0])))
    last = Month.of(from_micros(int(rows.time[-1])))  # rows are in time order
    low = first.year * 12 + first.month - 1
    if first == last:
        return np.zeros(0, dtype=np.int32), [low]
    moment = pl.from_epoch(pl.Series(rows.time), time_unit="us")
    key = moment.dt.year().cast(pl.Int32) * 12 + moment.dt.month().cast(pl.Int32) - 1 - low
    high = last.year * 12 + last.month - 1
    return key.to_numpy().astype(np.int32), list(range(low, high + 1))


def _month(key: int) -> Month:
    return Month(key // 12, key % 12 + 1)


def _versions(catalog: Catalog, rows: Rows) -> tuple[np.ndarray, list[CatalogVersion]]:
    """Catalog version per row (by UTC day, as :meth:`Catalog.at`) and the versions that the
    indices count; when one version covers every row, no index (empty) and that version.
    RatingError before the first version."""
    if not len(rows):
        return np.zeros(0, dtype=np.int32), []
    first = catalog.at(from_micros(int(rows.time[0])))  # raises naming the first priced day
    if catalog.at(from_micros(int(rows.time[-1]))) is first:  # rows are in time order
        return np.zeros(0, dtype=np.int32), [first]
    starts = np.array(
        [
            micros(datetime(v.effective.year, v.effective.month, v.effective.day, tzinfo=UTC))
            for v in catalog.versions
        ],
        dtype=np.int64,
    )
    version = (np.searchsorted(starts, rows.time, side="right") - 1).astype(np.int32)
    return version, list(catalog.versions)


def _resolve(rows: Rows, versions: list[CatalogVersion]) -> tuple[list[_Combo], np.ndarray]:
    """Price every (version, category, country); the lookup table of combo ids (-1: none)."""
    categories = rows.category.names()
    countries = rows.country.values
    table = np.full(max(1, len(versions)) * len(categories) * len(countries), -1, np.int32)
    combos: list[_Combo] = []
    for v, version in enumerate(versions):
        for c, category in enumerate(categories):
            for k, country in enumerate(countries):
                charge = version.charge_for(category, country)
                if charge is None:
                    continue
                table[(v * len(categories) + c) * len(countries) + k] = len(combos)
                combos.append(_combo(len(combos), category, charge))
    return combos, table


def _unpriced(rows: Rows, combo: np.ndarray) -> list[Unpriced]:
    """One entry per category/country without a price, first event in input order."""
    missing = np.flatnonzero(combo < 0)
    frame = pl.DataFrame(
        {
            "row": missing,
            "category": rows.category.codes[missing],
            "country": rows.country.codes[missing],
        }
    )
    found = frame.group_by("category", "country").agg(pl.col("row").min(), pl.len())
    found = found.sort("row")
    ids = rows.fetch("event_id", found["row"].to_numpy())
    return [
        Unpriced(
            rows.category.values[category] or "", rows.country.values[country], event_id or "", n
        )
        for (category, country, _, n), event_id in zip(found.iter_rows(), ids, strict=True)
    ]


def _members(rows: Rows) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Dense (billing account, account) per row: the account's own code when each account has
    one billing account (the usual case), else one code per distinct pair."""
    accounts = len(rows.account.values)
    owner_of = loop.owner_of_accounts(rows.owner.codes, rows.account.codes, accounts)
    if len(owner_of) == accounts:
        return rows.account.codes, list(zip(owner_of.tolist(), range(accounts), strict=True))
    pair = rows.owner.codes.astype(np.int64) * accounts + rows.account.codes
    distinct, member = np.unique(pair, return_inverse=True)
    members = [(p // accounts, p % accounts) for p in distinct.tolist()]
    return member.astype(np.int32), members


def _account_slots(rows: Rows) -> np.ndarray:
    """Counter slot per account code: the owner code of the same sid if it is a billing
    account too (the reference keys pool counters by sid, whatever the pool's scope), else
    a slot after the owners'."""
    owners = {name: code for code, name in enumerate(rows.owner.values)}
    base = len(rows.owner.values)
    return np.array(
        [owners.get(name, base + code) for code, name in enumerate(rows.account.values)],
        dtype=np.int64,
    )


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
# Usage objects: delegated price models and audits (reference code)
# ------------------------------------------------------------------------------------------


def _usages(rows: Rows, at: np.ndarray) -> list[Usage]:
    """Usage objects of the rows at positions ``at`` (exact: micro-units back to Decimal)."""
    ids = rows.fetch("event_id", at)
    amounts = rows.fetch(AMOUNT_COLUMN, at) if rows.has_amount else [None] * len(at)
    return [
        Usage(
            event_id=event_id or "",
            account=rows.account.values[account] or "",
            time=from_micros(time),
            category=rows.category.values[category] or "",
            quantity=unscaled(quantity, QUANTITY_PLACES),
            country=rows.country.values[country],
            amount=None if amount is None else D(amount),
        )
        for event_id, account, time, category, quantity, country, amount in zip(
            ids,
            rows.account.codes[at].tolist(),
            rows.time[at].tolist(),
            rows.category.codes[at].tolist(),
            rows.quantity[at].tolist(),
            rows.country.codes[at].tolist(),
            amounts,
            strict=True,
        )
    ]


#: Delegated usage per (billing account, month key, price identity), in time order of rows.
Delegated = dict[tuple[str, int, int], list[tuple[Usage, Price]]]


def _delegate(plan: _Plan, rows: Rows) -> dict[Key, list[Part]]:
    """Rate the rows of other price models with the reference models, grouped as it does."""
    return _charge_delegated(_delegated(plan, rows, defaultdict(list)))


def _delegated(plan: _Plan, rows: Rows, groups: Delegated) -> Delegated:
    """Add the Usage of the rows of delegated price models to ``groups`` (a stream adds each
    chunk's: a group is charged once, whole, by :func:`_charge_delegated`)."""
    delegated = np.flatnonzero(plan.info[:, 0] == loop.DELEGATE)
    if not plan.combos or not len(delegated):
        return groups
    at = np.flatnonzero(np.isin(plan.combo, delegated))
    if not len(at):
        return groups
    owners = rows.owner.codes[at].tolist()
    months = plan.month[at].tolist() if len(plan.month) else [0] * len(at)
    for usage, owner, month, combo in zip(
        _usages(rows, at), owners, months, plan.combo[at].tolist(), strict=True
    ):
        charge = plan.combos[combo].charge
        assert isinstance(charge, Price)
        key = (rows.owner.values[owner] or "", plan.months[month], id(charge))
        groups[key].append((usage, charge))
    return groups


def _charge_delegated(groups: Delegated) -> dict[Key, list[Part]]:
    """Each group rated by its reference price model (in exact order), with spend limits."""
    result: dict[Key, list[Part]] = defaultdict(list)
    for (owner, month, _), members in groups.items():
        # one price version per group (delegated charges are prices, never pools)
        result[(owner, _month(month))].extend(rate_counter([(u, c) for u, c in members]))
    return dict(result)


def _audit(catalog: Catalog, rows: Rows) -> dict[Key, list[Part]]:
    """Every event's parts: rows in exact order, each pooled row walked from the running total
    before it (the loop reports it), each per-unit row one part; delegated parts as rated."""
    rows = _exact(rows)
    plan = _plan(catalog, rows, threads=1)
    before = np.zeros(len(rows), dtype=np.int64)
    _run(rows, plan, np.zeros((plan.cells, 2), dtype=np.int64), track=False, before=before)
    result: dict[Key, list[Part]] = defaultdict(list)
    rated = np.flatnonzero(plan.info[plan.combo, 0] != loop.DELEGATE)
    for usage, index in zip(_usages(rows, rated), rated.tolist(), strict=True):
        combo = plan.combos[int(plan.combo[index])]
        owner = rows.owner.values[int(rows.owner.codes[index])] or ""
        month = _month(plan.months[int(plan.month[index]) if len(plan.month) else 0])
        result[(owner, month)].extend(_pieces(combo, usage, int(before[index])))
    for key, parts in _delegate(plan, rows).items():
        result[key].extend(parts)
    return dict(result)


def _pieces(combo: _Combo, usage: Usage, before: int) -> Iterator[Part]:
    """The parts of one usage: split at its pool's bounds (integers), or one per-unit part."""
    bounds: list[int | None] = [*combo.bounds, None]
    counted, remaining = before, scaled(usage.quantity, QUANTITY_PLACES, "quantity")
    pool = combo.charge.pool_name
    is_pool = pool is not None
    while True:  # the walk of ratecard.prices.tiers, in integers
        tier = next(i for i, b in enumerate(bounds) if b is None or counted < b)
        bound = bounds[tier]
        room = remaining if bound is None else min(remaining, bound - counted)
        rate = combo.rates[tier]
        yield Part(
            category=combo.category,
            kind=Kind.USAGE,
            quantity=unscaled(room, QUANTITY_PLACES),
            unit_price=rate,
            amount=unscaled(room * _rate(rate), AMOUNT_PLACES),
            tier=tier + 1 if is_pool else None,
            tier_label=combo.labels[tier] if is_pool else None,
            pool=pool,
            account=usage.account,
            events=(usage.event_id,),
        )
        counted += room
        remaining -= room
        if remaining <= 0:
            return
