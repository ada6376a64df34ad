"""Streaming batch rating: a Parquet file rated row group by row group, each read once.

The one-shot kernel (:mod:`ratecard.rating.batch`) holds every row of a call in memory; a
file bigger than that used to be rated in shards of billing accounts, each shard reading and
decoding the whole file again. Here the file is read once, row group by row group
(:meth:`ratecard.rating.rows.ParquetRows.row_groups`), and every row group is rated by the
kernel's own loop (:func:`ratecard.rating.batch._run`, the tie settling and the delegated
price models as there) with the loop's counters carried from one row group to the next.
Units and money are the kernel's: Int64 micro-units summed per (month, account, price, tier),
amounts formed and rounded half-up once per line only on the summed rows
(:class:`~ratecard.rating.batch.BatchResult`, whose lines and totals equal the one-shot's).

What is kept between row groups, and so what memory is bounded by:

* per counter (sid, pool) of the current month: its running total (the loop's state);
* per (account, price, tier) of the current month: its units and pieces (the loop's table),
  turned into summed rows when the month ends;
* the rows of the last instant seen (see ties below), and the usage of delegated price
  models (few in practice), charged whole at the end.

Never per event otherwise: a month of 1B events takes the memory of its row groups.

Order: a pooled counter is chronological, so row groups must come in time order: each row
group's earliest time must not precede the previous row group's latest (equal is fine: a tie
across the boundary). A row group need not be sorted inside (the kernel's radix sort orders
it). A file whose row groups overlap in time is refused up front with a
:class:`~ratecard.errors.RatingError` (from the row groups' statistics when the file has
them, else when the overlapping row group is read); :func:`ratecard.rating.batch.
rate_parquet_shards` rates any order. The decision: refuse rather than sort per month bucket,
since a sort across row groups needs every row of a month in memory, which is what streaming
avoids; the bench generator and the export write row groups in time order.

Ties: the reference breaks ties in time by event id, and the kernel settles a tie run within
one call. A row group boundary may fall inside an instant, so the rows of each row group's
last instant are held back and rated with the next row group's rows of that instant: every
instant is rated whole, in one call, and the tie runs that straddle a boundary are settled
exactly as the one-shot kernel settles them.

Months: counters are per calendar month (UTC); rows are cut at month starts, and at each new
month the counters start again from zero and the finished month's table becomes summed rows.
Catalog versions (by UTC day) are cut the same way; a pool's counter runs on across versions
within a month, as in the one-shot kernel (counters are keyed by pool name).

Limits: an account billed to two billing accounts within one month is refused (the one-shot
kernel rates that case); quantities of one billing account's month must fit in int64
micro-units, as for the one-shot kernel, checked across row groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from ratecard.catalog.model import Catalog
from ratecard.errors import NoPriceError, RatingError
from ratecard.prices.parts import Part
from ratecard.rating import loop
from ratecard.rating.batch import (
    _SUMS_SCHEMA,
    _THREADED_ROWS,
    BatchResult,
    Delegated,
    Key,
    _audit,
    _charge_delegated,
    _check_sums,
    _Combo,
    _combo,
    _delegated,
    _exact,
    _Plan,
    _run,
    _settle_ties,
    _sums,
    _tables,
    _unpriced,
)
from ratecard.rating.columns import INT64_MAX, QUANTITY_PLACES, from_micros, micros, unscaled
from ratecard.rating.engine import Unpriced
from ratecard.rating.rows import ParquetRows, Rows

_NONE = np.zeros(0, dtype=np.int32)


def rate_parquet_stream(
    catalog: Catalog,
    path: Path,
    threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Rate a Parquet file of usage columns reading each row group once, in time order.

    Equal line for line to the one-shot kernel on the same rows (see the module docstring
    for what memory holds, the order required and the limits). ``progress(done_rows,
    all_rows)`` is called after each row group. Raise NoPriceError listing every
    category/country without a price (after the whole file), RatingError for row groups out
    of time order, an account with two billing accounts in a month, or an overflow.
    """
    source = ParquetRows(path)
    _check_order(source.file)
    stream = _Stream(catalog, threads)
    done = 0
    latest: int | None = None
    for index, rows in enumerate(source.row_groups()):
        if not len(rows):
            continue
        ordered, _ = loop.survey(rows.time, rows.quantity).tolist()
        if not ordered:  # sorted inside the row group only: groups are already in order
            rows = rows.in_time_order(threads)
        if latest is not None and int(rows.time[0]) < latest:
            raise _out_of_order(index, int(rows.time[0]), latest)
        latest = int(rows.time[-1])
        stream.feed(rows)
        done += len(rows)
        if progress is not None:
            progress(done, source.count)
    stream.finish()
    return stream.result(lambda: _audit(catalog, ParquetRows(path).rows()))


