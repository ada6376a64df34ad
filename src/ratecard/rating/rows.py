"""Usage rows as dense integer codes: the batch kernel's working form, from a frame or Parquet.

String columns (accounts, categories, countries) become dense ``int32`` codes into a list of
their distinct values (Arrow dictionary indices: Parquet stores them so, and a Polars
Categorical exports them so), ``time`` and ``quantity`` stay Int64 (microseconds, micro-units;
see :mod:`ratecard.rating.columns`). Event ids (and the optional money ``amount``) are not
decoded up front: the kernel needs them for a few rows only (ties in time at a tier bound,
rows of delegated price models, audits), and reading 10M ids costs more than rating 10M rows.
They are fetched by row with :meth:`Rows.fetch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ratecard.errors import RatingError
from ratecard.rating.columns import AMOUNT_COLUMN, CATEGORICAL, SCHEMA, check_columns
from ratecard.rating.order import sort_by_time

#: Columns fetched by row (never decoded whole).
Fetch = Callable[[str, np.ndarray], list[str | None]]


@dataclass(frozen=True)
class Codes:
    """A string column as dense codes: ``values[codes[i]]`` is row i's value."""

    codes: np.ndarray
    values: list[str | None]

    def names(self) -> list[str]:
        """The values, for columns that have no nulls."""
        return [value or "" for value in self.values]


@dataclass(frozen=True)
class Rows:
    """Usage rows (see the module docstring); ``fetch(column, rows)`` reads ``event_id`` or
    ``amount`` of the given row positions."""

    owner: Codes
    account: Codes
    category: Codes
    country: Codes
    time: np.ndarray
    quantity: np.ndarray
    fetch: Fetch
    has_amount: bool = False

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def in_time_order(self, threads: int = 2) -> Rows:
        """The rows stably sorted by time (ties keep their order; fetches follow the rows):
        one radix sort that moves every column (:func:`ratecard.rating.order.sort_by_time`)."""
        columns = [self.owner, self.account, self.category, self.country]
        order, time, moved = sort_by_time(
            self.time, [*(column.codes for column in columns), self.quantity], threads
        )
        return self._moved(
            order,
            [Codes(c, column.values) for c, column in zip(moved[:4], columns, strict=True)],
            time,
            moved[-1],
        )

    def take(self, order: np.ndarray) -> Rows:
        """The rows at positions ``order`` (fetches follow them): one gather per column."""
        columns = [self.owner, self.account, self.category, self.country]
        codes = [Codes(column.codes[order], column.values) for column in columns]
        return self._moved(order, codes, self.time[order], self.quantity[order])

    def window(self, low: int, high: int) -> Rows:
        """The rows at positions ``[low, high)`` as views (no copy; fetches follow them)."""
        source = self.fetch

        def fetch(column: str, rows: np.ndarray) -> list[str | None]:
            return source(column, rows + low)

        owner, account, category, country = (
            Codes(column.codes[low:high], column.values)
            for column in (self.owner, self.account, self.category, self.country)
        )
        return Rows(
            owner,
            account,
            category,
            country,
            self.time[low:high],
            self.quantity[low:high],
            fetch,
            self.has_amount,
        )

    def then(self, other: Rows) -> Rows:
        """These rows followed by ``other``'s, which share their code spaces (one copy)."""
        split = len(self)
        first, second = self.fetch, other.fetch

        def fetch(column: str, rows: np.ndarray) -> list[str | None]:
            result: list[str | None] = [None] * len(rows)
            mine = rows < split
            for picked, values in (
                (np.flatnonzero(mine), first(column, rows[mine])),
                (np.flatnonzero(~mine), second(column, rows[~mine] - split)),
            ):
                for j, value in zip(picked.tolist(), values, strict=True):
                    result[j] = value
            return result

        pairs = zip(
            (self.owner, self.account, self.category, self.country),
            (other.owner, other.account, other.category, other.country),
            strict=True,
        )
        owner, account, category, country = (
            Codes(np.concatenate([a.codes, b.codes]), a.values) for a, b in pairs
        )
        return Rows(
            owner,
            account,
            category,
            country,
            np.concatenate([self.time, other.time]),
            np.concatenate([self.quantity, other.quantity]),
            fetch,
            self.has_amount,
        )

    def _moved(
        self, order: np.ndarray, codes: list[Codes], time: np.ndarray, quantity: np.ndarray
    ) -> Rows:
        """These rows' columns moved to positions ``order`` (fetches follow them)."""
        source = self.fetch  # not ``self``: the unsorted columns are freed once unused

        def fetch(column: str, rows: np.ndarray) -> list[str | None]:
            return source(column, order[rows])

        owner, account, category, country = codes
        return Rows(owner, account, category, country, time, quantity, fetch, self.has_amount)


