"""Flex plan handlers: status, enable, switch, compare (the plan advisor), delete workers.

Loads the account, its plan history and processed deflexifications from the store, applies
the pure rules of :mod:`ratecard.flex`, persists the change. ``today`` is passed in by the
adapter: the rules refuse switches that would take effect in the past.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ratecard.accounts import Account
from ratecard.billing.advisor import compare as compare_options
from ratecard.billing.advisor import option_json
from ratecard.catalog import Catalog, load_catalog
from ratecard.catalog.flex import PLAN_IDS, FlexSettings
from ratecard.errors import NotFoundError, RatecardError
from ratecard.flex.history import (
    FlexInstance,
    apply_flex_change,
    check_change,
    next_month_start,
    no_plan_possible,
)
from ratecard.flex.rules import Refusal
from ratecard.periods import Month
from ratecard.service.deflex import forget_workers
from ratecard.service.ingest import Outcome, ingest_batch
from ratecard.service.invoices import load_events
from ratecard.service.ports import Store, UnitOfWork, load_instances
from ratecard.service.settings import Settings
from ratecard.store.database import retrying

ACTIONS = ("enable", "switch")


def _catalog(settings: Settings | None) -> tuple[Catalog, FlexSettings]:
    catalog = load_catalog((settings or Settings.from_env()).catalog)
    if catalog.flex is None:
        raise RatecardError(f"catalog '{catalog.name}' has no [flex] section")
    return catalog, catalog.flex


def _account(uow: UnitOfWork, sid: str) -> Account:
    account = uow.accounts.get(sid)
    if account is None:
        raise NotFoundError(f"account {sid} does not exist")
    return account


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _refusals_json(refusals: list[Refusal]) -> list[dict[str, str]]:
    return [{"rule": r.rule, "explanation": r.explanation} for r in refusals]


def no_plan_json(flex: FlexSettings, account: Account) -> dict[str, Any]:
    """``no_plan_possible`` and the rules that leave the account no Flex plan at all (a
    subaccount created with Flex), said once rather than only plan by plan."""
    refused = no_plan_possible(flex, account)
    return {"no_plan_possible": bool(refused), "no_plan_refusals": _refusals_json(refused)}


def status_of(
    flex: FlexSettings, account: Account, instance: FlexInstance | None, today: date
) -> dict[str, Any]:
    """The account's plan today, its history, and which plans it could move to and why not."""
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    current = instance.plan_at(now) if instance else None
    options = {}
    for plan in PLAN_IDS:
        action = "enable" if current is None else "switch"
        effective = today if action == "enable" else next_month_start(today)
        refusals = check_change(flex, account, instance, action, plan, effective, today)
        options[plan] = {
            "allowed": not refusals,
            "action": action,
            "effective": effective.isoformat(),
            "refusals": _refusals_json(refusals),
        }
    return {
        "account": account.sid,
        "created_with_flex": account.created_with_flex,
        "subaccount": account.parent is not None,
        "plan": current,
        "history": [
            {"plan": p.plan, "effective": _time(p.start)}
            for p in (instance.periods if instance else ())
        ],
        "options": options,
        **no_plan_json(flex, account),
    }


def status(
    db: Store, sid: str, today: date | None = None, *, settings: Settings | None = None
) -> dict[str, Any]:
    """``ratecard flex status``: the plan in force, history and eligibility."""
    _, flex = _catalog(settings)
    with db.unit_of_work() as uow:
        account = _account(uow, sid)
        instance = load_instances(uow).get(sid)
    return status_of(flex, account, instance, today or datetime.now(UTC).date())


def change_plan(
    db: Store,
    sid: str,
    action: str,
    plan: str,
    effective: date | None,
    today: date,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Enable Flex on ``plan`` or switch to it; raise PlanChangeRefusedError with every rule.

    Defaults: enabling takes effect ``today``; a switch at the start of next month.
    """
    if action not in ACTIONS:
        raise RatecardError(f"unknown action {action!r}; expected enable or switch")
    _, flex = _catalog(settings)
    when = effective or (today if action == "enable" else next_month_start(today))

    def work() -> dict[str, Any]:
        with db.unit_of_work() as uow:
            account = _account(uow, sid)
            instance = load_instances(uow).get(sid)
            changed = apply_flex_change(flex, account, instance, action, plan, when, today)
            uow.flex.set_period(sid, plan, when, created=today)
            uow.commit()
        return status_of(flex, account, changed, today)

    return retrying(work)


def compare(
    db: Store,
    sid: str,
    month: Month,
    today: date | None = None,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The plan advisor for a stored account: ``{"account", "month", "options": [...]}``."""
    catalog, flex = _catalog(settings)
    with db.unit_of_work() as uow:
        account = _account(uow, sid)
        accounts = uow.accounts.list()
        owner = account.parent or account.sid
        members = [a.sid for a in accounts if a.sid == owner or a.parent == owner]
        events = load_events(uow, members, month)
        instances = load_instances(uow)
    options = compare_options(catalog, accounts, events, instances, sid, month, today)
    return {
        "account": sid,
        "month": str(month),
        "options": [option_json(o) for o in options],
        **no_plan_json(flex, account),
    }


def delete_workers(
    db: Store,
    sid: str,
    workers: list[str],
    at: datetime,
    *,
    settings: Settings | None = None,
) -> Outcome:
    """Record the deletion of TaskRouter workers at ``at``: under the worker seat basis their
    seat charge stops from the next month. Removes them from the imported resources too."""
    if not workers:
        raise RatecardError("name at least one worker (--worker WK...)")
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    events = [
        {
            "type": "worker_deleted",
            "id": f"worker-deleted-{worker}-{stamp}",
            "account": sid,
            "time": _time(at.astimezone(UTC)),
            "worker": worker,
        }
        for worker in workers
    ]
    outcome = ingest_batch(db, events, settings or Settings.from_env(), label="workers")
    forget_workers(db, sid, workers, at)
    return outcome
