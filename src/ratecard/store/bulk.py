"""Bulk reads and writes of the month close: a month's stored rating columns as one frame,
the survey of every account's events, and new drafts written in bulk (``COPY`` on PostgreSQL).

The month's usage is read from the rating columns stored beside each body (migration 0006),
never from the JSON. Each read is a block of ``seq`` numbers whose rows the server joins into
ONE text value, one row per line and fields separated by ``\\x01`` (no stored id, category or
country holds a control character, ingestion refuses them), decoded by Polars' CSV reader: the
client pays no per-row message (``COPY ... TO STDOUT`` sends one per row, about 1 us of
Python each). On PostgreSQL a reader thread fetches the next block on the unit of work's own
connection (same transaction, same snapshot) while the caller's thread decodes the one before.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, Table, insert, select, text

from ratecard.billing import coverage
from ratecard.errors import StoreError
from ratecard.service import ports
from ratecard.service.ports import SPAN_TYPES
from ratecard.store.repositories import copy_text
from ratecard.store.tables import InvoiceLineRow, InvoiceRow
from ratecard.store.unit_of_work import UnitOfWork

#: Events per block of rows read (by ``seq`` range) and decoded together.
BLOCK_SEQS = 250_000
#: PostgreSQL connections reading blocks at once, on the unit of work's snapshot (a server
#: process formats one block at a time, on one core).
READERS = 2
#: The stored columns of :func:`month_usage`, with their Polars dtypes. ``time`` is the UTC
#: instant in microseconds since the epoch; ``quantity`` and ``amount`` are the exact decimal
#: text of the stored values (``quantity`` in the type's measure: seconds for a call).
USAGE_COLUMNS: dict[str, pl.DataType] = {
    "account": pl.String(),
    "event_id": pl.String(),
    "time": pl.Int64(),
    "type": pl.String(),
    "category": pl.String(),
    "quantity": pl.String(),
    "country": pl.String(),
    "amount": pl.String(),
}
_SEPARATOR = "\x01"
#: The time field of a PostgreSQL block: the ``timestamptz``'s binary send form (8 bytes,
#: microseconds since 2000-01-01 UTC, big-endian) as 16 hex digits. Formatting it costs the
#: server a quarter of a block's time less than ``extract(epoch ...)`` (numeric arithmetic:
#: ~210 ms against ~160 ms per 250,000 rows, bench/RESULTS.md).
_PG_TIME = "encode(timestamptz_send(time), 'hex')"
#: 2000-01-01T00:00:00Z in microseconds since the Unix epoch.
_PG_EPOCH_MICROS = 946_684_800 * 1_000_000


def require_sql(uow: ports.UnitOfWork, purpose: str = "the month close") -> UnitOfWork:
    """``uow`` as the SQL unit of work the bulk paths read and write through; a
    :class:`~ratecard.errors.StoreError` naming the stores they need for any other (the
    in-memory store has no SQL to run them on)."""
    if isinstance(uow, UnitOfWork):
        return uow
    raise StoreError(
        f"{purpose} reads and writes in bulk with SQL: it needs a SQLite or PostgreSQL "
        f"database (ratecard.store.database.Database), not the {uow.dialect!r} store"
    )


@dataclass(frozen=True)
class Survey:
    """One scan of the events for a month: each account's count of events in the month, the
    accounts with an event of a type not in ``rated`` (in or before the month) or of a span
    type, and each account's lowest and highest ``seq`` in the month."""

    counts: dict[str, int]
    other: set[str]
    seqs: dict[str, tuple[int, int]]

    def span(self, members: Sequence[str] | None) -> tuple[int, int]:
        """The lowest and highest ``seq`` of the month's events of ``members`` (None:
        everyone); ``(1, 0)`` when they have none."""
        seqs = self.seqs
        spans = list(seqs.values()) if members is None else [seqs[m] for m in members if m in seqs]
        if not spans:
            return 1, 0
        return min(low for low, _ in spans), max(high for _, high in spans)


