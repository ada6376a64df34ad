"""The unit of work: one transaction and the repositories that share it.

The caller owns the transaction::

    with db_unit_of_work(db) as uow:
        uow.events.insert_new(...)
        uow.commit()

Leaving the block without :meth:`commit` rolls everything back.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from ratecard.flex.history import FlexInstance, remove_flex
from ratecard.store.database import Database
from ratecard.store.flex_repositories import (
    DeflexRepository,
    FlexRepository,
    ResourceRepository,
    SupportRepository,
)
from ratecard.store.repositories import AccountRepository, EventRepository, InvoiceRepository


def load_instances(uow: UnitOfWork) -> dict[str, FlexInstance]:
    """Every stored Flex instance with its plan history and processed deflexifications."""
    instances = uow.flex.instances()
    for account, effective in uow.deflex.removals().items():
        if account in instances:
            instances[account] = remove_flex(instances[account], effective)
    return instances


class UnitOfWork:
    """Repositories over one session; nothing is written until :meth:`commit`."""

    accounts: AccountRepository
    events: EventRepository
    invoices: InvoiceRepository
    flex: FlexRepository
    resources: ResourceRepository
    support: SupportRepository
    deflex: DeflexRepository

    def __init__(self, database: Database) -> None:
        self.database = database
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        self._session = self.database.session()
        self.accounts = AccountRepository(self._session)
        self.events = EventRepository(self._session)
        self.invoices = InvoiceRepository(self._session)
        self.flex = FlexRepository(self._session)
        self.resources = ResourceRepository(self._session)
        self.support = SupportRepository(self._session)
        self.deflex = DeflexRepository(self._session)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            self._session.rollback()  # a no-op after commit
        finally:
            self._session.close()
            self._session = None

    @property
    def dialect(self) -> str:
        return self.database.dialect

    def commit(self) -> None:
        assert self._session is not None, "commit outside 'with'"
        self._session.commit()

    def rollback(self) -> None:
        assert self._session is not None, "rollback outside 'with'"
        self._session.rollback()
