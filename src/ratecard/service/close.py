"""Fast month close: the month's events streamed from the store into the batch kernel.

:func:`generate` stores the same draft documents as :func:`ratecard.service.invoices.generate`
(tests compare them), for every billing account, in one transaction:

* Billing accounts whose month is plain metered usage (calls billed in whole minutes,
  messages, TaskRouter tasks, Studio engagements, usage records of whole quantities without a
  money amount) and who have no Flex instance and no number or Flex history are rated by the
  batch kernel (:mod:`ratecard.rating.batch`). Their events are read from the store as
  columns (PostgreSQL: ``string_agg`` per ``seq`` range; SQLite: one query), their bodies decoded by
  Polars, never by Python objects per event. Memory stays bounded: billing accounts are
  packed into shards of about ``shard_rows`` events, read and rated one shard at a time.
  PostgreSQL sends the bodies in blocks, each block one value, decoded while the next is
  read (:func:`_metered_postgresql`).
* Every other billing account takes the existing path (its events parsed and billed by
  :func:`ratecard.billing.monthly.bill_month`), so nothing is lost for features the kernel
  does not rate (number anniversaries, Flex seats and hours, fractional minutes).

Both kinds of documents are stored as the existing path stores them: new drafts in bulk
(:func:`store_documents`), everything else (replaced drafts, unchanged finals, late-event
adjustments) by the existing path's own :func:`ratecard.service.invoices._store`.

One billing account that cannot be rated (usage without a price, stored data the engine
refuses) does not stop the month: it is reported by sid with the reason (:class:`Failed`),
its draft is left as it was, and every other account is closed. Usage the kernel would find
unpriced is looked for before rating (:func:`_unpriced_owners`), so such an account takes the
existing path, which rates one account at a time and names it.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode
from typing import Any

import polars as pl
from sqlalchemy import Table, insert, select, text

from ratecard.accounts import Account, billing_accounts
from ratecard.billing import coverage
from ratecard.billing.invoice import Line
from ratecard.billing.monthly import bill_month
from ratecard.billing.periods import Month
from ratecard.billing.serialize import invoice_to_dict, line_to_dict
from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import RatecardError, RatingError
from ratecard.flex.history import FlexInstance
from ratecard.money import D, round_money, total
from ratecard.rating.batch import rate_frame
from ratecard.rating.columns import CATEGORICAL, QUANTITY_PLACES, SCHEMA
from ratecard.service.adjustments import Doc
from ratecard.service.invoices import Generated, _line_values, _store, existed, load_events
from ratecard.service.settings import Settings
from ratecard.store.database import Database, retrying
from ratecard.store.repositories import SPAN_TYPES, copy_text
from ratecard.store.tables import InvoiceLineRow, InvoiceRow
from ratecard.store.unit_of_work import UnitOfWork, load_instances
from ratecard.usage.normalize import DEFAULT_INCREMENT_SECONDS

#: Event types the fast path rates; any other type in or before the month sends the billing
#: account to the existing path.
FAST_TYPES = ("call", "message", "taskrouter_task", "studio_engagement", "usage")
_UNIT = 10**QUANTITY_PLACES
#: Times as the canonical JSON writes them (UTC, ``Z``; fractional seconds when present).
_TIME = "%Y-%m-%dT%H:%M:%S%.fZ"
_BODY = pl.Struct(
    {
        "id": pl.String,
        "account": pl.String,
        "time": pl.String,
        "type": pl.String,
        "direction": pl.String,
        "number_type": pl.String,
        "duration_seconds": pl.Int64,
        "channel": pl.String,
        "segments": pl.Int64,
        "category": pl.String,
        "quantity": pl.String,
        "amount": pl.String,
        "country": pl.String,
    }
)
_WHOLE = re.compile(r"^[0-9]+$").pattern
#: Events per shard (billing accounts are packed whole into shards of about this many events;
#: each shard is one read of the month's events and one run of the kernel). 10M events in one
#: shard peaked at 4.8 GB RSS on PostgreSQL (bench/RESULTS.md).
SHARD_ROWS = 12_000_000


@dataclass(frozen=True)
class Failed:
    """A billing account whose month could not be rated, and why (its draft is untouched)."""

    account: str
    month: str
    reason: str


@dataclass(frozen=True)
class Closed:
    """A month close: what was stored per billing account, and the accounts that failed."""

    generated: list[Generated]
    failed: list[Failed] = field(default_factory=list)


def generate(
    db: Database,
    month: Month,
    settings: Settings,
    now: datetime | None = None,
    shard_rows: int = SHARD_ROWS,
) -> Closed:
    """Compute and store draft invoices of ``month`` for every billing account (fast path);
    an account that cannot be rated is reported in ``failed`` and the others are stored."""
    catalog = load_catalog(settings.catalog)

    def work() -> Closed:
        with UnitOfWork(db) as uow:
            uow.events.freeze()
            accounts = uow.accounts.list()
            through = uow.events.last_seq()
            flex = load_instances(uow)
            failed: list[Failed] = []
            docs = month_documents(uow, catalog, accounts, month, flex, shard_rows, failed)
            docs = [doc for doc in docs if existed(doc, accounts, month)]
            moment = now or datetime.now(UTC)
            results = store_documents(uow, catalog, accounts, docs, month, through, moment, failed)
            uow.commit()
            return Closed(results, failed)

    return retrying(work)


def store_documents(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    docs: Sequence[Doc],
    month: Month,
    through: int,
    now: datetime,
    failed: list[Failed] | None = None,
) -> list[Generated]:
    """Store the drafts as :func:`ratecard.service.invoices._store` does, in bulk.

    A billing account with no invoice for the month and no finalized earlier month (no
    adjustments possible) gets a new draft: those are inserted together (one multi-row insert
    for the invoices, one for their lines). Every other one goes through ``_store`` itself;
    one whose adjustments cannot be rated is added to ``failed`` (raised without a list).
    """
    session = uow.events.session
    table, lines_table = InvoiceRow.__table__, InvoiceLineRow.__table__
    assert isinstance(table, Table)
    assert isinstance(lines_table, Table)
    current = set(
        session.scalars(
            select(InvoiceRow.account_sid).where(
                InvoiceRow.month == str(month), InvoiceRow.status != "void"
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
        if coverage.bills_up_to(other, coverage.parse(billed), str(month))
    }
    results: list[Generated] = []
    new: list[tuple[dict[str, Any], Doc]] = []
    for doc in docs:
        owner = doc["account"]
        if owner in current or owner in finalized:
            try:  # _store rates (adjustments) before it writes: a refusal writes nothing
                results.append(_store(uow, catalog, accounts, doc, month, through, now))
            except RatecardError as exc:
                if failed is None:
                    raise
                failed.append(Failed(owner, str(month), str(exc)))
            continue
        values = {
            "account_sid": owner,
            "month": str(month),
            "status": "draft",
            "currency": doc["currency"],
            "total": D(doc["total"]),
            "document": rendered(doc),
            "through_seq": through,
            "basis": "",
            "coverage": coverage.render({str(month): coverage.upto(through)}),
            "generated_at": now,
            "finalized_at": None,
            "voided_at": None,
        }
        new.append((values, doc))
        results.append(Generated(owner, str(month), "created", doc["total"], doc["currency"]))
    if not new:
        return results
    if uow.dialect == "postgresql":
        _copy_new(uow, new)
        return results
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.execute(statement, [values for values, _ in new]).scalars().all()
    rows = [
        {
            "invoice_id": invoice_id,
            "position": position,
            "account_sid": line.account,
            "category": line.category,
            "kind": line.kind,
            "pool": line.pool,
            "tier": line.tier,
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price": line.unit_price,
            "precise_amount": line.precise_amount,
            "amount": line.amount,
            "original_month": line.original_month,
        }
        for invoice_id, (_, doc) in zip(ids, new, strict=True)
        for position, line in enumerate(_line_values(doc))
    ]
    for start in range(0, len(rows), 50_000):
        session.execute(insert(lines_table), rows[start : start + 50_000])
    return results


#: Keys of a document's line stored as they are (columns of the same names).
_LINE_KEYS: tuple[str, ...] = ("category", "kind", "pool", "tier", "quantity", "unit")
_LINE_KEYS += ("unit_price", "precise_amount", "amount")
#: Columns of a stored invoice line, in the order :func:`_line_rows` writes them.
_LINE_COLUMNS = ("invoice_id", "position", "account_sid", *_LINE_KEYS, "original_month")


def _copy_new(uow: UnitOfWork, new: list[tuple[dict[str, Any], Doc]]) -> None:
    """Insert new drafts and their lines by ``COPY ... FROM STDIN`` (PostgreSQL) inside the
    unit of work's transaction. The invoices' ids are taken from their sequence first, in
    ascending order as the multi-row insert gives them, so each line names its invoice.

    Line values are the document's own decimal strings (quantity, unit price, precise and
    rounded amounts: exactly the values :func:`_line_values` reads, as PostgreSQL parses the
    same text the Decimal would be written as); no Decimal object per value.
    """
    from psycopg import sql

    invoices, lines = InvoiceRow.__tablename__, InvoiceLineRow.__tablename__
    connection = _driver(uow)
    names = ["id", *new[0][0]]
    copy_invoices = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(invoices), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    copy_lines = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(lines), sql.SQL(", ").join(map(sql.Identifier, _LINE_COLUMNS))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (invoices, len(new)),
        )
        ids = sorted(int(row[0]) for row in cursor.fetchall())
        with cursor.copy(copy_invoices) as copy:
            for invoice_id, (values, _) in zip(ids, new, strict=True):
                copy.write_row([invoice_id, *values.values()])
        with cursor.copy(copy_lines) as copy:
            text: list[str] = []
            for invoice_id, (_, doc) in zip(ids, new, strict=True):
                text.extend(_line_rows(invoice_id, doc))
                if len(text) >= 50_000:
                    copy.write("".join(text))
                    text.clear()
            copy.write("".join(text))


def _driver(uow: UnitOfWork) -> Any:
    """The unit of work's psycopg 3 connection (PostgreSQL), inside its transaction."""
    connection = uow.events.session.connection().connection.driver_connection
    assert connection is not None
    return connection


