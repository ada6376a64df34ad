"""An in-memory store: the services' ports (:mod:`ratecard.service.ports`) without a database.

It answers as the SQL store does for everything the services rely on, and the contract test
(``tests/storage/test_store_contract.py``) runs the same assertions on both:

* **Atomic.** A unit of work writes to its own copy of the committed state; :meth:`commit`
  publishes that copy whole, and leaving the block (or :meth:`rollback`) drops it. An error
  half-way through a service therefore leaves nothing behind, as a rolled-back transaction.
* **Serial.** One unit of work at a time holds the store (a lock taken on ``with`` and
  released on leaving it), as every SQLite transaction takes the write lock at BEGIN: the
  ingestion freeze and claim need nothing more.
* **Same order, same numbers.** Listings come in the SQL store's ``ORDER BY``; event ``seq``,
  invoice and request ids count up from 1 in the order written. Numbers of a rolled-back
  unit of work are given out again, as SQLite's rowids are (PostgreSQL's sequences skip
  them): the contract is only that a new number is above every stored one.
* **Same errors.** What the SQL schema refuses is refused with the same
  :mod:`ratecard.errors` classes the SQL repositories raise: a duplicate account sid, support
  user or open invoice of a month is a :class:`~ratecard.errors.StateError`; a record naming an
  account that does not exist, or an update of one that does not exist, a
  :class:`~ratecard.errors.NotFoundError`.

Money and quantities are kept as the exact Decimals given; times in UTC. The month close's
bulk paths (:mod:`ratecard.store.bulk`) are SQL only and refuse this store with a
:class:`~ratecard.errors.StoreError`; so do usage triggers, which it does not hold.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ratecard.accounts import Account
from ratecard.billing import coverage
from ratecard.billing.coverage import Ranges
from ratecard.errors import NotFoundError, StateError
from ratecard.flex.history import FlexInstance, PlanPeriod
from ratecard.service.ports import (
    HISTORY_TYPES,
    SPAN_TYPES,
    LineValues,
    Store,
    StoredInvoice,
    StoredRequest,
)
from ratecard.usage.events import NewEvent

#: The columns a draft's ``values`` may set (those of the invoices table a service writes).
INVOICE_COLUMNS = frozenset(
    {
        "account_sid",
        "month",
        "currency",
        "total",
        "document",
        "through_seq",
        "basis",
        "coverage",
        "generated_at",
    }
)
_BEARS_BEFORE = frozenset(HISTORY_TYPES)
_SPANS = frozenset(SPAN_TYPES)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused, as the SQL column type refuses it."""
    if moment.tzinfo is None:
        raise ValueError(f"an aware datetime is required, got {moment!r}")
    return moment.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class _Stored:
    """One stored event: its ingestion number and its stored form (time in UTC)."""

    seq: int
    event: NewEvent

    def bears_on(self, start: datetime, end: datetime) -> bool:
        """The SQL store's selection of events that may change ``[start, end)``'s charges."""
        time, kind = self.event.time, self.event.type
        return start <= time < end or (time < start and kind in _BEARS_BEFORE) or kind in _SPANS


@dataclass(frozen=True)
class _Invoice:
    """One stored invoice: its columns (``values`` as written) and lines."""

    id: int
    status: str
    values: dict[str, Any]
    lines: tuple[LineValues, ...]

    def stored(self) -> StoredInvoice:
        v = self.values
        return StoredInvoice(
            id=self.id,
            account=v["account_sid"],
            month=v["month"],
            status=self.status,
            document=v["document"],
            through_seq=v["through_seq"],
            basis=v["basis"],
            coverage=coverage.parse(v.get("coverage", "{}")),
            generated_at=v["generated_at"],
            finalized_at=v.get("finalized_at"),
            voided_at=v.get("voided_at"),
        )


