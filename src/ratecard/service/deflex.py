"""Deflexification handlers (SPEC section 5): resources, checklist, requests and their steps.

Each handler loads the request (stored as the JSON of :func:`request_json`), applies one pure
step of :mod:`ratecard.deflex.workflow`, and stores the result with its audit trail. A
processed request stops Flex billing at its effective time (see
:func:`ratecard.store.unit_of_work.load_instances`); ``decommission`` also removes the Flex
workspace from the account's resources.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ratecard.catalog import load_catalog
from ratecard.deflex.checklist import checklist as compute_checklist
from ratecard.deflex.resources import AccountResources, parse_resources, without_flex_workspace
from ratecard.deflex.serialize import checklist_json, request_from_json, request_json
from ratecard.deflex.workflow import (
    Actor,
    DeflexRequest,
    SeatWorker,
    submit,
)
from ratecard.deflex.workflow import accept_billing_change as accept_step
from ratecard.deflex.workflow import file_request as file_draft
from ratecard.deflex.workflow import process as process_step
from ratecard.deflex.workflow import reject as reject_step
from ratecard.deflex.workflow import withdraw as withdraw_step
from ratecard.errors import DeflexRefused, NotFoundError, PermissionDenied
from ratecard.flex.seats import next_cycle_seats
from ratecard.periods import Month
from ratecard.service.invoices import load_events
from ratecard.service.ports import Store, UnitOfWork, load_instances
from ratecard.service.settings import Settings
from ratecard.service.support import is_support_user
from ratecard.store.database import retrying

SEAT_CATEGORY = "flex-active-users"


def _resources(uow: UnitOfWork, sid: str) -> AccountResources:
    document = uow.resources.get(sid)
    if document is None:
        return AccountResources(account=sid)
    return AccountResources.model_validate_json(document)


def _require_account(uow: UnitOfWork, sid: str) -> None:
    if uow.accounts.get(sid) is None:
        raise NotFoundError(f"account {sid} does not exist")


def import_resources(
    db: Store, sid: str, data: object, at: datetime | None = None
) -> dict[str, Any]:
    """Replace the account's resources with ``data`` (vendor REST shapes); counts per kind."""
    resources = parse_resources(data, sid)

    def work() -> None:
        with db.unit_of_work() as uow:
            _require_account(uow, sid)
            uow.resources.replace(sid, resources.model_dump_json(), at or datetime.now(UTC))
            uow.commit()

    retrying(work)
    return {
        "account": sid,
        "studio_flows": len(resources.studio_flows),
        "taskrouter_workspaces": len(resources.taskrouter_workspaces),
        "twiml_apps": len(resources.twiml_apps),
        "workers": len(resources.workers),
        "phone_numbers": len(resources.phone_numbers),
    }


def checklist(db: Store, sid: str) -> dict[str, Any]:
    """``{"findings": [...]}``: what breaks if Flex is removed, and what to do first."""
    with db.unit_of_work() as uow:
        _require_account(uow, sid)
        resources = _resources(uow, sid)
    return checklist_json(compute_checklist(sid, resources))


@dataclass(frozen=True)
class _Seats:
    """The catalog's User + Usage seat: its price, currency and basis (SPEC section 2)."""

    price: Decimal
    currency: str
    basis: str


def _seat_terms(settings: Settings | None, at: datetime) -> _Seats:
    catalog = load_catalog((settings or Settings.from_env()).catalog)
    price = catalog.at(at).charge_for(SEAT_CATEGORY, None)
    rate = getattr(price, "rate", None)
    if not isinstance(rate, Decimal):
        raise DeflexRefused(f"the catalog has no per-unit price for {SEAT_CATEGORY}")
    basis = catalog.flex.plans["user-usage"].seat_basis if catalog.flex else "login"
    return _Seats(rate, catalog.currency, basis)


def _next_cycle(
    uow: UnitOfWork, sid: str, at: datetime, basis: str, resources: AccountResources
) -> tuple[list[SeatWorker], list[str]]:
    """(workers, users) the account would be charged a seat for next cycle, by ``basis``:
    counted from its events as the invoice counts them; workers named as the resources name
    them."""
    month = Month.of(at)
    seats = next_cycle_seats(basis, load_events(uow, [sid], month), sid, month)
    if basis == "login":
        return [], list(seats.members)
    names = {w.sid: w.friendly_name for w in resources.workers}
    unnamed = "not in the imported resources"
    return [SeatWorker(m, names.get(m, unnamed)) for m in seats.members], []


def _answer(request_id: int, request: DeflexRequest) -> dict[str, Any]:
    return {"request": request_id, **request_json(request)}