def _line_rows(invoice_id: int, doc: Doc) -> Iterator[str]:
    """The document's lines as rows of ``COPY`` text: the values of :func:`_line_values`."""
    sections: list[tuple[str | None, list[Doc]]] = [(None, doc["lines"])]
    sections += [(part["account"], part["lines"]) for part in doc["subaccounts"]]
    position = 0
    for account, group in sections:
        for line in group:
            fields = (account, *(line[key] for key in _LINE_KEYS), line.get("original_month"))
            shown = "\t".join("\\N" if value is None else copy_text(str(value)) for value in fields)
            yield f"{invoice_id}\t{position}\t{shown}\n"
            position += 1


def rendered(doc: Doc) -> str:
    """:func:`ratecard.service.invoices.render` (``json.dumps(doc, indent=2,
    ensure_ascii=False)``), character for character, several times faster: the standard
    library encodes indented JSON in pure Python generators."""
    return _json(doc, "\n")


def _json(value: Any, newline: str) -> str:
    if isinstance(value, str):
        return _encode(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{_encode(str(k))}: {_json(v, inner)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_json(v, inner) for v in value) + newline + "]"
    return json.dumps(value, ensure_ascii=False)  # anything else: as json would (or its error)


def month_documents(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    month: Month,
    flex: Mapping[str, FlexInstance],
    shard_rows: int = SHARD_ROWS,
    failed: list[Failed] | None = None,
) -> list[Doc]:
    """The invoice documents of every billing account for ``month``, in the existing order.

    With a ``failed`` list, a billing account that cannot be rated is added to it (sid and
    reason) and has no document; without one, its error is raised."""
    owners = billing_accounts(accounts)
    if uow.dialect == "postgresql":
        # Compiling the survey's expressions (JIT) took ~1.2 s of its ~5 s at 10M events
        # and speeds nothing up here: off for this transaction only.
        uow.events.session.execute(text("SET LOCAL jit = off"))
    counts, other, seqs = _survey(uow, month)
    slow = {owners[sid] for sid in [*flex, *other] if sid in owners}
    fast: dict[str, Doc] = {}
    for members in _shards(counts, owners, slow, shard_rows):
        if uow.dialect == "postgresql":
            span = _span(seqs, members)
            metered = _metered_postgresql(uow, month, members, span, catalog, owners)
        else:
            metered = _metered(_read(uow, month, members), catalog, owners)
        usage, refused = _split(metered)
        slow |= refused | _unpriced_owners(usage, catalog, month)
        try:
            fast.update(_fast_documents(usage, catalog, accounts, month, slow))
        except RatingError:
            if failed is None:
                raise
            # one account refused (int64 bound, ...): each of the shard's is rated alone
            slow |= set(usage["billing_account"].unique().drop_nulls().to_list())
    docs = []
    children = _children(accounts)
    for account in accounts:
        if account.parent is not None:
            continue
        if account.sid in slow:
            members = [account.sid, *(a.sid for a in children.get(account.sid, []))]
            try:
                events = load_events(uow, members, month)
                (invoice,) = bill_month(catalog, accounts, events, month, account.sid, flex)
            except RatecardError as exc:
                if failed is None:
                    raise
                failed.append(Failed(account.sid, str(month), str(exc)))
                continue
            docs.append(invoice_to_dict(invoice))
        else:
            empty = _document(catalog, children, account, month, {})
            docs.append(fast.get(account.sid) or empty)
    return docs


def _survey(
    uow: UnitOfWork, month: Month
) -> tuple[dict[str, int], set[str], dict[str, tuple[int, int]]]:
    """One scan of the events: each account's count in the month, the accounts with an event
    the fast path does not rate (another type in or before the month, or a span), and each
    account's lowest and highest ``seq`` in the month."""
    fast = ", ".join(f"'{t}'" for t in FAST_TYPES)
    spans = ", ".join(f"'{t}'" for t in SPAN_TYPES)
    within = "time >= :start AND time < :end"
    query = text(
        f"SELECT account_sid, SUM(CASE WHEN {within} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN (time < :end AND type NOT IN ({fast})) OR type IN ({spans}) "
        f"THEN 1 ELSE 0 END), MIN(CASE WHEN {within} THEN seq END), "
        f"MAX(CASE WHEN {within} THEN seq END) FROM events GROUP BY account_sid"
    )
    params = {"start": _bound(uow, month.start), "end": _bound(uow, month.end)}
    counts: dict[str, int] = {}
    other: set[str] = set()
    seqs: dict[str, tuple[int, int]] = {}
    for sid, count, others, low, high in uow.events.session.execute(query, params):
        if count:
            counts[sid] = int(count)
            seqs[sid] = (int(low), int(high))
        if others:
            other.add(sid)
    return counts, other, seqs


def _span(seqs: dict[str, tuple[int, int]], members: list[str] | None) -> tuple[int, int]:
    """The lowest and highest ``seq`` of the month's events of ``members`` (None: everyone);
    ``(1, 0)`` when they have none."""
    spans = list(seqs.values()) if members is None else [seqs[m] for m in members if m in seqs]
    if not spans:
        return 1, 0
    return min(low for low, _ in spans), max(high for _, high in spans)


def _bound(uow: UnitOfWork, moment: datetime) -> Any:
    """A time bound as the store writes it (SQLite keeps naive UTC text)."""
    if uow.dialect == "postgresql":
        return moment
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _shards(
    counts: dict[str, int], owners: dict[str, str], slow: set[str], limit: int
) -> list[list[str] | None]:
    """Member sids per shard (None: everything in one shard); a billing account is whole."""
    per_owner: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for sid, count in counts.items():
        owner = owners.get(sid)
        if owner is None or owner in slow:
            continue
        per_owner.setdefault(owner, []).append(sid)
        rows[owner] = rows.get(owner, 0) + count
    if sum(rows.values()) <= limit and not slow:
        return [None]
    shards: list[list[str] | None] = []
    current: list[str] = []
    size = 0
    for owner in sorted(per_owner):
        if current and size + rows[owner] > limit:
            shards.append(current)
            current, size = [], 0
        current.extend(per_owner[owner])
        size += rows[owner]
    if current:
        shards.append(current)
    return shards


def _read(uow: UnitOfWork, month: Month, members: list[str] | None) -> pl.DataFrame:
    """The bodies of the month's events of ``members`` (None: of everyone), one column
    (SQLite; PostgreSQL reads in blocks, :func:`_metered_postgresql`)."""
    where = "time >= :start AND time < :end"
    params: dict[str, Any] = {"start": _bound(uow, month.start), "end": _bound(uow, month.end)}
    if members is not None:
        names = [f":m{i}" for i in range(len(members))]
        where += f" AND account_sid IN ({', '.join(names)})"
        params.update({f"m{i}": sid for i, sid in enumerate(members)})
    result = uow.events.session.execute(text(f"SELECT body FROM events WHERE {where}"), params)
    bodies: list[str] = []
    for chunk in result.partitions(200_000):
        bodies.extend(row[0] for row in chunk)
    return pl.DataFrame({"body": bodies}, schema={"body": pl.String})


#: Events per block of bodies read from PostgreSQL (by ``seq`` range) and decoded together.
BLOCK_SEQS = 250_000


def _metered_postgresql(
    uow: UnitOfWork,
    month: Month,
    members: list[str] | None,
    span: tuple[int, int],
    catalog: Catalog,
    owners: dict[str, str],
) -> pl.DataFrame:
    """:func:`_metered` of the month's events of ``members`` (None: of everyone), read and
    decoded in blocks that overlap: a reader thread fetches the bodies of one ``seq`` range
    after another (:func:`_bodies`) while this thread decodes the block before.

    Each block comes back as ONE value (``string_agg`` of the bodies, one per line): the
    server joins the rows, so the client pays no per-row message (``COPY ... TO STDOUT``
    sends one per row, about 1 us of Python each). The reader uses the unit of work's own
    connection (same transaction, same snapshot); this thread does not touch it meanwhile.
    """
    connection = _driver(uow)  # taken here: the session is not for other threads
    blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        try:
            for block in _bodies(connection, month, members, span, stop):
                blocks.put(block)
        except BaseException as error:  # handed to the decoding thread, raised there
            blocks.put(error)
        finally:
            blocks.put(None)

    reader = threading.Thread(target=read, name="close-reader", daemon=True)
    reader.start()
    frames: list[pl.DataFrame] = []
    try:
        while (block := blocks.get()) is not None:
            if isinstance(block, BaseException):
                raise block
            frames.append(_metered(_lines(block), catalog, owners))
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.1)
        reader.join()
    if not frames:
        return _metered(pl.DataFrame(schema={"body": pl.String}), catalog, owners)
    return pl.concat(frames, rechunk=False)


