"""Repositories of the Flex and deflexification features: plan history, resources, support
users and deflexification requests. Plain values in and out; the unit of work commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ratecard.errors import NotFoundError
from ratecard.flex.history import FlexInstance, PlanPeriod
from ratecard.service.ports import StoredRequest
from ratecard.store.repositories import flush_or_refuse
from ratecard.store.tables import (
    AccountResourcesRow,
    DeflexRequestRow,
    FlexInstanceRow,
    FlexPlanPeriodRow,
    SupportUserRow,
)


def instance_sid(account_sid: str) -> str:
    """One Flex instance per account: its sid derives from the account's (``FX`` + hex)."""
    return "FX" + account_sid[2:]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class FlexRepository:
    """Flex instances and their plan periods (each from a date, until the next)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def periods(self, account_sid: str) -> list[tuple[str, date]]:
        rows = self.session.execute(
            select(FlexPlanPeriodRow.plan, FlexPlanPeriodRow.effective_from)
            .where(FlexPlanPeriodRow.instance_sid == instance_sid(account_sid))
            .order_by(FlexPlanPeriodRow.effective_from)
        )
        return [(plan, day) for plan, day in rows]

    def instances(self) -> dict[str, FlexInstance]:
        """Every account's Flex instance with its plan history (deflexifications not applied)."""
        rows = self.session.execute(
            select(
                FlexInstanceRow.account_sid,
                FlexPlanPeriodRow.plan,
                FlexPlanPeriodRow.effective_from,
            )
            .join(FlexPlanPeriodRow, FlexPlanPeriodRow.instance_sid == FlexInstanceRow.sid)
            .order_by(FlexInstanceRow.account_sid, FlexPlanPeriodRow.effective_from)
        )
        history: dict[str, list[PlanPeriod]] = {}
        for account, plan, day in rows:
            history.setdefault(account, []).append(PlanPeriod(plan, _midnight(day)))
        return {sid: FlexInstance(sid, tuple(periods)) for sid, periods in history.items()}

    def set_period(self, account_sid: str, plan: str, effective: date, created: date) -> None:
        """Put the account on ``plan`` from ``effective``; later scheduled periods are replaced."""
        sid = instance_sid(account_sid)
        if self.session.get(FlexInstanceRow, sid) is None:
            self.session.add(FlexInstanceRow(sid=sid, account_sid=account_sid, created=created))
            missing = f"account {account_sid} does not exist (for its Flex instance)"
            flush_or_refuse(self.session, "", missing)
        self.session.execute(
            delete(FlexPlanPeriodRow).where(
                FlexPlanPeriodRow.instance_sid == sid, FlexPlanPeriodRow.effective_from >= effective
            )
        )
        self.session.add(FlexPlanPeriodRow(instance_sid=sid, plan=plan, effective_from=effective))
        self.session.flush()


class ResourceRepository:
    """An account's imported resources, one JSON document per account."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_sid: str) -> str | None:
        row = self.session.get(AccountResourcesRow, account_sid)
        return None if row is None else row.document

    def replace(self, account_sid: str, document: str, at: datetime) -> None:
        row = self.session.get(AccountResourcesRow, account_sid)
        if row is None:
            self.session.add(
                AccountResourcesRow(account_sid=account_sid, document=document, imported_at=at)
            )
        else:
            row.document, row.imported_at = document, at
        missing = f"account {account_sid} does not exist (for its resources)"
        flush_or_refuse(self.session, "", missing)


class SupportRepository:
    """Support users and their hashed tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, name: str, token_hash: str, at: datetime) -> None:
        self.session.add(SupportUserRow(name=name, token_hash=token_hash, created_at=at))
        flush_or_refuse(self.session, f"support user {name!r} already exists", "")

    def token_hash(self, name: str) -> str | None:
        return self.session.scalar(
            select(SupportUserRow.token_hash).where(SupportUserRow.name == name)
        )

    def names(self) -> list[str]:
        return list(self.session.scalars(select(SupportUserRow.name).order_by(SupportUserRow.name)))


class DeflexRepository:
    """Deflexification requests."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: str, status: str, intent: str, document: str, at: datetime) -> int:
        row = DeflexRequestRow(
            account_sid=account, status=status, intent=intent, document=document, updated_at=at
        )
        self.session.add(row)
        missing = f"account {account} does not exist (for its deflexification request)"
        flush_or_refuse(self.session, "", missing)
        return row.id

    def get(self, request_id: int) -> StoredRequest | None:
        row = self.session.get(DeflexRequestRow, request_id)
        if row is None:
            return None
        return StoredRequest(row.id, row.account_sid, row.status, row.effective, row.document)

    def update(
        self, request_id: int, status: str, document: str, effective: datetime | None, at: datetime
    ) -> None:
        row = self.session.get(DeflexRequestRow, request_id)
        if row is None:
            raise NotFoundError(f"deflexification request {request_id} does not exist")
        row.status, row.document, row.effective, row.updated_at = status, document, effective, at
        self.session.flush()

    def listing(self, accounts: Collection[str] | None = None) -> list[StoredRequest]:
        """Every request (or those of ``accounts``), newest first."""
        query = select(DeflexRequestRow).order_by(DeflexRequestRow.id.desc())
        if accounts is not None:
            query = query.where(DeflexRequestRow.account_sid.in_(sorted(accounts)))
        return [
            StoredRequest(row.id, row.account_sid, row.status, row.effective, row.document)
            for row in self.session.scalars(query)
        ]

    def open_for(self, account: str) -> list[int]:
        """Ids of the account's requests not yet processed, rejected or withdrawn."""
        return list(
            self.session.scalars(
                select(DeflexRequestRow.id)
                .where(
                    DeflexRequestRow.account_sid == account,
                    DeflexRequestRow.status.in_(("draft", "submitted")),
                )
                .order_by(DeflexRequestRow.id)
            )
        )

    def removals(self) -> dict[str, datetime]:
        """Each account's Flex removal time: its earliest processed request's effective time."""
        rows = self.session.execute(
            select(DeflexRequestRow.account_sid, DeflexRequestRow.effective)
            .where(DeflexRequestRow.status == "processed")
            .order_by(DeflexRequestRow.effective)
        )
        found: dict[str, datetime] = {}
        for account, effective in rows:
            if effective is not None:
                found.setdefault(account, effective)
        return found
