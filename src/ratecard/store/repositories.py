"""Repositories: all the SQL of ratecard. They never commit; the unit of work's owner does.

Rows cross this boundary as plain values (:class:`~ratecard.accounts.Account`, canonical event
JSON, :class:`StoredInvoice`), never as ORM objects, so the service and the core stay free of
the database. The repositories implement the services' ports (:mod:`ratecard.service.ports`,
whose values they take and return; ``StoredInvoice`` and ``LineValues`` are re-exported here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import FlushError

from ratecard.accounts import Account
from ratecard.billing import coverage
from ratecard.billing.coverage import Ranges
from ratecard.errors import NotFoundError, StateError
from ratecard.service.ports import HISTORY_TYPES, SPAN_TYPES, LineValues, StoredInvoice
from ratecard.store.tables import AccountRow, EventRow, InvoiceLineRow, InvoiceRow
from ratecard.usage.events import NewEvent

_KEY_CHUNK = 500


def refused(exc: Exception) -> str:
    """Which rule of the schema refused a flush: ``unique`` (a primary key or unique
    constraint, or an object already in the session under that key) or ``foreign`` (a row
    naming one that does not exist)."""
    if isinstance(exc, FlushError):
        return "unique"
    cause = exc.orig if isinstance(exc, IntegrityError) else exc
    if isinstance(cause, psycopg.errors.ForeignKeyViolation) or "FOREIGN KEY" in str(cause):
        return "foreign"
    return "unique"


def flush_or_refuse(session: Session, duplicate: str, missing: str) -> None:
    """Flush ``session``; what the schema refuses is raised as the ratecard error the
    in-memory store raises: :class:`StateError` (``duplicate``) or :class:`NotFoundError`
    (``missing``). The session is rolled back by then; the unit of work is over."""
    try:
        session.flush()
    except (IntegrityError, FlushError) as exc:
        if refused(exc) == "foreign":
            raise NotFoundError(missing) from exc
        raise StateError(duplicate) from exc


def _account(row: AccountRow) -> Account:
    return Account(row.sid, row.name, row.created, row.created_with_flex, row.parent_sid)


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: Account, token_hash: str, recorded_at: datetime) -> None:
        self.session.add(
            AccountRow(
                sid=account.sid,
                name=account.name,
                parent_sid=account.parent,
                created=account.created,
                created_with_flex=account.created_with_flex,
                auth_token_hash=token_hash,
                recorded_at=recorded_at,
            )
        )
        flush_or_refuse(
            self.session,
            f"account {account.sid} already exists",
            f"parent account {account.parent} does not exist",
        )

    def get(self, sid: str) -> Account | None:
        row = self.session.get(AccountRow, sid)
        return None if row is None else _account(row)

    def token_hash(self, sid: str) -> str | None:
        return self.session.scalar(select(AccountRow.auth_token_hash).where(AccountRow.sid == sid))

    def set_token_hash(self, sid: str, token_hash: str) -> bool:
        """Replace an account's token hash; False when the account does not exist."""
        changed = self.session.execute(
            update(AccountRow).where(AccountRow.sid == sid).values(auth_token_hash=token_hash)
        )
        return bool(changed.rowcount)  # type: ignore[attr-defined]

    def list(self) -> list[Account]:
        rows = self.session.scalars(select(AccountRow).order_by(AccountRow.created, AccountRow.sid))
        return [_account(row) for row in rows]

    def parents(self, sids: Iterable[str]) -> dict[str, str | None]:
        """Each stored account among ``sids`` with its parent (None for a parent account)."""
        wanted = sorted(set(sids))
        found: dict[str, str | None] = {}
        for i in range(0, len(wanted), _KEY_CHUNK):
            chunk = wanted[i : i + _KEY_CHUNK]
            rows = self.session.execute(
                select(AccountRow.sid, AccountRow.parent_sid).where(AccountRow.sid.in_(chunk))
            )
            for sid, parent in rows:
                found[sid] = parent
        return found


def _bears_on(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Events that may change the charges of ``[start, end)``: those in it, the history
    types before it, and sessions whatever their report time (they are clipped to the month)."""
    return or_(
        and_(EventRow.time >= start, EventRow.time < end),
        and_(EventRow.time < start, EventRow.type.in_(HISTORY_TYPES)),
        EventRow.type.in_(SPAN_TYPES),
    )


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """``value`` as a field of PostgreSQL's ``COPY ... FROM STDIN`` text format (backslash,
    tab, newline and carriage return escaped)."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