def _bodies(
    connection: Any,
    month: Month,
    members: list[str] | None,
    span: tuple[int, int],
    stop: threading.Event,
) -> Iterator[bytes]:
    """The bodies of the month's events of ``members`` with ``seq`` in ``span``, in blocks of
    :data:`BLOCK_SEQS` sequence numbers, each block the bodies' UTF-8 bytes one per line (a
    canonical JSON body has no raw line break)."""
    from psycopg import sql
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class Raw(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> bytes:
            return bytes(data)

    where = sql.SQL("seq >= %s AND seq < %s AND time >= {} AND time < {}").format(
        sql.Literal(month.start), sql.Literal(month.end)
    )
    if members is not None:
        where = sql.SQL("{} AND account_sid = ANY({})").format(where, sql.Literal(members))
    query = sql.SQL("SELECT string_agg(body, E'\\n') FROM events WHERE {}").format(where)
    low, high = span
    with connection.cursor(binary=True) as cursor:
        cursor.adapters.register_loader("text", Raw)
        for start in range(low, high + 1, BLOCK_SEQS):
            if stop.is_set():
                return
            cursor.execute(query, (start, start + BLOCK_SEQS))
            row = cursor.fetchone()
            if row is not None and row[0] is not None:
                yield row[0]


def _lines(block: bytes) -> pl.DataFrame:
    """One body per line of ``block``, as the ``body`` column (no CSV quoting: a canonical
    JSON body has no raw control character, so ``\\x01`` never occurs in one)."""
    return pl.read_csv(
        io.BytesIO(block),
        has_header=False,
        separator="\x01",
        quote_char=None,
        new_columns=["body"],
        schema_overrides={"body": pl.String},
    )


def _metered(frame: pl.DataFrame, catalog: Catalog, owners: dict[str, str]) -> pl.DataFrame:
    """Usage columns (:mod:`ratecard.rating.columns`) of the events' bodies, as normalize
    meters them (quantities in integer micro-units, exact); a null quantity where an event
    cannot be a column (see :func:`_split`)."""
    body = pl.col("body").str.json_decode(_BODY)
    frame = frame.select(body.alias("b")).unnest("b").rename({"id": "event_id"})
    moment = pl.col("time").str.to_datetime(_TIME, time_unit="us", time_zone="UTC")
    frame = frame.with_columns(time=moment.dt.epoch("us"))
    kind = pl.col("type")
    call_category = (
        pl.when(pl.col("direction") == "inbound")
        .then(pl.concat_str(pl.lit("calls-inbound-"), pl.col("number_type")))
        .otherwise(pl.lit("calls-outbound"))
    )
    # normalize.message_category as columns: mms-<direction>, sms-<direction>[-<channel>]
    message_category = (
        pl.when(pl.col("channel") == "mms")
        .then(pl.concat_str(pl.lit("mms-"), pl.col("direction")))
        .otherwise(
            pl.concat_str(
                pl.lit("sms-"),
                pl.col("direction"),
                pl.when(pl.col("channel") == "longcode")
                .then(pl.lit(""))
                .otherwise(pl.concat_str(pl.lit("-"), pl.col("channel"))),
            )
        )
    )
    category = (
        pl.when(kind == "call")
        .then(call_category)
        .when(kind == "message")
        .then(message_category)
        .when(kind == "taskrouter_task")
        .then(pl.lit("taskrouter-tasks"))
        .when(kind == "studio_engagement")
        .then(pl.lit("studio-engagements"))
        .otherwise(pl.col("category"))
    )
    frame = frame.with_columns(category=category)
    increments = {
        name: known.increment_seconds or DEFAULT_INCREMENT_SECONDS
        for name, known in catalog.categories.items()
    }
    increment = (
        pl.col("category")
        .replace_strict(increments, default=DEFAULT_INCREMENT_SECONDS, return_dtype=pl.Int64)
        .cast(pl.Int64)
    )
    billed = (pl.col("duration_seconds") + increment - 1) // increment * increment
    whole_usage = pl.col("quantity").str.contains(_WHOLE) & pl.col("amount").is_null()
    usage_units = pl.when(whole_usage).then(pl.col("quantity").cast(pl.Int64, strict=False))
    quantity = (
        pl.when(kind == "call")
        .then(pl.when(billed % 60 == 0).then(billed // 60))
        .when(kind == "message")
        .then(pl.col("segments"))
        .when(kind.is_in(["taskrouter_task", "studio_engagement"]))
        .then(pl.lit(1, dtype=pl.Int64))
        .when(kind == "usage")
        .then(usage_units)
    )
    owner = pl.col("account").replace_strict(owners, default=None, return_dtype=pl.String)
    frame = frame.with_columns(
        quantity=quantity * _UNIT,
        billing_account=owner,
        country=pl.when(kind.is_in(["taskrouter_task", "studio_engagement"]))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col("country")),
    )
    frame = frame.select(list(SCHEMA))
    return frame.with_columns(pl.col(*CATEGORICAL).cast(pl.Categorical))


def _split(metered: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    """The usage the kernel rates, and the billing accounts it must not rate: those with a
    null quantity (fractional minutes, a usage record with decimals or a money amount)."""
    nulls = metered.filter(pl.col("quantity").is_null())["billing_account"]
    refused = set(nulls.unique().to_list())
    usage = metered.filter(~pl.col("billing_account").is_in(list(refused)))
    return usage, {r for r in refused if r is not None}


def _unpriced_owners(usage: pl.DataFrame, catalog: Catalog, month: Month) -> set[str]:
    """The billing accounts with usage some catalog version in force in ``month`` has no
    price for: the kernel refuses a whole shard for one such row, the existing path names
    the account (all of them when the month precedes the catalog)."""
    pairs = usage.select(
        pl.col("billing_account").cast(pl.String),
        pl.col("category").cast(pl.String),
        pl.col("country").cast(pl.String),
    ).unique()
    try:
        versions = [catalog.at(month.start)]
    except RatingError:
        return set(pairs["billing_account"].drop_nulls().to_list())
    first, last = month.start.date(), month.end.date()
    versions += [v for v in catalog.versions if first < v.effective < last]
    unpriced: set[str] = set()
    for owner, category, country in pairs.iter_rows():
        if any(v.charge_for(category, country) is None for v in versions):
            unpriced.add(owner)
    return unpriced


def _fast_documents(
    usage: pl.DataFrame,
    catalog: Catalog,
    accounts: Sequence[Account],
    month: Month,
    slow: set[str],
) -> dict[str, Doc]:
    usage = usage.filter(~pl.col("billing_account").is_in(list(slow)))
    if usage.is_empty():
        return {}
    result = rate_frame(catalog, usage)
    by_owner = result.counted_lines()
    children = _children(accounts)
    by_account = result.counted_lines(by_account=True, owners=sorted(children))
    lines: dict[tuple[str, str | None], list[tuple[Line, int]]] = {}
    for (owner, account, key_month), group in [*by_owner.items(), *by_account.items()]:
        if key_month == month:
            lines[(owner, account)] = group
    owners = set(usage["billing_account"].unique().to_list())
    return {
        account.sid: _document(catalog, children, account, month, lines)
        for account in accounts
        if account.sid in owners
    }


def _children(accounts: Sequence[Account]) -> dict[str, list[Account]]:
    """Each parent's subaccounts, in the order of ``accounts``."""
    children: dict[str, list[Account]] = {}
    for account in accounts:
        if account.parent is not None:
            children.setdefault(account.parent, []).append(account)
    return children


def _document(
    catalog: Catalog,
    children: Mapping[str, list[Account]],
    account: Account,
    month: Month,
    lines: dict[tuple[str, str | None], list[tuple[Line, int]]],
) -> Doc:
    """The document :func:`invoice_to_dict` gives for the same lines (event counts kept)."""
    members = [account, *children.get(account.sid, [])]
    currency = catalog.currency

    def shown(group: list[tuple[Line, int]]) -> list[Doc]:
        return [{**line_to_dict(line), "event_count": count} for line, count in group]

    def summed(group: list[tuple[Line, int]]) -> str:
        return str(round_money(total(line.amount for line, _ in group), currency))

    own = lines.get((account.sid, None), [])
    subaccounts = []
    if len(members) > 1:
        for member in members:
            group = lines.get((account.sid, member.sid), [])
            subaccounts.append(
                {
                    "account": member.sid,
                    "name": member.name,
                    "lines": shown(group),
                    "total": summed(group),
                }
            )
    return {
        "account": account.sid,
        "name": account.name,
        "month": str(month),
        "currency": currency,
        "catalog": catalog.label(month.start),
        "lines": shown(own),
        "subaccounts": subaccounts,
        "total": summed(own),
    }