@dataclass
class _State:
    """Everything stored. Values are immutable; :meth:`copy` copies the containers, so a unit
    of work's writes never reach the committed state before its commit."""

    accounts: dict[str, tuple[Account, str]] = field(default_factory=dict)
    events: list[_Stored] = field(default_factory=list)
    keys: dict[tuple[str, str], int] = field(default_factory=dict)  # key -> index in events
    invoices: dict[int, _Invoice] = field(default_factory=dict)
    invoice_ids: int = 0
    plans: dict[str, tuple[tuple[str, date], ...]] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    support: dict[str, str] = field(default_factory=dict)
    requests: dict[int, StoredRequest] = field(default_factory=dict)
    request_ids: int = 0

    def copy(self) -> _State:
        return _State(
            dict(self.accounts),
            list(self.events),
            dict(self.keys),
            dict(self.invoices),
            self.invoice_ids,
            dict(self.plans),
            dict(self.resources),
            dict(self.support),
            dict(self.requests),
            self.request_ids,
        )

    def require_account(self, sid: str, what: str) -> None:
        if sid not in self.accounts:
            raise NotFoundError(f"account {sid} does not exist (for {what})")


class _Repository:
    """A repository reads and writes the state of its unit of work's transaction."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _state(self) -> _State:
        return self._uow.state


class MemoryAccounts(_Repository):
    def add(self, account: Account, token_hash: str, recorded_at: datetime) -> None:
        _utc(recorded_at)
        state = self._state
        if account.sid in state.accounts:
            raise StateError(f"account {account.sid} already exists")
        if account.parent is not None:
            state.require_account(account.parent, f"the parent of {account.sid}")
        state.accounts[account.sid] = (account, token_hash)

    def get(self, sid: str) -> Account | None:
        found = self._state.accounts.get(sid)
        return None if found is None else found[0]

    def token_hash(self, sid: str) -> str | None:
        found = self._state.accounts.get(sid)
        return None if found is None else found[1]

    def set_token_hash(self, sid: str, token_hash: str) -> bool:
        accounts = self._state.accounts
        if sid not in accounts:
            return False
        accounts[sid] = (accounts[sid][0], token_hash)
        return True

    def list(self) -> list[Account]:
        found = [account for account, _ in self._state.accounts.values()]
        return sorted(found, key=lambda a: (a.created, a.sid))

    def parents(self, sids: Iterable[str]) -> dict[str, str | None]:
        accounts = self._state.accounts
        return {sid: accounts[sid][0].parent for sid in sorted(set(sids)) if sid in accounts}


class MemoryEvents(_Repository):
    def insert_new(self, events: Sequence[NewEvent], stored_at: datetime) -> set[tuple[str, str]]:
        _utc(stored_at)
        state = self._state
        inserted: set[tuple[str, str]] = set()
        for event in events:
            key = (event.account, event.event_id)
            if key in state.keys:
                continue
            seq = state.events[-1].seq + 1 if state.events else 1
            state.keys[key] = len(state.events)
            state.events.append(_Stored(seq, event._replace(time=_utc(event.time))))
            inserted.add(key)
        return inserted

    def bodies(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        state = self._state
        return {key: state.events[state.keys[key]].event.body for key in keys if key in state.keys}

    def _bearing(
        self, accounts: Collection[str] | None, start: datetime, end: datetime, after: int = 0
    ) -> list[_Stored]:
        members = None if accounts is None else set(accounts)
        return [
            stored
            for stored in self._state.events
            if stored.seq > after
            and (members is None or stored.event.account in members)
            and stored.bears_on(start, end)
        ]

    def for_billing(
        self, accounts: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[str]:
        return [stored.event.body for stored in self._bearing(accounts, start, end)]

    def for_billing_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        return [(s.seq, s.event.body) for s in self._bearing(accounts, start, end, seq)]

    def for_billing_with_seq(
        self, accounts: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        return self.for_billing_after(accounts, 0, start, end)

    def stored_in(
        self, accounts: Sequence[str], ranges: Ranges, start: datetime, end: datetime
    ) -> bool:
        bearing = self._bearing(accounts, start, end)
        return any(coverage.contains(ranges, stored.seq) for stored in bearing)

    def count(self) -> int:
        return len(self._state.events)

    def time_span(self, accounts: Sequence[str]) -> tuple[datetime, datetime] | None:
        members = set(accounts)
        times = [s.event.time for s in self._state.events if s.event.account in members]
        return (min(times), max(times)) if times else None

    def last_seq(self) -> int:
        events = self._state.events
        return events[-1].seq if events else 0

    def claim(self) -> None:
        """Nothing to take: the unit of work already holds the whole store."""

    def stored_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> int:
        return len(self._bearing(accounts, start, end, seq))

    def freeze(self) -> None:
        """Nothing to wait for: no other unit of work runs while this one holds the store."""


class MemoryInvoices(_Repository):
    def _all(self) -> list[StoredInvoice]:
        return [invoice.stored() for invoice in self._state.invoices.values()]

    def current(self, account: str, month: str) -> StoredInvoice | None:
        found = [
            inv
            for inv in self._all()
            if inv.account == account and inv.month == month and inv.status != "void"
        ]
        return found[0] if found else None

    def latest(self, account: str, month: str) -> StoredInvoice | None:
        current = self.current(account, month)
        if current is not None:
            return current
        found = [inv for inv in self._all() if inv.account == account and inv.month == month]
        return max(found, key=lambda inv: inv.id) if found else None

    def for_account(self, account: str) -> list[StoredInvoice]:
        found = [inv for inv in self._all() if inv.account == account]
        return sorted(found, key=lambda inv: (inv.month, inv.id), reverse=True)

    def for_month(self, month: str) -> list[StoredInvoice]:
        found = [inv for inv in self._all() if inv.month == month]
        return sorted(found, key=lambda inv: (inv.account, inv.id))

    def finalized(self, account: str) -> list[StoredInvoice]:
        found = [inv for inv in self._all() if inv.account == account]
        found = [inv for inv in found if inv.status == "finalized"]
        return sorted(found, key=lambda inv: (inv.through_seq, inv.id))

    def finalized_months(self, accounts: Iterable[str]) -> set[tuple[str, str]]:
        wanted = set(accounts)
        return {
            (inv.account, inv.month)
            for inv in self._all()
            if inv.status == "finalized" and inv.account in wanted
        }

    def add_draft(self, values: dict[str, Any], lines: Sequence[LineValues]) -> int:
        _check_columns(values)
        state = self._state
        account, month = values["account_sid"], values["month"]
        state.require_account(account, f"its {month} invoice")
        if self.current(account, month) is not None:
            raise StateError(f"account {account} already has an open invoice for {month}")
        state.invoice_ids += 1
        number = state.invoice_ids
        state.invoices[number] = _Invoice(number, "draft", _written(values), tuple(lines))
        return number

    def replace_draft(
        self, invoice_id: int, values: dict[str, Any], lines: Sequence[LineValues]
    ) -> None:
        _check_columns(values)
        invoice = self._require(invoice_id)
        if invoice.status != "draft":
            raise StateError(f"invoice {invoice_id} is {invoice.status}: only a draft is replaced")
        merged = {**invoice.values, **_written(values)}
        self._state.invoices[invoice_id] = replace(invoice, values=merged, lines=tuple(lines))

    def set_status(self, invoice_id: int, old: str, new: str, at: datetime) -> bool:
        stamp = {"finalized": {"finalized_at": _utc(at)}, "void": {"voided_at": _utc(at)}}[new]
        invoice = self._state.invoices.get(invoice_id)
        if invoice is None or invoice.status != old:
            return False
        values = {**invoice.values, **stamp}
        self._state.invoices[invoice_id] = replace(invoice, status=new, values=values)
        return True

    def lines(self, invoice_id: int) -> list[LineValues]:
        invoice = self._state.invoices.get(invoice_id)
        return [] if invoice is None else list(invoice.lines)

    def _require(self, invoice_id: int) -> _Invoice:
        invoice = self._state.invoices.get(invoice_id)
        if invoice is None:
            raise NotFoundError(f"invoice {invoice_id} does not exist")
        return invoice


def _check_columns(values: dict[str, Any]) -> None:
    unknown = set(values) - INVOICE_COLUMNS
    if unknown:  # the SQL row refuses them too (TypeError from the mapped class)
        raise TypeError(f"not columns of an invoice: {', '.join(sorted(unknown))}")


def _written(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as stored: times in UTC."""
    return {k: _utc(v) if isinstance(v, datetime) else v for k, v in values.items()}


