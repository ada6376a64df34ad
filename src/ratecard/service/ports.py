"""The ports of the services: the unit of work and the repositories they use, as Protocols.

The services depend on these, never on a store class. Two implementations satisfy them:

* :class:`ratecard.store.unit_of_work.UnitOfWork` over SQLAlchemy (SQLite, PostgreSQL), opened
  by :meth:`ratecard.store.database.Database.unit_of_work`;
* :class:`ratecard.service.memory.MemoryStore`, in memory (tests, demos).

mypy --strict checks that both do: every service is typed with :class:`Store` and is called
with a ``Database`` by the adapters and with a ``MemoryStore`` by the tests. The contract test
(``tests/storage/test_store_contract.py``) checks that both answer the same.

Values cross the ports as plain values: :class:`~ratecard.accounts.Account`, canonical event
JSON, :class:`~ratecard.usage.events.NewEvent`, and the records defined here. The caller owns
the transaction: repositories never commit; leaving the ``with`` block without
:meth:`UnitOfWork.commit` discards every write of the block.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol

from ratecard.accounts import Account
from ratecard.billing.coverage import Coverage, Ranges
from ratecard.flex.history import FlexInstance, remove_flex
from ratecard.usage.events import NewEvent

#: Event types whose history before a month changes the month's charges: number purchases
#: (anniversaries), Flex provisioning and workers (who holds a seat at the month's start), and
#: activity sessions (one may start before the month; free hours count earlier months).
HISTORY_TYPES = (
    "number_purchased",
    "number_released",
    "flex_user_provisioned",
    "flex_user_deprovisioned",
    "worker_created",
    "worker_deleted",
    "flex_activity",
)
#: Event types whose own time may fall after the month they bear on (a session reported at
#: its end, after the month closed).
SPAN_TYPES = ("flex_activity",)


@dataclass(frozen=True)
class StoredInvoice:
    """An invoice as stored: its JSON document (text, exactly as produced) and lifecycle."""

    id: int
    account: str
    month: str
    status: str
    document: str
    through_seq: int
    basis: str
    generated_at: datetime
    finalized_at: datetime | None
    voided_at: datetime | None
    coverage: Coverage = field(default_factory=dict)


@dataclass(frozen=True)
class LineValues:
    """The columns of one stored invoice line (money exact, in the invoice currency;
    ``amount`` already rounded half-up to the minor unit, ``precise_amount`` unrounded)."""

    account: str | None
    category: str
    kind: str
    pool: str | None
    tier: str | None
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    precise_amount: Decimal
    amount: Decimal
    original_month: str | None


@dataclass(frozen=True)
class StoredRequest:
    """A stored deflexification request: its id, account and JSON record."""

    id: int
    account: str
    status: str
    effective: datetime | None
    document: str


class AccountStore(Protocol):
    """Accounts and their hashed auth tokens."""

    def add(self, account: Account, token_hash: str, recorded_at: datetime) -> None: ...

    def get(self, sid: str) -> Account | None: ...

    def token_hash(self, sid: str) -> str | None: ...

    def set_token_hash(self, sid: str, token_hash: str) -> bool:
        """Replace an account's token hash; False when the account does not exist."""
        ...

    def list(self) -> list[Account]:
        """Every account, by creation date, then sid."""
        ...

    def parents(self, sids: Iterable[str]) -> dict[str, str | None]:
        """Each stored account among ``sids`` with its parent (None for a parent account)."""
        ...