def _bound(uow: UnitOfWork, moment: datetime) -> Any:
    """A time bound as the store writes it (SQLite keeps naive UTC text)."""
    if uow.dialect == "postgresql":
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def survey(uow: UnitOfWork, start: datetime, end: datetime, rated: Sequence[str]) -> Survey:
    """:class:`Survey` of ``[start, end)`` in one scan of the events."""
    if uow.dialect == "postgresql":
        # Compiling the expressions (JIT) took ~1.2 s of the scan's ~5 s at 10M events and
        # speeds nothing up here: off for this transaction only.
        uow.events.session.execute(text("SET LOCAL jit = off"))
    within = "time >= :start AND time < :end"
    query = text(
        f"SELECT account_sid, SUM(CASE WHEN {within} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN (time < :end AND type NOT IN ({_quoted(rated)})) "
        f"OR type IN ({_quoted(SPAN_TYPES)}) THEN 1 ELSE 0 END), "
        f"MIN(CASE WHEN {within} THEN seq END), "
        f"MAX(CASE WHEN {within} THEN seq END) FROM events GROUP BY account_sid"
    )
    params = {"start": _bound(uow, start), "end": _bound(uow, end)}
    counts: dict[str, int] = {}
    other: set[str] = set()
    seqs: dict[str, tuple[int, int]] = {}
    for sid, count, others, low, high in uow.events.session.execute(query, params):
        if count:
            counts[sid] = int(count)
            seqs[sid] = (int(low), int(high))
        if others:
            other.add(sid)
    return Survey(counts, other, seqs)