def file_request(
    db: Store,
    sid: str,
    intent: str,
    actor: str,
    accept_billing_change: bool,
    at: datetime,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """File a request; with ``accept_billing_change`` also accept it and submit it.

    Refused (DeflexRefused) for an account without Flex, with a request already open, or on
    User + Usage (with the seats that would be charged next cycle under the catalog's seat
    basis, users who logged in this month or Workers, and what stops the charge).
    """
    terms = _seat_terms(settings, at)

    def work() -> dict[str, Any]:
        with db.unit_of_work() as uow:
            _require_account(uow, sid)
            instance = load_instances(uow).get(sid)
            plan = instance.plan_at(at) if instance else None
            if plan is None:
                raise DeflexRefused(f"account {sid} has no Flex plan in force: nothing to remove")
            who = Actor(actor, "account")
            open_ids = uow.deflex.open_for(sid)  # at most one: filing refuses a second
            if open_ids:
                open_id = open_ids[0]
                stored = uow.deflex.get(open_id)
                assert stored is not None
                draft = request_from_json(json.loads(stored.document))
                if draft.status == "draft" and draft.intent == intent and accept_billing_change:
                    # filing again with the acceptance completes the earlier draft
                    request = submit(accept_step(draft, who, at), who, at)
                    uow.deflex.update(open_id, request.status, _text(request), None, at)
                    uow.commit()
                    return _answer(open_id, request)
                raise DeflexRefused(
                    f"account {sid} already has an open deflexification request ({open_id}, "
                    f"{draft.status}, intent {draft.intent}); acknowledge or withdraw it, or "
                    "wait for support to process it"
                )
            resources = _resources(uow, sid)
            workers: list[SeatWorker] = []
            users: list[str] = []
            if plan == "user-usage":  # only its refusal projects seats
                workers, users = _next_cycle(uow, sid, at, terms.basis, resources)
            request = file_draft(
                sid,
                plan,
                intent,
                who,
                at,
                workers,
                terms.price,
                currency=terms.currency,
                checklist=compute_checklist(sid, resources),
                seat_basis=terms.basis,
                users=users,
            )
            if accept_billing_change:
                request = submit(accept_step(request, who, at), who, at)
            request_id = uow.deflex.add(sid, request.status, intent, _text(request), at)
            uow.commit()
            return _answer(request_id, request)

    return retrying(work)


def _text(request: DeflexRequest) -> str:
    return json.dumps(request_json(request), sort_keys=True)


def _step(db: Store, request_id: int, change: Any, at: datetime) -> dict[str, Any]:
    """Load request ``request_id``, apply ``change(request) -> request``, store it."""

    def work() -> dict[str, Any]:
        with db.unit_of_work() as uow:
            stored = uow.deflex.get(request_id)
            if stored is None:
                raise NotFoundError(f"deflexification request {request_id} does not exist")
            before = request_from_json(json.loads(stored.document))
            after = change(before)
            uow.deflex.update(request_id, after.status, _text(after), after.effective, at)
            if after.removes_flex_workspace and not before.removes_flex_workspace:
                resources = without_flex_workspace(_resources(uow, after.account))
                uow.resources.replace(after.account, resources.model_dump_json(), at)
            uow.commit()
            return _answer(request_id, after)

    result: dict[str, Any] = retrying(work)
    return result


def acknowledge(db: Store, request_id: int, actor: str, at: datetime) -> dict[str, Any]:
    """The account accepts the billing change of a draft request, which submits it."""
    who = Actor(actor, "account")
    return _step(db, request_id, lambda r: submit(accept_step(r, who, at), who, at), at)


def _support(db: Store, name: str, action: str) -> Actor:
    if not is_support_user(db, name):
        raise PermissionDenied(
            name,
            "account",
            action,
            "only a registered support user can do this ('ratecard support add NAME')",
        )
    return Actor(name, "support")


def process(
    db: Store,
    request_id: int,
    support_user: str,
    at: datetime,
    effective: datetime | None = None,
) -> dict[str, Any]:
    """Support processes a submitted request: Flex billing stops at ``effective`` (or ``at``)."""
    who = _support(db, support_user, "process a deflexification request")
    return _step(db, request_id, lambda r: process_step(r, who, at, effective), at)


def reject(
    db: Store, request_id: int, support_user: str, at: datetime, reason: str
) -> dict[str, Any]:
    """Support rejects a submitted request, saying why."""
    who = _support(db, support_user, "reject a deflexification request")
    return _step(db, request_id, lambda r: reject_step(r, who, at, reason), at)


def withdraw(db: Store, request_id: int, actor: str, at: datetime) -> dict[str, Any]:
    """The account withdraws its draft or submitted request."""
    who = Actor(actor, "account")
    return _step(db, request_id, lambda r: withdraw_step(r, who, at), at)


def show(db: Store, request_id: int) -> dict[str, Any]:
    """The request with its state, acknowledgment, checklist and audit trail."""
    with db.unit_of_work() as uow:
        stored = uow.deflex.get(request_id)
    if stored is None:
        raise NotFoundError(f"deflexification request {request_id} does not exist")
    return {"request": request_id, **json.loads(stored.document)}


def list_requests(db: Store, accounts: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every request (or those of ``accounts``), newest first, each as :func:`show` gives it
    (support's queue, an account's request status)."""
    with db.unit_of_work() as uow:
        stored = uow.deflex.listing(accounts)
    return [{"request": s.id, **json.loads(s.document)} for s in stored]


def account_of(db: Store, request_id: int) -> str:
    """The account a request belongs to (for the API's tenant checks)."""
    with db.unit_of_work() as uow:
        stored = uow.deflex.get(request_id)
    if stored is None:
        raise NotFoundError(f"deflexification request {request_id} does not exist")
    return stored.account


def forget_workers(db: Store, sid: str, workers: list[str], at: datetime) -> None:
    """Drop deleted workers from the account's imported resources (if any were imported)."""

    def work() -> None:
        with db.unit_of_work() as uow:
            document = uow.resources.get(sid)
            if document is None:
                return
            resources = AccountResources.model_validate_json(document)
            kept = [w for w in resources.workers if w.sid not in set(workers)]
            updated = resources.model_copy(update={"workers": kept})
            uow.resources.replace(sid, updated.model_dump_json(), at)
            uow.commit()

    retrying(work)