class MemoryFlex(_Repository):
    def periods(self, account_sid: str) -> list[tuple[str, date]]:
        return list(self._state.plans.get(account_sid, ()))

    def instances(self) -> dict[str, FlexInstance]:
        return {
            sid: FlexInstance(sid, tuple(PlanPeriod(plan, _midnight(day)) for plan, day in found))
            for sid, found in sorted(self._state.plans.items())
            if found
        }

    def set_period(self, account_sid: str, plan: str, effective: date, created: date) -> None:
        state = self._state
        state.require_account(account_sid, "its Flex instance")
        kept = [(p, day) for p, day in state.plans.get(account_sid, ()) if day < effective]
        state.plans[account_sid] = (*kept, (plan, effective))


class MemoryResources(_Repository):
    def get(self, account_sid: str) -> str | None:
        return self._state.resources.get(account_sid)

    def replace(self, account_sid: str, document: str, at: datetime) -> None:
        _utc(at)
        self._state.require_account(account_sid, "its resources")
        self._state.resources[account_sid] = document


class MemorySupport(_Repository):
    def add(self, name: str, token_hash: str, at: datetime) -> None:
        _utc(at)
        if name in self._state.support:
            raise StateError(f"support user {name!r} already exists")
        self._state.support[name] = token_hash

    def token_hash(self, name: str) -> str | None:
        return self._state.support.get(name)

    def names(self) -> list[str]:
        return sorted(self._state.support)