def month_usage(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    members: list[str] | None,
    span: tuple[int, int],
    each: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """The stored rating columns (:data:`USAGE_COLUMNS`) of the events of ``members`` (None:
    of everyone) in ``[start, end)`` with ``seq`` in ``span``, read in blocks of
    :data:`BLOCK_SEQS` sequence numbers; ``each`` turns every block into what is kept (so
    only its result for the whole span is ever held, never all the stored text columns)."""
    postgresql = uow.dialect == "postgresql"
    if postgresql:
        blocks = _parallel_blocks(uow, start, end, members, span)
    else:
        blocks = _sqlite_blocks(uow, start, end, members, span)
    keep = each or (lambda frame: frame)
    frames = [keep(_decode(block, hex_time=postgresql)) for block in blocks]
    if not frames:
        return keep(pl.DataFrame(schema=USAGE_COLUMNS))
    return pl.concat(frames, rechunk=False)


def _decode(block: bytes, hex_time: bool = False) -> pl.DataFrame:
    """A block's rows (one per line, fields separated by ``\\x01``; an empty field is null).

    With ``hex_time`` the time field is PostgreSQL's binary form of the ``timestamptz`` in
    hexadecimal (:data:`_PG_TIME`): a signed 64-bit count of microseconds since 2000-01-01
    UTC, turned here into microseconds since 1970-01-01, exactly."""
    schema = {**USAGE_COLUMNS, "time": pl.String()} if hex_time else USAGE_COLUMNS
    frame = pl.read_csv(
        io.BytesIO(block),
        has_header=False,
        separator=_SEPARATOR,
        quote_char=None,
        new_columns=list(schema),
        schema_overrides=schema,
    )
    if not hex_time:
        return frame
    # 16 hex digits are the two's complement bits: read unsigned, then the same bits signed
    since_2000 = pl.col("time").str.to_integer(base=16, dtype=pl.UInt64).reinterpret(signed=True)
    return frame.with_columns(time=since_2000 + _PG_EPOCH_MICROS)


def _driver(uow: UnitOfWork) -> Any:
    """The unit of work's psycopg 3 connection (PostgreSQL), inside its transaction."""
    connection = uow.events.session.connection().connection.driver_connection
    assert connection is not None
    return connection


@contextlib.contextmanager
def _snapshot_connections(uow: UnitOfWork, count: int) -> Iterator[list[Any]]:
    """``count`` connections besides the unit of work's, each in a read-only transaction that
    sees the unit of work's snapshot (``pg_export_snapshot``): every reader reads the same
    data, whatever commits meanwhile (the unit of work's own connection, READ COMMITTED, would
    take a new snapshot per block)."""
    session = uow.events.session
    exported = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with contextlib.ExitStack() as stack:
        connections = []
        for _ in range(count):
            connection = stack.enter_context(
                engine.connect().execution_options(isolation_level="REPEATABLE READ")
            )
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{exported}'")
            # compiling the expressions (JIT) costs more than it saves on these reads
            connection.exec_driver_sql("SET LOCAL jit = off")
            connections.append(connection.connection.driver_connection)
        yield connections


def _parallel_blocks(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    members: list[str] | None,
    span: tuple[int, int],
) -> Iterator[bytes]:
    """The blocks of ``span``, read by :data:`READERS` threads on as many connections sharing
    the unit of work's snapshot (reader k reads blocks k, k + READERS, ...), taken from the
    readers in turn (the caller's result does not depend on the order): the server formats
    blocks (the read's cost, one core per connection) while the caller decodes the ones
    before."""
    low, high = span
    blocks = (high - low) // BLOCK_SEQS + 1
    if blocks <= 0:  # no event in the span: no snapshot, no connection
        return
    count = min(READERS, blocks)
    with _snapshot_connections(uow, count) as connections:
        readers = [
            (connection, _postgresql_blocks, start, end, members, span, (k, count))
            for k, connection in enumerate(connections)
        ]
        yield from _prefetched(readers)


_Blocks = queue.Queue[bytes | BaseException | None]


def _read_into(
    blocks: _Blocks, read: Any, connection: Any, args: Any, stop: threading.Event
) -> None:
    """A reader thread: ``read(connection, *args, stop)``'s blocks put on ``blocks``, then its
    error if it failed (raised in the caller's thread), then None."""
    try:
        for block in read(connection, *args, stop):
            blocks.put(block)
    except BaseException as error:  # handed to the caller's thread, raised there
        blocks.put(error)
    finally:
        blocks.put(None)


def _prefetched(readers: Sequence[tuple[Any, ...]]) -> Iterator[bytes]:
    """The blocks of each ``(connection, read, *args)`` of ``readers``, ``read(connection,
    *args, stop)`` run by a thread of its own, taken from each in turn (reader 0's first block,
    reader 1's first block, ...) while the caller handles the one before. The caller must not
    use the connections meanwhile. A reader's error is raised in the caller's thread; every
    reader is stopped and joined either way."""
    stop = threading.Event()
    queues: list[_Blocks] = [queue.Queue(maxsize=2) for _ in readers]
    threads = [
        threading.Thread(
            target=_read_into,
            args=(blocks, read, connection, args, stop),
            name="close-reader",
            daemon=True,
        )
        for blocks, (connection, read, *args) in zip(queues, readers, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        live = list(queues)
        while live:
            for blocks in list(live):
                block = blocks.get()
                if block is None:
                    live.remove(blocks)
                    continue
                if isinstance(block, BaseException):
                    raise block
                yield block
    finally:
        stop.set()
        for blocks, thread in zip(queues, threads, strict=True):
            while thread.is_alive():  # unblock a reader waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    blocks.get(timeout=0.1)
            thread.join()


def _postgresql_blocks(
    connection: Any,
    start: datetime,
    end: datetime,
    members: list[str] | None,
    span: tuple[int, int],
    share: tuple[int, int],
    stop: threading.Event,
) -> Iterator[bytes]:
    """The blocks ``k, k + n, k + 2n, ...`` of ``span`` for ``share = (k, n)``."""
    from psycopg import sql
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class Raw(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> bytes:
            return bytes(data)

    where = sql.SQL("seq >= %s AND seq < %s AND time >= {} AND time < {}").format(
        sql.Literal(start), sql.Literal(end)
    )
    if members is not None:
        where = sql.SQL("{} AND account_sid = ANY({})").format(where, sql.Literal(members))
    # concat_ws drops a NULL argument altogether: every nullable field is coalesced to ''
    row = (
        f"concat_ws(E'\\x01', account_sid, event_id, {_PG_TIME}, type, coalesce(category, ''), "
        "coalesce(quantity::text, ''), coalesce(country, ''), coalesce(amount::text, ''))"
    )
    query = sql.SQL("SELECT string_agg({}, E'\\n') FROM events WHERE {}").format(
        sql.SQL(row), where
    )
    low, high = span
    k, n = share
    with connection.cursor(binary=True) as cursor:
        cursor.adapters.register_loader("text", Raw)
        for first in range(low + k * BLOCK_SEQS, high + 1, n * BLOCK_SEQS):
            if stop.is_set():
                return
            cursor.execute(query, (first, first + BLOCK_SEQS))
            found = cursor.fetchone()
            if found is not None and found[0] is not None:
                yield found[0]


def _sqlite_blocks(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    members: list[str] | None,
    span: tuple[int, int],
) -> Iterator[bytes]:
    where = "seq >= :low AND seq < :high AND time >= :start AND time < :end"
    params: dict[str, Any] = {"start": _bound(uow, start), "end": _bound(uow, end)}
    if members is not None:
        names = [f":m{i}" for i in range(len(members))]
        where += f" AND account_sid IN ({', '.join(names)})"
        params.update({f"m{i}": sid for i, sid in enumerate(members)})
    # time is naive UTC text with six decimals; its epoch in microseconds, exactly, from the
    # whole seconds and the digits after the point. strftime is given the seconds only: SQLite
    # keeps times in milliseconds, so it rounds 23:59:59.9995 up to the next second (the next
    # month, on the last one).
    micros = (
        "(CAST(strftime('%s', substr(time, 1, 19)) AS INTEGER) * 1000000"
        " + CAST(substr(time, 21, 6) AS INTEGER))"
    )
    fields = ["account_sid", "event_id", micros, "type"]
    fields += [f"ifnull({name}, '')" for name in ("category", "quantity", "country", "amount")]
    row = " || char(1) || ".join(fields)
    query = text(f"SELECT group_concat({row}, char(10)) FROM events WHERE {where}")
    session = uow.events.session
    low, high = span
    for first in range(low, high + 1, BLOCK_SEQS):
        found = session.execute(query, {**params, "low": first, "high": first + BLOCK_SEQS})
        block = found.scalar()
        if block is not None:
            yield block.encode()


def open_months(uow: UnitOfWork, month: str) -> tuple[set[str], set[str]]:
    """The billing accounts with an invoice of ``month`` that is not void, and those with a
    finalized invoice that bills ``month`` or later (adjustments are possible)."""
    session = uow.events.session
    current = set(
        session.scalars(
            select(InvoiceRow.account_sid).where(
                InvoiceRow.month == month, InvoiceRow.status != "void"
            )
        )
    )
    finalized = {
        owner
        for owner, other, billed in session.execute(
            select(InvoiceRow.account_sid, InvoiceRow.month, InvoiceRow.coverage).where(
                InvoiceRow.status == "finalized"
            )
        )
        if coverage.bills_up_to(other, coverage.parse(billed), month)
    }
    return current, finalized


@dataclass(frozen=True)
class NewDraft:
    """A new draft to insert: its invoice row's values and its lines' stored values (each
    line's decimals as the document's own decimal strings, in position order)."""

    values: dict[str, Any]
    lines: list[tuple[str | None, tuple[str | None, ...]]]


#: Keys of a document's line stored as they are (columns of the same names), in order.
LINE_KEYS: tuple[str, ...] = ("category", "kind", "pool", "tier", "quantity", "unit")
LINE_KEYS += ("unit_price", "precise_amount", "amount", "original_month")
_LINE_COLUMNS = ("invoice_id", "position", "account_sid", *LINE_KEYS)


def insert_drafts(uow: UnitOfWork, drafts: Sequence[NewDraft]) -> None:
    """Insert new drafts and their lines together: PostgreSQL by ``COPY``, SQLite by one
    multi-row insert for the invoices and one per 50,000 lines."""
    if not drafts:
        return
    if uow.dialect == "postgresql":
        _copy_drafts(uow, drafts)
        return
    table, lines_table = InvoiceRow.__table__, InvoiceLineRow.__table__
    assert isinstance(table, Table)
    assert isinstance(lines_table, Table)
    session = uow.events.session
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.execute(statement, [draft.values for draft in drafts]).scalars().all()
    rows = [
        _line_row(invoice_id, position, account, fields)
        for invoice_id, draft in zip(ids, drafts, strict=True)
        for position, (account, fields) in enumerate(draft.lines)
    ]
    for first in range(0, len(rows), 50_000):
        session.execute(insert(lines_table), rows[first : first + 50_000])


def _line_row(
    invoice_id: int, position: int, account: str | None, fields: tuple[str | None, ...]
) -> dict[str, Any]:
    """A line's row for the insert (the decimal columns take the document's decimal text:
    :class:`~ratecard.store.types.ExactDecimal` reads it as the same exact Decimal)."""
    named = dict(zip(LINE_KEYS, fields, strict=True))
    return {"invoice_id": invoice_id, "position": position, "account_sid": account, **named}


def _copy_drafts(uow: UnitOfWork, drafts: Sequence[NewDraft]) -> None:
    """``COPY ... FROM STDIN`` of the drafts and their lines inside the unit of work's
    transaction. The invoices' ids are taken from their sequence first, in ascending order as
    the multi-row insert gives them, so each line names its invoice. Line values are the
    document's decimal strings, which PostgreSQL parses as the same exact numerics."""
    from psycopg import sql

    invoices, lines = InvoiceRow.__tablename__, InvoiceLineRow.__tablename__
    connection = _driver(uow)
    names = ["id", *drafts[0].values]
    copy_invoices = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(invoices), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    copy_lines = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(lines), sql.SQL(", ").join(map(sql.Identifier, _LINE_COLUMNS))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (invoices, len(drafts)),
        )
        ids = sorted(int(row[0]) for row in cursor.fetchall())
        with cursor.copy(copy_invoices) as copy:
            for invoice_id, draft in zip(ids, drafts, strict=True):
                copy.write_row([invoice_id, *draft.values.values()])
        with cursor.copy(copy_lines) as copy:
            chunk: list[str] = []
            for invoice_id, draft in zip(ids, drafts, strict=True):
                for position, (account, fields) in enumerate(draft.lines):
                    shown = "\t".join(
                        "\\N" if value is None else copy_text(value) for value in (account, *fields)
                    )
                    chunk.append(f"{invoice_id}\t{position}\t{shown}\n")
                if len(chunk) >= 50_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            copy.write("".join(chunk))
