"""Loading a book into the store (``ratecard book load``, SPEC section 8).

A book's accounts, Flex plan history, processed deflexifications, resources and events are
written in one transaction, so a load is whole or nothing. It is idempotent: what is already
stored as the book declares it is reported as such (an account "already stored", an event a
duplicate) and never written twice. What is stored otherwise (an account with other
attributes, another plan history or removal time, an event id with other content) refuses the
whole load, naming every difference, before anything is written: a book describes the truth
of its accounts, and silently keeping one version or the other would bill the wrong one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from ratecard.accounts import Account
from ratecard.book import Book, BookDeflex
from ratecard.catalog import load_catalog
from ratecard.deflex.resources import without_flex_workspace
from ratecard.deflex.serialize import request_json
from ratecard.deflex.workflow import AuditEntry, DeflexRequest
from ratecard.errors import ConflictError, EventError, StateError
from ratecard.service.accounts import hash_token
from ratecard.service.ingest import store_events
from ratecard.service.ports import Store, UnitOfWork
from ratecard.service.settings import Settings
from ratecard.store.database import retrying
from ratecard.usage.billable import billable

#: Who a deflexification loaded from a book was processed by, in its audit trail.
BOOK_ACTOR = "book"


@dataclass(frozen=True)
class LoadedAccount:
    sid: str
    name: str
    action: str  # "created" or "already stored"
    token: str | None = None  # a created account's auth token: shown once, stored hashed


@dataclass
class BookLoad:
    """What a load did, item by item (``action`` per item: created/stored, already stored)."""

    book: str
    accounts: list[LoadedAccount] = field(default_factory=list)
    flex: dict[str, str] = field(default_factory=dict)
    deflexifications: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    events: str = ""
    stored: int = 0
    duplicates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "book": self.book,
            "accounts": [
                {"sid": a.sid, "name": a.name, "action": a.action, "auth_token": a.token}
                for a in self.accounts
            ],
            "flex": self.flex,
            "deflexifications": self.deflexifications,
            "resources": self.resources,
            "events": {"file": self.events, "stored": self.stored, "duplicates": self.duplicates},
        }


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _differences(stored: Account, declared: Account) -> list[str]:
    return [
        f"{f.name} {_shown(getattr(stored, f.name))} (the book: "
        f"{_shown(getattr(declared, f.name))})"
        for f in fields(Account)
        if getattr(stored, f.name) != getattr(declared, f.name)
    ]


def _history_text(history: tuple[tuple[str, date], ...] | list[tuple[str, date]]) -> str:
    return ", ".join(f"{plan} from {day}" for plan, day in history) or "none"


def _conflicts(uow: UnitOfWork, book: Book) -> list[str]:
    """Every way the store already says something else than the book (empty: loadable)."""
    found: list[str] = []
    for account in book.accounts:
        stored = uow.accounts.get(account.sid)
        if stored is not None and stored != account:
            found.append(
                f"account {account.sid}: stored " + ", ".join(_differences(stored, account))
            )
    removals = uow.deflex.removals()
    for sid, history in book.history.items():
        periods = uow.flex.periods(sid)
        if periods and tuple(periods) != history:
            found.append(
                f"flex {sid}: stored plan history {_history_text(periods)} (the book: "
                f"{_history_text(history)})"
            )
    for removal in book.deflexifications:
        at = removals.get(removal.account)
        if at is not None and at != removal.effective:
            found.append(
                f"deflexification {removal.account}: stored effective {at.isoformat()} "
                f"(the book: {removal.effective.isoformat()})"
            )
    return found


def _processed(book: Book, removal: BookDeflex, now: datetime) -> DeflexRequest:
    """The deflexification as a processed request, its audit trail naming the book."""
    instance = book.flex[removal.account]
    before = [p.plan for p in instance.periods if p.start < removal.effective and p.plan]
    if not before:
        raise StateError(
            f"{book.path}: the deflexification of {removal.account} at "
            f"{removal.effective.isoformat()} is before its first Flex plan: nothing to remove"
        )
    note = f"loaded from {book.path.name}: effective {removal.effective.isoformat()}"
    entry = AuditEntry("process", None, "processed", BOOK_ACTOR, "support", now, note)
    return DeflexRequest(
        account=removal.account,
        plan=before[-1],  # type: ignore[arg-type]  # the book's rules checked the plan
        intent=removal.intent,
        status="processed",
        audit=(entry,),
        effective=removal.effective,
    )


def _resource_counts(book: Book, sid: str) -> str:
    found = book.resources[sid]
    kinds = ("studio_flows", "taskrouter_workspaces", "twiml_apps", "workers", "phone_numbers")
    return ", ".join(f"{len(getattr(found, k))} {k.replace('_', ' ')}" for k in kinds)


def load(db: Store, book: Book, settings: Settings, now: datetime | None = None) -> BookLoad:
    """Store ``book`` (see the module docstring); StateError or EventError when refused."""
    store_catalog = load_catalog(settings.catalog)
    if store_catalog.source != book.catalog.source:
        raise StateError(
            f"{book.path} is priced by catalog {book.catalog.source}, but this store prices "
            f"its invoices by {store_catalog.source} (RATECARD_CATALOG={settings.catalog}); "
            "load it into a store with the book's catalog"
        )
    moment = now or datetime.now(UTC)
    # parents first: a subaccount's parent must be stored before it
    accounts = sorted(book.accounts, key=lambda a: a.parent is not None)

    def work() -> BookLoad:
        report = BookLoad(str(book.path), events=str(book.events_path or ""))
        with db.unit_of_work() as uow:
            conflicts = _conflicts(uow, book)
            if conflicts:
                raise StateError(
                    f"{book.path} does not match the store; nothing was loaded:\n"
                    + "\n".join(f"  - {c}" for c in conflicts)
                )
            for account in accounts:
                if uow.accounts.get(account.sid) is not None:
                    report.accounts.append(
                        LoadedAccount(account.sid, account.name, "already stored")
                    )
                    continue
                token = secrets.token_hex(16)
                uow.accounts.add(account, hash_token(token), moment)
                report.accounts.append(LoadedAccount(account.sid, account.name, "created", token))
            for sid, history in book.history.items():
                if uow.flex.periods(sid):
                    report.flex[sid] = "already stored"
                    continue
                for plan, day in history:
                    uow.flex.set_period(sid, plan, day, created=history[0][1])
                report.flex[sid] = f"stored ({_history_text(history)})"
            removals = uow.deflex.removals()
            for removal in book.deflexifications:
                if removal.account in removals:
                    report.deflexifications[removal.account] = "already stored"
                    continue
                request = _processed(book, removal, moment)
                text = json.dumps(request_json(request), sort_keys=True)
                number = uow.deflex.add(removal.account, "processed", removal.intent, text, moment)
                uow.deflex.update(number, "processed", text, removal.effective, moment)
                report.deflexifications[removal.account] = (
                    f"stored (Flex billing stops {removal.effective.isoformat()})"
                )
            _store_resources(uow, book, moment, report)
            _store_events(uow, book, settings, moment, report)
            uow.commit()
        return report

    return retrying(work)


def _store_resources(uow: UnitOfWork, book: Book, moment: datetime, report: BookLoad) -> None:
    decommissioned = {d.account for d in book.deflexifications if d.intent == "decommission"}
    for sid, resources in book.resources.items():
        if sid in decommissioned:  # as processing a decommission request does
            resources = without_flex_workspace(resources)
        document = resources.model_dump_json()
        stored = uow.resources.get(sid)
        if stored == document:
            report.resources[sid] = "already stored"
            continue
        uow.resources.replace(sid, document, moment)
        verb = "stored" if stored is None else "replaced"
        report.resources[sid] = f"{verb} ({_resource_counts(book, sid)})"


def _store_events(
    uow: UnitOfWork, book: Book, settings: Settings, moment: datetime, report: BookLoad
) -> None:
    where = book.events_path.name if book.events_path else str(book.path)
    located = [(f"{where}: event {event.id}", event) for event in book.events]
    located, unbillable = billable(located, book.catalog)  # as ingestion refuses them
    if unbillable:
        raise EventError(unbillable)
    outcome = store_events(uow, located, settings.late_policy, moment)
    if outcome.problems:
        conflict = all(p.field == "id" for p in outcome.problems)
        raise (ConflictError if conflict else EventError)(outcome.problems)
    report.stored, report.duplicates = outcome.stored, outcome.duplicates