class MemoryDeflex(_Repository):
    def add(self, account: str, status: str, intent: str, document: str, at: datetime) -> int:
        _utc(at)
        state = self._state
        state.require_account(account, "its deflexification request")
        state.request_ids += 1
        number = state.request_ids
        state.requests[number] = StoredRequest(number, account, status, None, document)
        return number

    def get(self, request_id: int) -> StoredRequest | None:
        return self._state.requests.get(request_id)

    def update(
        self, request_id: int, status: str, document: str, effective: datetime | None, at: datetime
    ) -> None:
        _utc(at)
        found = self._state.requests.get(request_id)
        if found is None:
            raise NotFoundError(f"deflexification request {request_id} does not exist")
        when = None if effective is None else _utc(effective)
        changed = replace(found, status=status, document=document, effective=when)
        self._state.requests[request_id] = changed

    def listing(self, accounts: Collection[str] | None = None) -> list[StoredRequest]:
        found = sorted(self._state.requests.values(), key=lambda r: r.id, reverse=True)
        return [r for r in found if accounts is None or r.account in accounts]

    def open_for(self, account: str) -> list[int]:
        requests = sorted(self._state.requests.values(), key=lambda r: r.id)
        return [r.id for r in requests if r.account == account and r.status in _OPEN]

    def removals(self) -> dict[str, datetime]:
        processed = [r for r in self._state.requests.values() if r.status == "processed"]
        found: dict[str, datetime] = {}
        for request in sorted(processed, key=lambda r: (r.effective is None, r.effective, r.id)):
            if request.effective is not None:
                found.setdefault(request.account, request.effective)
        return found


_OPEN = ("draft", "submitted")


class MemoryUnitOfWork:
    """One transaction on a :class:`MemoryStore`: the repositories over its own copy of the
    committed state, published by :meth:`commit`."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._state: _State | None = None
        self.accounts = MemoryAccounts(self)
        self.events = MemoryEvents(self)
        self.invoices = MemoryInvoices(self)
        self.flex = MemoryFlex(self)
        self.resources = MemoryResources(self)
        self.support = MemorySupport(self)
        self.deflex = MemoryDeflex(self)

    @property
    def state(self) -> _State:
        assert self._state is not None, "a repository used outside 'with'"
        return self._state

    def __enter__(self) -> MemoryUnitOfWork:
        self.store._lock.acquire()
        self._state = self.store._state.copy()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._state = None  # what was not committed is dropped
        self.store._lock.release()

    @property
    def dialect(self) -> str:
        return "memory"

    def commit(self) -> None:
        state = self.state
        self.store._state = state
        self._state = state.copy()  # later writes of this block wait for another commit

    def rollback(self) -> None:
        self.state  # noqa: B018  # refuses a rollback outside 'with', as the SQL one does
        self._state = self.store._state.copy()


class MemoryStore:
    """Stored records in memory, for tests and demos: each :meth:`unit_of_work` is one
    transaction (see the module's docstring for what it promises)."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()

    @property
    def dialect(self) -> str:
        return "memory"

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


if TYPE_CHECKING:  # mypy --strict proves the fake implements the services' ports
    _PORT: Store = MemoryStore()