def _out_of_order(index: int, earliest: int, latest: int) -> RatingError:
    return RatingError(
        f"row group {index} starts at {from_micros(earliest).isoformat()}, before the previous "
        f"row group ends ({from_micros(latest).isoformat()}): streaming rating needs row "
        "groups in time order; rate this file with rate_parquet_shards"
    )


def _check_order(file: pq.ParquetFile) -> None:
    """Refuse overlapping row groups before reading any, from their time statistics."""
    meta = file.metadata
    column = file.schema_arrow.names.index("time")
    latest: int | None = None
    for index in range(meta.num_row_groups):
        stats = meta.row_group(index).column(column).statistics
        if stats is None or not stats.has_min_max:
            return  # checked as the row groups are read
        if latest is not None and int(stats.min) < latest:
            raise _out_of_order(index, int(stats.min), latest)
        latest = int(stats.max)


def _month_key(time: int) -> int:
    moment = from_micros(time)
    return moment.year * 12 + moment.month - 1


def _month_start(key: int) -> int:
    return micros(datetime(key // 12, key % 12 + 1, 1, tzinfo=UTC))


class _Stream:
    """The loop's tables kept across calls (see the module docstring)."""

    def __init__(self, catalog: Catalog, threads: int) -> None:
        self.catalog = catalog
        self.threads = threads
        self.versions = list(catalog.versions)
        self.version_starts = np.array(
            [
                micros(datetime(v.effective.year, v.effective.month, v.effective.day, tzinfo=UTC))
                for v in self.versions
            ],
            dtype=np.int64,
        )
        # pool tags by name over every version: a counter's tag never changes mid-stream
        self.pools = sorted({pool.name for v in self.versions for pool in v.pools})
        self.combos: list[_Combo] = []
        self.combo_of: dict[tuple[int, str, str | None], int] = {}
        self.dims = (0, 0)  # categories, countries the table was built for
        self.table = np.zeros(0, dtype=np.int32)
        self.info, self.bounds, self.width = _tables([], self.pools)
        self.sids = 0
        self.state = np.zeros((0, 4), dtype=np.int64)
        self.out = np.zeros((0, 2), dtype=np.int64)
        self.owner_of = np.zeros(0, dtype=np.int64)
        self.month: int | None = None
        self.bound = 0  # sum of (largest quantity x rows) this month: the cheap overflow bound
        self.totals: pl.DataFrame | None = None  # per billing account, once the bound is passed
        self.carry: Rows | None = None
        self.names: Rows | None = None  # an empty window: the shared value lists
        self.flushed: list[pl.DataFrame] = []
        self.delegated: Delegated = defaultdict(list)
        self.unpriced: dict[tuple[str, str | None], Unpriced] = {}

    # -- feeding: every instant rated whole -----------------------------------------------

    def feed(self, rows: Rows) -> None:
        """Rows in time order, after every row fed before: rated up to their last instant,
        whose rows wait for the next call's rows of the same instant."""
        if self.carry is not None:
            instant = int(self.carry.time[0])
            head = int(np.searchsorted(rows.time, instant, side="right"))
            if head == len(rows):
                self.carry = self.carry.then(rows)
                return
            self._rate(self.carry.then(rows.window(0, head)) if head else self.carry)
            rows = rows.window(head, len(rows))
        tail = int(np.searchsorted(rows.time, rows.time[-1], side="left"))
        if tail:
            self._rate(rows.window(0, tail))
        self.carry = rows.take(np.arange(tail, len(rows)))  # a copy: the row group is freed

    def finish(self) -> None:
        if self.carry is not None:
            self._rate(self.carry)
            self.carry = None
        self._flush()

    def _rate(self, rows: Rows) -> None:
        """Rows in time order cut where a month or a catalog version starts."""
        first, last = int(rows.time[0]), int(rows.time[-1])
        cuts = [_month_start(key) for key in range(_month_key(first) + 1, _month_key(last) + 1)]
        cuts += [int(s) for s in self.version_starts if first < s <= last]
        edges = np.searchsorted(rows.time, sorted(set(cuts)), side="left").tolist()
        for low, high in zip([0, *edges], [*edges, len(rows)], strict=True):
            if high > low:
                self._segment(rows.window(low, high))

    # -- one (month, catalog version) segment ----------------------------------------------

    def _segment(self, rows: Rows) -> None:
        time = int(rows.time[0])
        key = _month_key(time)
        self.catalog.at(from_micros(time))  # RatingError before the first version
        version = int(np.searchsorted(self.version_starts, time, side="right") - 1)
        if key != self.month:
            self._flush()
            self.month, self.bound, self.totals = key, 0, None
            self.state[:] = 0
            self.owner_of[:] = -1
        _check_sums(rows)
        self._check_month_sums(rows)
        self._grow(rows)
        plan = self._plan(rows, version)
        snapshot = self.state.copy()
        ran = _run(rows, plan, self.out, track=True, state=self.state)
        if ran.missing:
            for item in _unpriced(rows, plan.combo):
                seen = self.unpriced.get((item.category, item.country))
                count = item.count + (seen.count if seen else 0)
                first = seen.first_event if seen else item.first_event
                self.unpriced[(item.category, item.country)] = Unpriced(
                    item.category, item.country, first, count
                )
        if ran.found > len(ran.flags):  # ties everywhere: these rows again, in exact order
            undo = np.zeros_like(self.out)
            _run(rows, plan, undo, track=False, state=snapshot.copy())
            self.out -= undo
            self.state[:] = snapshot
            rows = _exact(rows)
            plan = self._plan(rows, version)
            _run(rows, plan, self.out, track=False, state=self.state)
        elif ran.found:
            _settle_ties(rows, plan, ran.flags, self.out)
        if ran.delegated:
            _delegated(plan, rows, self.delegated)

    def _plan(self, rows: Rows, version: int, members: bool = False) -> _Plan:
        """The kernel's plan for rows of one month and catalog version, on the stream's
        tables: one month (index 0), the version's slice of the price table, members and
        counter slots by sid code (an account's counter slot is its own code); ``members``:
        the (owner, account) of each member too (only summing the cells reads them)."""
        categories, countries = self.dims
        size = categories * countries
        functional = len(loop.owner_of_accounts(rows.owner.codes, rows.account.codes, self.sids))
        parts = self.threads if functional and len(rows) >= _THREADED_ROWS else 1
        _, whole = loop.survey(rows.time, rows.quantity).tolist()
        fractions = not whole or any(b % loop.UNIT for c in self.combos for b in c.bounds)
        return _Plan(
            rows=rows,
            combos=self.combos,
            table=self.table[version * size : (version + 1) * size],
            version=_NONE,
            month=_NONE,
            months=[self.month or 0],
            member=rows.account.codes,
            members=[(o, a) for a, o in enumerate(self.owner_of.tolist())] if members else [],
            account_slot=np.arange(self.sids, dtype=np.int64),
            info=self.info,
            bounds=self.bounds,
            shape=np.array(
                [
                    self.sids,
                    max(1, len(self.combos)),
                    max(1, self.width),
                    self.sids,
                    self.sids,
                    max(1, len(self.pools)),
                    categories,
                    countries,
                    max(1, parts),
                    fractions,
                ],
                dtype=np.int64,
            ),
        )

    def _grow(self, rows: Rows) -> None:
        """Room for new sids (counters, cells, owners) and prices for new categories and
        countries (a new price widens every account's cells: the month so far is summed
        first)."""
        self.names = rows.window(0, 0)
        sids = len(rows.owner.values)
        if sids > self.sids:
            pools = max(1, len(self.pools))
            extra = sids - self.sids
            self.state = np.concatenate([self.state, np.zeros((extra * pools, 4), np.int64)])
            self.out = np.concatenate(
                [self.out, np.zeros((extra * max(1, self.width), 2), np.int64)]
            )
            self.owner_of = np.concatenate([self.owner_of, np.full(extra, -1, np.int64)])
            self.sids = sids
        owner_of = loop.owner_of_accounts(rows.owner.codes, rows.account.codes, self.sids)
        seen = owner_of >= 0
        known = self.owner_of >= 0
        if len(owner_of) != self.sids or np.any(seen & known & (owner_of != self.owner_of)):
            raise RatingError(
                "an account is billed to two billing accounts in one month: the streaming "
                "rating keeps one per account; rate this file with rate_parquet_shards"
            )
        self.owner_of[seen] = owner_of[seen]
        dims = (len(rows.category.values), len(rows.country.values))
        if dims != self.dims:
            self._prices(rows, dims)

    def _prices(self, rows: Rows, dims: tuple[int, int]) -> None:
        categories, countries = rows.category.names(), rows.country.values
        table = np.full(len(self.versions) * dims[0] * dims[1], -1, dtype=np.int32)
        added: list[_Combo] = []
        for v, version in enumerate(self.versions):
            for c, category in enumerate(categories):
                for k, country in enumerate(countries):
                    key = (v, category, country)
                    if key not in self.combo_of:
                        charge = version.charge_for(category, country)
                        at = len(self.combos) + len(added)
                        self.combo_of[key] = -1 if charge is None else at
                        if charge is not None:
                            added.append(_combo(at, category, charge))
                    table[(v * dims[0] + c) * dims[1] + k] = self.combo_of[key]
        if added:
            self._flush()  # on the cells as they were
            self.combos.extend(added)
            self.info, self.bounds, self.width = _tables(self.combos, self.pools)
            self.out = np.zeros((self.sids * max(1, self.width), 2), dtype=np.int64)
        self.table, self.dims = table, dims

    def _check_month_sums(self, rows: Rows) -> None:
        """Refuse a billing account whose month, across calls, overflows int64 micro-units
        (each call is checked alone by ``_check_sums``); exact sums only once the cheap
        bound (largest quantity x rows, summed over calls) is passed."""
        self.bound += int(rows.quantity.max()) * len(rows)
        if self.bound <= INT64_MAX:
            return
        frame = pl.DataFrame({"owner": rows.owner.codes, "quantity": rows.quantity})
        sums = frame.group_by("owner").agg(pl.col("quantity").cast(pl.Int128).sum())
        if self.totals is not None:
            sums = pl.concat([self.totals, sums]).group_by("owner").agg(pl.col("quantity").sum())
        self.totals = sums
        over = sums.filter(pl.col("quantity") > INT64_MAX)
        if not over.is_empty():
            owner, units = over.row(0)
            month = from_micros(_month_start(self.month or 0))
            raise RatingError(
                f"billing account '{rows.owner.values[owner]}' in {month:%Y-%m}: quantities "
                f"sum to {unscaled(units, QUANTITY_PLACES)} units, which overflows int64 in "
                f"1e-{QUANTITY_PLACES} units; rate it with the reference kernel"
            )

    # -- results -----------------------------------------------------------------------------

    def _flush(self) -> None:
        """The table so far as summed rows (the month ended, or the cells widen)."""
        if self.names is None or self.month is None or not self.out[:, 1].any():
            self.out[:] = 0
            return
        plan = self._plan(self.names, 0, members=True)
        self.flushed.append(_sums(self.names, plan, self.out))
        self.out[:] = 0

    def result(self, audit: Callable[[], dict[Key, list[Part]]]) -> BatchResult:
        if self.unpriced:
            raise NoPriceError(list(self.unpriced.values()))
        keys = ["billing_account", "account", "month", "combo", "tier"]
        sums = (
            pl.concat(self.flushed)
            .group_by(keys)
            .agg(pl.col("units").sum(), pl.col("pieces").sum(), pl.col("fractional").any())
            .select(list(_SUMS_SCHEMA))
            .cast(dict(_SUMS_SCHEMA.items()))
            if self.flushed
            else pl.DataFrame(schema=_SUMS_SCHEMA)
        )
        delegated = _charge_delegated(self.delegated) if self.delegated else {}
        return BatchResult(self.catalog, self.combos, sums, delegated, audit)