class _Encoder:
    """Dense codes of one string column across chunks whose dictionaries differ (Parquet row
    groups each have their own): every chunk's dictionary is matched against the values seen
    so far in one vectorized call, and the chunk's indices are remapped with one gather. No
    string is hashed per row, and no chunk's dictionary is merged into another's."""

    def __init__(self, name: str, nulls: bool) -> None:
        self.name = name
        self.nulls = nulls
        self.values: list[str | None] = []
        self.known = pa.array([], type=pa.string())

    def remap(self, dictionary: pa.Array) -> np.ndarray:
        """Code of every entry of a chunk's dictionary (new values are added)."""
        dictionary = dictionary.cast(pa.string())
        found = pc.index_in(dictionary, value_set=self.known)
        if found.null_count:
            new = dictionary.filter(pc.is_null(found))
            self.values.extend(new.to_pylist())
            self.known = pa.concat_arrays([self.known, new])
            found = pc.index_in(dictionary, value_set=self.known)
        remap: np.ndarray = found.to_numpy(zero_copy_only=False).astype(np.int32)
        return remap

    def apply(
        self, remap: np.ndarray, indices: pa.Array, into: np.ndarray | None = None
    ) -> np.ndarray:
        """Codes of a chunk's dictionary ``indices`` (nulls: the code of None, if allowed),
        written ``into`` a slice of a larger array when given (no copy to concatenate)."""
        if indices.null_count:
            if not self.nulls:
                raise RatingError(
                    f"usage columns: column '{self.name}' has {indices.null_count} null(s)"
                )
            if None not in self.values:
                self.values.append(None)  # and a null in ``known``: codes stay aligned
                self.known = pa.concat_arrays([self.known, pa.nulls(1, pa.string())])
            empty = np.int32(self.values.index(None))
            remap = np.append(remap, empty)
            indices = pc.fill_null(indices, len(remap) - 1)
        codes: np.ndarray = np.take(remap, indices.to_numpy(zero_copy_only=False), out=into)
        return codes

    def codes(self, column: pa.ChunkedArray) -> Codes:
        chunks = [
            chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
            for chunk in column.chunks
        ]
        if len(chunks) == 1 and not self.values and not chunks[0].indices.null_count:
            remap = self.remap(chunks[0].dictionary)
            if np.array_equal(remap, np.arange(len(remap))):
                # One chunk (one row group, or a frame) whose dictionary is the code space:
                # its indices are the codes, used in place (no gather, no copy).
                indices: np.ndarray = chunks[0].indices.to_numpy(zero_copy_only=False)
                return Codes(indices.astype(np.int32, copy=False), self.values)
        codes = np.empty(len(column), dtype=np.int32)
        at = 0
        for chunk in chunks:
            self.apply(self.remap(chunk.dictionary), chunk.indices, codes[at : at + len(chunk)])
            at += len(chunk)
        return Codes(codes, self.values)


def _integers(column: pa.Array | pa.ChunkedArray | pl.Series, name: str) -> np.ndarray:
    nulls = column.null_count() if isinstance(column, pl.Series) else column.null_count
    if nulls:
        raise RatingError(f"usage columns: column '{name}' has {nulls} null(s)")
    values: np.ndarray = column.to_numpy()
    return values


def _table_rows(table: pa.Table, fetch: Fetch, has_amount: bool) -> Rows:
    def codes(name: str, nulls: bool = False) -> Codes:
        return _Encoder(name, nulls).codes(table.column(name))

    return Rows(
        owner=codes("billing_account"),
        account=codes("account"),
        category=codes("category"),
        country=codes("country", nulls=True),
        time=_integers(table.column("time"), "time"),
        quantity=_integers(table.column("quantity"), "quantity"),
        fetch=fetch,
        has_amount=has_amount,
    )