#: The columns of a stored event, in the order of :func:`_copy_fields` (after ``seq``).
EVENT_COLUMNS = "account_sid, event_id, type, time, body, category, quantity, country, amount"


def _copy_fields(event: NewEvent) -> str:
    """An event's account, id, type, time, body and rating columns as COPY text fields. A
    body is canonical JSON, which escapes every control character, so only its backslashes
    need doubling."""
    body = event.body.replace("\\", "\\\\")
    # with its offset (or Z): the server reads it as that instant
    moment = event.stamp or event.time.isoformat()
    category, quantity, country, amount = event.metering
    rating = "\t".join(
        "\\N" if value is None else copy_text(str(value))
        for value in (category, quantity, country, amount)
    )
    return f"{event.account}\t{copy_text(event.event_id)}\t{event.type}\t{moment}\t{body}\t{rating}"


def _copy_line(seq: int, event: NewEvent) -> str:
    """An event with its ``seq`` as a line of COPY text."""
    return f"{seq}\t{_copy_fields(event)}\n"


def _in_key_order(seqs: Sequence[int], events: Sequence[NewEvent]) -> list[tuple[int, NewEvent]]:
    """``(seq, event)`` pairs, the numbers given out in the batch's order, sorted by
    (account, event id) code point by code point: the one order every writer inserts in."""
    pairs = zip(seqs, events, strict=True)
    return sorted(pairs, key=lambda pair: (pair[1].account, pair[1].event_id))


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def insert_new(self, events: Sequence[NewEvent], stored_at: datetime) -> set[tuple[str, str]]:
        """Insert the events whose (account, id) is not stored yet; return the inserted keys.

        One ``INSERT ... ON CONFLICT DO NOTHING``: the unique constraint, not a prior read,
        decides, so concurrent writers of the same events store each exactly once.
        """
        if not events:
            return set()
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            return self._insert_new_postgresql(events, stored_at)
        insert = sqlite.insert
        table = cast(Table, EventRow.__table__)
        statement = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["account_sid", "event_id"])
            .returning(table.c.account_sid, table.c.event_id)
        )
        params = [
            {
                "account_sid": e.account,
                "event_id": e.event_id,
                "type": e.type,
                "time": e.time,
                "body": e.body,
                "stored_at": stored_at,
                **e.metering._asdict(),
            }
            for e in events
        ]
        result = self.session.connection().execute(statement, params)
        return {(row[0], row[1]) for row in result}

    def _insert_new_postgresql(
        self, events: Sequence[NewEvent], stored_at: datetime
    ) -> set[tuple[str, str]]:
        """The same insert on PostgreSQL, by ``COPY`` (text format, one line per event): no
        row placeholders, no JSON to build or unpack; bodies round-trip exactly.

        The keys already stored are read first (one join) and the others are copied straight
        into ``events``, inside a savepoint: about half the server time of staging them. If a
        concurrent writer stored one of them meanwhile, the unique constraint refuses the copy,
        the savepoint is rolled back and the batch takes the staged path, where the
        constraint decides row by row (:meth:`_insert_staged`).

        Rows are written in key order, (account, event id) by code point, never in the
        batch's order: a writer that meets a key another open transaction inserted waits for
        it, and two writers of the same keys in different orders each waited for the other
        (DeadlockDetected, issue 12). In one order, the first to reach a shared key goes
        first and the other waits without holding anything the first needs. ``seq`` still
        follows the batch's order: the numbers are drawn first and given out in batch order
        (:meth:`_seqs`)."""
        connection = self.session.connection().connection.driver_connection
        assert connection is not None
        with connection.cursor() as cursor:
            stored = self._stored_keys(cursor, events)
            new = [e for e in events if (e.account, e.event_id) not in stored]
            if not new:
                return set()
            rows = _in_key_order(self._seqs(cursor, len(new)), new)
            moment = stored_at.astimezone(UTC).isoformat()
            cursor.execute("SAVEPOINT ratecard_direct_copy")
            try:
                with cursor.copy(
                    f"COPY events (seq, {EVENT_COLUMNS}, stored_at) FROM STDIN"
                ) as copy:
                    text = [f"{seq}\t{_copy_fields(e)}\t{moment}\n" for seq, e in rows]
                    copy.write("".join(text))
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT ratecard_direct_copy")
                return self._insert_staged(cursor, rows, stored_at)
            cursor.execute("RELEASE SAVEPOINT ratecard_direct_copy")
            return {(e.account, e.event_id) for e in new}

    @staticmethod
    def _seqs(cursor: psycopg.Cursor[Any], count: int) -> list[int]:
        """``count`` new ingestion sequence numbers, ascending.

        The table's ROW EXCLUSIVE lock is taken first, as an insert takes it: numbers drawn
        before it could be stored after a month close read the highest stored ``seq`` under
        its SHARE lock (:meth:`freeze`), below that high-water mark and so never seen."""
        cursor.execute("LOCK TABLE events IN ROW EXCLUSIVE MODE")
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('events', 'seq')) FROM generate_series(1, %s)",
            (count,),
        )
        return sorted(int(row[0]) for row in cursor.fetchall())

    @staticmethod
    def _stored_keys(
        cursor: psycopg.Cursor[Any], events: Sequence[NewEvent]
    ) -> set[tuple[str, str]]:
        """The (account, id) keys of ``events`` already stored: one join on the keys, sent as
        two JSON arrays (json.dumps is C; adapting two 1,100-item lists to text[] parameters
        cost ~4 ms of Python per batch)."""
        cursor.execute(
            "SELECT e.account_sid, e.event_id FROM events e "
            "JOIN ROWS FROM (json_array_elements_text(%s::json), "
            "json_array_elements_text(%s::json)) AS k(a, i) "
            "ON e.account_sid = k.a AND e.event_id = k.i",
            (json.dumps([e.account for e in events]), json.dumps([e.event_id for e in events])),
        )
        return set(cursor.fetchall())

    def _insert_staged(
        self,
        cursor: psycopg.Cursor[Any],
        rows: Sequence[tuple[int, NewEvent]],
        stored_at: datetime,
    ) -> set[tuple[str, str]]:
        """The batch (``(seq, event)`` pairs in key order) sent with ``COPY`` into a temporary
        table of this connection, emptied at each commit, and moved into ``events`` by ONE
        ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` in the same key order: the unique
        constraint decides each row, whatever concurrent writers do."""
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS ratecard_event_stage (n int, seq bigint, "
            "account_sid text, event_id text, type text, time timestamptz, body text, "
            "category text, quantity numeric, country text, amount numeric) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY ratecard_event_stage (n, seq, {EVENT_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join([f"{n}\t{_copy_line(*row)}" for n, row in enumerate(rows)]))
        # emptying the stage in the same statement keeps it empty for a next batch
        cursor.execute(
            "WITH staged AS (DELETE FROM ratecard_event_stage RETURNING *) "
            f"INSERT INTO events (seq, {EVENT_COLUMNS}, stored_at) "
            f"SELECT seq, {EVENT_COLUMNS}, %s FROM staged ORDER BY n "
            "ON CONFLICT (account_sid, event_id) DO NOTHING RETURNING account_sid, event_id",
            (stored_at.astimezone(UTC),),
        )
        return set(cursor.fetchall())

    def bodies(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored canonical JSON of each stored (account, event id) among ``keys``."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str], str] = {}
        if wanted and self.session.get_bind().dialect.name == "postgresql":
            # one join against the keys as a JSON parameter (a row-value IN list of
            # thousands of pairs is slow to plan and to send)
            rows = self.session.execute(
                text(
                    "SELECT e.account_sid, e.event_id, e.body FROM events e JOIN "
                    "json_to_recordset(CAST(:keys AS json)) AS k(a text, i text) "
                    "ON e.account_sid = k.a AND e.event_id = k.i"
                ),
                {"keys": json.dumps([{"a": a, "i": i} for a, i in wanted])},
            )
            return {(a, e): body for a, e, body in rows}
        pair = tuple_(EventRow.account_sid, EventRow.event_id)
        for i in range(0, len(wanted), _KEY_CHUNK):
            chunk = wanted[i : i + _KEY_CHUNK]
            rows = self.session.execute(
                select(EventRow.account_sid, EventRow.event_id, EventRow.body).where(
                    pair.in_(chunk)
                )
            )
            found.update({(a, e): body for a, e, body in rows})
        return found

    def for_billing(
        self, accounts: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[str]:
        """Canonical JSON of events that bear on ``[start, end)``, in storage order.

        Events in the period, plus number history before it (anniversary charges).
        """
        query = select(EventRow.body).where(_bears_on(start, end))
        if accounts is not None:
            query = query.where(EventRow.account_sid.in_(accounts))
        return list(self.session.scalars(query.order_by(EventRow.seq)))

    def for_billing_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        """(seq, canonical JSON) of the events of ``accounts`` bearing on ``[start, end)``
        stored after sequence ``seq``, in storage order (:meth:`for_billing`'s selection)."""
        query = (
            select(EventRow.seq, EventRow.body)
            .where(EventRow.account_sid.in_(accounts), EventRow.seq > seq, _bears_on(start, end))
            .order_by(EventRow.seq)
        )
        return [(number, body) for number, body in self.session.execute(query)]

    def for_billing_with_seq(
        self, accounts: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        """(seq, canonical JSON) of :meth:`for_billing`'s selection, in storage order."""
        return self.for_billing_after(accounts, 0, start, end)

    def stored_in(
        self, accounts: Sequence[str], ranges: Ranges, start: datetime, end: datetime
    ) -> bool:
        """Whether an event bearing on ``[start, end)`` has a sequence number in ``ranges``."""
        if not ranges:
            return False
        within = or_(*(and_(EventRow.seq > lo, EventRow.seq <= hi) for lo, hi in ranges))
        query = select(EventRow.seq).where(
            EventRow.account_sid.in_(accounts), within, _bears_on(start, end)
        )
        return self.session.scalar(query.limit(1)) is not None

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(EventRow)) or 0

    def time_span(self, accounts: Sequence[str]) -> tuple[datetime, datetime] | None:
        """The earliest and latest event time of ``accounts`` (None: they have no events)."""
        row = self.session.execute(
            select(func.min(EventRow.time), func.max(EventRow.time)).where(
                EventRow.account_sid.in_(accounts)
            )
        ).one()
        return None if row[0] is None else (row[0], row[1])

    def last_seq(self) -> int:
        """The highest ingestion sequence stored (0 when empty)."""
        return self.session.scalar(select(func.max(EventRow.seq))) or 0

    def claim(self) -> None:
        """Take the lock an insert of events takes, now, before reading what decides which
        events to insert: a :meth:`freeze` (a finalize under the ``reject`` late policy) then
        waits for this transaction, and one already holding it makes this wait, so the read
        that follows sees its commit. SQLite transactions already hold the write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.connection().exec_driver_sql("LOCK TABLE events IN ROW EXCLUSIVE MODE")

    def stored_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> int:
        """How many events of ``accounts`` bearing on ``[start, end)`` were stored after
        sequence ``seq`` (:meth:`for_billing`'s selection)."""
        query = select(func.count()).where(
            EventRow.account_sid.in_(accounts), EventRow.seq > seq, _bears_on(start, end)
        )
        return self.session.scalar(query) or 0

    def freeze(self) -> None:
        """Wait for in-flight ingestions and hold new ones until the transaction ends.

        PostgreSQL hands out sequence numbers before commit, so an invoice's high-water mark is
        only sound once no ingestion is in flight. SQLite transactions already hold the write
        lock (BEGIN IMMEDIATE).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.connection().exec_driver_sql("LOCK TABLE events IN SHARE MODE")


def _stored(row: InvoiceRow) -> StoredInvoice:
    return StoredInvoice(
        id=row.id,
        account=row.account_sid,
        month=row.month,
        status=row.status,
        document=row.document,
        through_seq=row.through_seq,
        basis=row.basis,
        coverage=coverage.parse(row.coverage),
        generated_at=row.generated_at,
        finalized_at=row.finalized_at,
        voided_at=row.voided_at,
    )


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, account: str, month: str) -> StoredInvoice | None:
        """The month's draft or finalized invoice (not a void one)."""
        row = self.session.scalar(
            select(InvoiceRow).where(
                InvoiceRow.account_sid == account,
                InvoiceRow.month == month,
                InvoiceRow.status != "void",
            )
        )
        return None if row is None else _stored(row)

    def latest(self, account: str, month: str) -> StoredInvoice | None:
        """The month's current invoice, else its most recently voided one."""
        current = self.current(account, month)
        if current is not None:
            return current
        row = self.session.scalar(
            select(InvoiceRow)
            .where(InvoiceRow.account_sid == account, InvoiceRow.month == month)
            .order_by(InvoiceRow.id.desc())
            .limit(1)
        )
        return None if row is None else _stored(row)

    def for_account(self, account: str) -> list[StoredInvoice]:
        """Every invoice of ``account`` (void ones too), newest month first."""
        rows = self.session.scalars(
            select(InvoiceRow)
            .where(InvoiceRow.account_sid == account)
            .order_by(InvoiceRow.month.desc(), InvoiceRow.id.desc())
        )
        return [_stored(row) for row in rows]

    def for_month(self, month: str) -> list[StoredInvoice]:
        rows = self.session.scalars(
            select(InvoiceRow)
            .where(InvoiceRow.month == month)
            .order_by(InvoiceRow.account_sid, InvoiceRow.id)
        )
        return [_stored(row) for row in rows]

    def finalized(self, account: str) -> list[StoredInvoice]:
        """Every finalized invoice of ``account``, in the order they were generated."""
        rows = self.session.scalars(
            select(InvoiceRow)
            .where(InvoiceRow.account_sid == account, InvoiceRow.status == "finalized")
            .order_by(InvoiceRow.through_seq, InvoiceRow.id)
        )
        return [_stored(row) for row in rows]

    def finalized_months(self, accounts: Iterable[str]) -> set[tuple[str, str]]:
        """(account, month) of every finalized invoice of ``accounts``."""
        rows = self.session.execute(
            select(InvoiceRow.account_sid, InvoiceRow.month).where(
                InvoiceRow.account_sid.in_(sorted(set(accounts))),
                InvoiceRow.status == "finalized",
            )
        )
        return {(a, m) for a, m in rows}

    def add_draft(self, values: dict[str, Any], lines: Sequence[LineValues]) -> int:
        row = InvoiceRow(status="draft", finalized_at=None, voided_at=None, **values)
        self.session.add(row)
        account, month = values["account_sid"], values["month"]
        flush_or_refuse(
            self.session,
            f"account {account} already has an open invoice for {month}",
            f"account {account} does not exist (for its {month} invoice)",
        )
        self._write_lines(row.id, lines)
        return row.id

    def replace_draft(
        self, invoice_id: int, values: dict[str, Any], lines: Sequence[LineValues]
    ) -> None:
        changed = self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice_id, InvoiceRow.status == "draft")
            .values(**values)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            found = self.session.scalar(
                select(InvoiceRow.status).where(InvoiceRow.id == invoice_id)
            )
            if found is None:
                raise NotFoundError(f"invoice {invoice_id} does not exist")
            raise StateError(f"invoice {invoice_id} is {found}: only a draft is replaced")
        self.session.execute(delete(InvoiceLineRow).where(InvoiceLineRow.invoice_id == invoice_id))
        self._write_lines(invoice_id, lines)

    def set_status(self, invoice_id: int, old: str, new: str, at: datetime) -> bool:
        """Move an invoice from status ``old`` to ``new``; False if it was not in ``old``."""
        stamp = {"finalized": {"finalized_at": at}, "void": {"voided_at": at}}[new]
        changed = self.session.execute(
            update(InvoiceRow)
            .where(InvoiceRow.id == invoice_id, InvoiceRow.status == old)
            .values(status=new, **stamp)
        )
        return bool(changed.rowcount)  # type: ignore[attr-defined]

    def lines(self, invoice_id: int) -> list[LineValues]:
        rows = self.session.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == invoice_id)
            .order_by(InvoiceLineRow.position)
        )
        return [
            LineValues(
                r.account_sid,
                r.category,
                r.kind,
                r.pool,
                r.tier,
                r.quantity,
                r.unit,
                r.unit_price,
                r.precise_amount,
                r.amount,
                r.original_month,
            )
            for r in rows
        ]

    def _write_lines(self, invoice_id: int, lines: Sequence[LineValues]) -> None:
        self.session.add_all(
            InvoiceLineRow(
                invoice_id=invoice_id,
                position=i,
                account_sid=line.account,
                category=line.category,
                kind=line.kind,
                pool=line.pool,
                tier=line.tier,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                precise_amount=line.precise_amount,
                amount=line.amount,
                original_month=line.original_month,
            )
            for i, line in enumerate(lines)
        )
        self.session.flush()
