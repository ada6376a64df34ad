"""The unit of work: one transaction and the repositories that share it.

The caller owns the transaction::

    with database.unit_of_work() as uow:
        uow.events.insert_new(...)
        uow.commit()

Leaving the block without :meth:`commit` rolls everything back. It implements the services'
port :class:`ratecard.service.ports.UnitOfWork` (mypy checks it, where services are given a
:class:`~ratecard.store.database.Database`).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ratecard.service.ports import load_instances
from ratecard.store.flex_repositories import (
    DeflexRepository,
    FlexRepository,
    ResourceRepository,
    SupportRepository,
)
from ratecard.store.repositories import AccountRepository, EventRepository, InvoiceRepository

if TYPE_CHECKING:  # the database opens units of work (Database.unit_of_work)
    from ratecard.store.database import Database

__all__ = ["UnitOfWork", "load_instances"]  # load_instances: kept importable from here


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