def frame_rows(frame: pl.DataFrame) -> Rows:
    """Rows of usage columns in a Polars frame (:func:`check_columns` checks them)."""
    frame = check_columns(frame)
    has_amount = AMOUNT_COLUMN in frame.columns
    strings = frame.select(*CATEGORICAL).to_arrow()
    table = strings.append_column("time", pa.array(_integers(frame["time"], "time")))
    table = table.append_column("quantity", pa.array(_integers(frame["quantity"], "quantity")))

    def fetch(column: str, rows: np.ndarray) -> list[str | None]:
        values: list[str | None] = frame[column].gather(rows).to_list()
        return values

    return _table_rows(table, fetch, has_amount)


#: Columns decoded whole from Parquet (everything but ids and amounts).
_READ = [name for name in SCHEMA if name != "event_id"]


class ParquetRows:
    """Usage rows of a Parquet file (see :func:`ratecard.rating.columns.write_parquet`),
    whole or one set of billing accounts at a time; ids are read by row group, on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = pq.ParquetFile(path, read_dictionary=list(CATEGORICAL))
        meta = self.file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.starts = np.cumsum([0, *sizes])
        names = self.file.schema_arrow.names
        missing = [name for name in SCHEMA if name not in names]
        if missing:
            raise RatingError(f"usage columns: {path}: missing column(s) {', '.join(missing)}")
        self.has_amount = AMOUNT_COLUMN in names
        self._cache: dict[tuple[str, int], pa.Array] = {}
        # One code space per string column for the whole file, and each row group's
        # dictionary remapped once (shards read every row group again).
        self._encoders = {name: _Encoder(name, nulls=name == "country") for name in CATEGORICAL}
        self._remaps: dict[tuple[str, int], np.ndarray] = {}

    @property
    def count(self) -> int:
        return int(self.starts[-1])

    def owner_counts(self) -> dict[str, int]:
        """Rows per billing account (reads that column only)."""
        tally = np.zeros(0, dtype=np.int64)
        for group in range(self.file.num_row_groups):
            column = self.file.read_row_group(group, columns=["billing_account"]).column(0)
            chunk = column.combine_chunks()
            remap = self._codes("billing_account", group, chunk.dictionary)
            codes = self._encoders["billing_account"].apply(remap, chunk.indices)
            counted = np.bincount(codes, minlength=len(self._encoders["billing_account"].values))
            tally = np.concatenate([tally, np.zeros(len(counted) - len(tally), np.int64)])
            tally += counted
        names = self._encoders["billing_account"].values
        return {name or "": int(n) for name, n in zip(names, tally.tolist(), strict=True) if n}

    def rows(self, owners: set[str] | None = None) -> Rows:
        """Every row, or the rows of ``owners`` (billing accounts), in file order."""
        if owners is None:
            table = self.file.read(columns=_READ)  # one chunk per column: no concatenation
            return _table_rows(table, self._fetch(None), self.has_amount)
        columns: dict[str, list[np.ndarray]] = {name: [] for name in (*CATEGORICAL, "time")}
        columns["quantity"], positions = [], []
        wanted = np.zeros(0, dtype=np.bool_)
        for group in range(self.file.num_row_groups):
            table = self.file.read_row_group(group, columns=_READ)
            chunks = {name: table.column(name).combine_chunks() for name in CATEGORICAL}
            owner = chunks["billing_account"]
            self._codes("billing_account", group, owner.dictionary)  # owners seen so far
            names = self._encoders["billing_account"].values
            if len(wanted) != len(names):  # once per shard when owner_counts saw every owner
                wanted = np.array([name in owners for name in names], dtype=np.bool_)
            # the shard's rows, found on the row group's own dictionary indices; only they
            # are then coded (no gather of the whole row group per column and shard)
            local = wanted[self._remaps[("billing_account", group)]]
            picked = np.flatnonzero(local[owner.indices.to_numpy(zero_copy_only=False)])
            taken = pa.array(picked)
            positions.append(picked + self.starts[group])
            for name, chunk in chunks.items():
                remap = self._codes(name, group, chunk.dictionary)
                columns[name].append(self._encoders[name].apply(remap, chunk.indices.take(taken)))
            for name in ("time", "quantity"):
                columns[name].append(_integers(table.column(name), name)[picked])

        def coded(name: str) -> Codes:
            return Codes(np.concatenate(columns[name]), list(self._encoders[name].values))

        return Rows(
            owner=coded("billing_account"),
            account=coded("account"),
            category=coded("category"),
            country=coded("country"),
            time=np.concatenate(columns["time"]),
            quantity=np.concatenate(columns["quantity"]),
            fetch=self._fetch(np.concatenate(positions)),
            has_amount=self.has_amount,
        )

    def row_groups(self) -> Iterator[Rows]:
        """Each row group's rows in file order, each row group read once (ids fetched on
        demand, as for :meth:`rows`).

        Codes are one space for the whole stream, grown as row groups bring new values, and
        ``billing_account`` and ``account`` share theirs (a sid has one code in both columns,
        so a counter kept per sid keeps its code from one row group to the next: the streaming
        rating's state, :mod:`ratecard.rating.stream`). ``values`` lists are shared by every
        yielded row group and only ever appended to.
        """
        sids = _Encoder("account", nulls=False)
        encoders = {"billing_account": sids, "account": sids}
        encoders |= {name: _Encoder(name, nulls=name == "country") for name in CATEGORICAL[2:]}
        everything = self._fetch(None)
        for group in range(self.file.num_row_groups):
            table = self.file.read_row_group(group, columns=_READ)
            codes: dict[str, Codes] = {}
            for name in CATEGORICAL:
                column = table.column(name)
                if column.null_count and not encoders[name].nulls:  # named for its column
                    raise RatingError(
                        f"usage columns: column '{name}' has {column.null_count} null(s)"
                    )
                codes[name] = encoders[name].codes(column)
            start = int(self.starts[group])

            def fetch(column: str, rows: np.ndarray, start: int = start) -> list[str | None]:
                return everything(column, rows + start)

            yield Rows(
                owner=codes["billing_account"],
                account=codes["account"],
                category=codes["category"],
                country=codes["country"],
                time=_integers(table.column("time"), "time"),
                quantity=_integers(table.column("quantity"), "quantity"),
                fetch=fetch,
                has_amount=self.has_amount,
            )

    def _codes(self, name: str, group: int, dictionary: pa.Array) -> np.ndarray:
        """The file-wide code of each entry of one row group's dictionary of ``name``
        (matched once per row group, then reused by every shard)."""
        key = (name, group)
        if key not in self._remaps:
            self._remaps[key] = self._encoders[name].remap(dictionary)
        return self._remaps[key]

    def _fetch(self, positions: np.ndarray | None) -> Fetch:
        def fetch(column: str, rows: np.ndarray) -> list[str | None]:
            if column == AMOUNT_COLUMN and not self.has_amount:
                return [None] * len(rows)
            at = rows if positions is None else positions[rows]
            groups = np.searchsorted(self.starts, at, side="right") - 1
            result: list[str | None] = [None] * len(at)
            for group in np.unique(groups).tolist():
                picked = np.flatnonzero(groups == group)
                values = self._group(column, group)
                local = pa.array(at[picked] - self.starts[group])
                for j, value in zip(picked.tolist(), values.take(local).to_pylist(), strict=True):
                    result[j] = value
            return result

        return fetch

    def _group(self, column: str, group: int) -> pa.Array:
        """One row group's ``column``; the last one read per column is kept (fetches come in
        time order, so consecutive ones mostly hit the same row group)."""
        key = (column, group)
        if key not in self._cache:
            for old in [k for k in self._cache if k[0] == column]:
                del self._cache[old]
            self._cache[key] = self.file.read_row_group(group, columns=[column]).column(0)
        return self._cache[key]


def shards(counts: dict[str, int], limit: int) -> Iterator[tuple[set[str], int]]:
    """Billing accounts packed into sets of about ``limit`` rows (an account is never split)."""
    current: set[str] = set()
    rows = 0
    for owner in sorted(counts):
        count = counts[owner]
        if current and rows + count > limit:
            yield current, rows
            current, rows = set(), 0
        current.add(owner)
        rows += count
    if current:
        yield current, rows