class EventStore(Protocol):
    """Stored usage events: canonical JSON with an ingestion sequence number (``seq``).

    "Bearing on ``[start, end)``" means: the events in it, the history types before it
    (:data:`HISTORY_TYPES`) and sessions whatever their time."""

    def insert_new(self, events: Sequence[NewEvent], stored_at: datetime) -> set[tuple[str, str]]:
        """Insert the events whose (account, id) is not stored yet; return the inserted keys.
        ``seq`` follows the batch's order."""
        ...

    def bodies(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored canonical JSON of each stored (account, event id) among ``keys``."""
        ...

    def for_billing(
        self, accounts: Sequence[str] | None, start: datetime, end: datetime
    ) -> list[str]:
        """Canonical JSON of the events bearing on ``[start, end)``, in ``seq`` order."""
        ...

    def for_billing_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        """(seq, JSON) of the events bearing on ``[start, end)`` stored after ``seq``."""
        ...

    def for_billing_with_seq(
        self, accounts: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[int, str]]:
        """(seq, JSON) of :meth:`for_billing`'s selection, in ``seq`` order."""
        ...

    def stored_in(
        self, accounts: Sequence[str], ranges: Ranges, start: datetime, end: datetime
    ) -> bool:
        """Whether an event bearing on ``[start, end)`` has a ``seq`` in ``ranges``."""
        ...

    def count(self) -> int: ...

    def time_span(self, accounts: Sequence[str]) -> tuple[datetime, datetime] | None:
        """The earliest and latest event time of ``accounts`` (None: they have no events)."""
        ...

    def last_seq(self) -> int:
        """The highest ``seq`` stored (0 when empty)."""
        ...

    def claim(self) -> None:
        """Take the lock an insert of events takes, before reading what decides the insert."""
        ...

    def stored_after(
        self, accounts: Sequence[str], seq: int, start: datetime, end: datetime
    ) -> int:
        """How many events bearing on ``[start, end)`` were stored after ``seq``."""
        ...

    def freeze(self) -> None:
        """Wait for in-flight ingestions and hold new ones until the transaction ends."""
        ...


class InvoiceStore(Protocol):
    """Invoices (documents and lifecycle) and their lines. ``values`` of a draft are the
    invoice's columns: account_sid, month, currency, total (exact Decimal in the currency),
    document, through_seq, basis, coverage (rendered), generated_at."""

    def current(self, account: str, month: str) -> StoredInvoice | None:
        """The month's draft or finalized invoice (not a void one)."""
        ...

    def latest(self, account: str, month: str) -> StoredInvoice | None:
        """The month's current invoice, else its most recently voided one."""
        ...

    def for_account(self, account: str) -> list[StoredInvoice]:
        """Every invoice of ``account`` (void ones too), newest month first."""
        ...

    def for_month(self, month: str) -> list[StoredInvoice]: ...

    def finalized(self, account: str) -> list[StoredInvoice]:
        """Every finalized invoice of ``account``, in the order they were generated."""
        ...

    def finalized_months(self, accounts: Iterable[str]) -> set[tuple[str, str]]:
        """(account, month) of every finalized invoice of ``accounts``."""
        ...

    def add_draft(self, values: dict[str, Any], lines: Sequence[LineValues]) -> int: ...

    def replace_draft(
        self, invoice_id: int, values: dict[str, Any], lines: Sequence[LineValues]
    ) -> None: ...

    def set_status(self, invoice_id: int, old: str, new: str, at: datetime) -> bool:
        """Move an invoice from status ``old`` to ``new``; False if it was not in ``old``."""
        ...

    def lines(self, invoice_id: int) -> list[LineValues]: ...


class FlexStore(Protocol):
    """Flex instances and their plan periods (each from a date, until the next)."""

    def periods(self, account_sid: str) -> list[tuple[str, date]]: ...

    def instances(self) -> dict[str, FlexInstance]:
        """Every account's Flex instance with its plan history (deflexifications not applied)."""
        ...

    def set_period(self, account_sid: str, plan: str, effective: date, created: date) -> None:
        """Put the account on ``plan`` from ``effective``; later scheduled periods are replaced."""
        ...


class ResourceStore(Protocol):
    """An account's imported resources, one JSON document per account."""

    def get(self, account_sid: str) -> str | None: ...

    def replace(self, account_sid: str, document: str, at: datetime) -> None: ...


class SupportStore(Protocol):
    """Support users and their hashed tokens."""

    def add(self, name: str, token_hash: str, at: datetime) -> None: ...

    def token_hash(self, name: str) -> str | None: ...

    def names(self) -> list[str]: ...


class DeflexStore(Protocol):
    """Deflexification requests."""

    def add(self, account: str, status: str, intent: str, document: str, at: datetime) -> int: ...

    def get(self, request_id: int) -> StoredRequest | None: ...

    def update(
        self, request_id: int, status: str, document: str, effective: datetime | None, at: datetime
    ) -> None: ...

    def listing(self, accounts: Collection[str] | None = None) -> list[StoredRequest]:
        """Every request (or those of ``accounts``), newest first."""
        ...

    def open_for(self, account: str) -> list[int]:
        """Ids of the account's requests not yet processed, rejected or withdrawn."""
        ...

    def removals(self) -> dict[str, datetime]:
        """Each account's Flex removal time: its earliest processed request's effective time."""
        ...


class UnitOfWork(Protocol):
    """One transaction and the repositories that share it; nothing is kept until
    :meth:`commit`, and leaving the ``with`` block rolls back whatever was not committed."""

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def events(self) -> EventStore: ...

    @property
    def invoices(self) -> InvoiceStore: ...

    @property
    def flex(self) -> FlexStore: ...

    @property
    def resources(self) -> ResourceStore: ...

    @property
    def support(self) -> SupportStore: ...

    @property
    def deflex(self) -> DeflexStore: ...

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``memory``."""
        ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    """Where the services keep their records: each call opens a new unit of work."""

    def unit_of_work(self) -> UnitOfWork: ...


def load_instances(uow: UnitOfWork) -> dict[str, FlexInstance]:
    """Every stored Flex instance with its plan history and processed deflexifications."""
    instances = uow.flex.instances()
    for account, effective in uow.deflex.removals().items():
        if account in instances:
            instances[account] = remove_flex(instances[account], effective)
    return instances
