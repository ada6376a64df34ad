"""The plan advisor: one month of usage priced under every Flex plan and under standard billing.

For an account with (or without) a Flex instance, :func:`compare` re-prices the same month of
events with the account's plan replaced by each plan in turn, and once as if Flex were removed,
and says which options the eligibility rules allow, why not otherwise, and which are
irreversible (a move to User + Usage can never be undone). Pure: the caller supplies the
events, the history and, optionally, today's date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ratecard.accounts import Account
from ratecard.billing.invoice import Invoice
from ratecard.billing.monthly import bill_month
from ratecard.billing.periods import Month
from ratecard.catalog.model import Catalog
from ratecard.errors import RatecardError
from ratecard.flex.history import FlexInstance, PlanPeriod, check_change
from ratecard.flex.rules import Refusal
from ratecard.flex.schema import PLAN_IDS, FlexSettings
from ratecard.money import round_money, total
from ratecard.usage.events import Event

STANDARD = "standard"
STANDARD_NAME = "Standard billing (no Flex)"

_DEFLEX_UU = Refusal(
    "user-usage-not-deflexifiable",
    "User + Usage cannot be removed by a deflexification request; delete the TaskRouter "
    "Workers instead, which stops the per-seat charge from the next billing cycle.",
)
_DEFLEX_BY_REQUEST = (
    "Removing Flex is not self-service: file a deflexification request "
    "('ratecard deflex request'); support processes it."
)


@dataclass(frozen=True)
class Option:
    """One way to bill the month. Money in catalog currency, rounded as on the invoice."""

    plan: str  # a plan id, or "standard" (Flex removed)
    name: str
    total: Decimal  # the billing account's invoice total under this option
    flex_fee: Decimal  # the plan fee lines (seats or hours) of the account
    difference: Decimal  # total minus the current option's total
    current: bool
    allowed: bool
    refusals: tuple[Refusal, ...]
    irreversible: bool
    note: str = ""


def compare(
    catalog: Catalog,
    accounts: Sequence[Account],
    events: Sequence[Event],
    instances: Mapping[str, FlexInstance],
    account_sid: str,
    month: Month,
    today: date | None = None,
) -> list[Option]:
    """Price ``month`` for ``account_sid`` under every plan and under standard billing."""
    settings = catalog.flex
    if settings is None:
        raise RatecardError(f"catalog '{catalog.name}' has no [flex] section")
    by_sid = {a.sid: a for a in accounts}
    if account_sid not in by_sid:
        raise RatecardError(f"unknown account {account_sid}")
    account = by_sid[account_sid]
    billing = account.parent or account.sid
    instance = instances.get(account_sid)
    current = (instance.plan_at(month.start) if instance else None) or STANDARD
    options: list[tuple[str, Decimal, Decimal]] = []
    for plan in (*PLAN_IDS, STANDARD):
        trial = dict(instances)
        trial[account_sid] = _with_plan(account_sid, instance, plan, month)
        (invoice,) = bill_month(catalog, accounts, events, month, only=billing, flex=trial)
        fee = _fee(invoice, account_sid, settings.plans[plan].category if plan != STANDARD else "")
        options.append((plan, invoice.total, fee))
    base = next(t for p, t, _ in options if p == current)
    result = []
    for plan, amount, fee in options:
        refusals = _refusals(settings, account, instance, current, plan, month, today)
        result.append(
            Option(
                plan=plan,
                name=settings.plans[plan].name
                if plan != STANDARD
                else "Standard billing (no Flex)",
                total=amount,
                flex_fee=fee,
                difference=amount - base,
                current=plan == current,
                allowed=not refusals,
                refusals=tuple(refusals),
                irreversible=plan == "user-usage" and current != "user-usage",
                note=_DEFLEX_BY_REQUEST
                if plan == STANDARD and current != STANDARD and not refusals
                else "",
            )
        )
    return result


def option_json(option: Option) -> dict[str, Any]:
    """An option as JSON-ready data (money as decimal strings)."""
    return {
        "plan": option.plan,
        "name": option.name,
        "total": str(option.total),
        "flex_fee": str(option.flex_fee),
        "difference": str(option.difference),
        "current": option.current,
        "allowed": option.allowed,
        "irreversible": option.irreversible,
        "refusals": [{"rule": r.rule, "explanation": r.explanation} for r in option.refusals],
        "note": option.note,
    }


def option_from_json(data: dict[str, Any]) -> Option:
    """The option :func:`option_json` wrote."""
    return Option(
        plan=data["plan"],
        name=data["name"],
        total=Decimal(data["total"]),
        flex_fee=Decimal(data["flex_fee"]),
        difference=Decimal(data["difference"]),
        current=data["current"],
        allowed=data["allowed"],
        refusals=tuple(Refusal(r["rule"], r["explanation"]) for r in data["refusals"]),
        irreversible=data["irreversible"],
        note=data["note"],
    )


def _fee(invoice: Invoice, account_sid: str, category: str) -> Decimal:
    """The account's own plan-fee lines (its breakdown share when the invoice has several)."""
    lines = invoice.lines
    for share in invoice.breakdown:
        if share.account == account_sid:
            lines = share.lines
    return round_money(
        total(line.amount for line in lines if line.category == category), invoice.currency
    )


def _with_plan(sid: str, instance: FlexInstance | None, plan: str, month: Month) -> FlexInstance:
    """The instance with ``plan`` (None for standard) in force for the whole month."""
    earlier = tuple(p for p in (instance.periods if instance else ()) if p.start < month.start)
    return FlexInstance(
        sid, (*earlier, PlanPeriod(None if plan == STANDARD else plan, month.start))
    )


def _refusals(
    settings: FlexSettings,
    account: Account,
    instance: FlexInstance | None,
    current: str,
    plan: str,
    month: Month,
    today: date | None,
) -> list[Refusal]:
    if plan == current:
        return []
    if plan == STANDARD:
        return [_DEFLEX_UU] if current == "user-usage" else []
    action = "enable" if current == STANDARD else "switch"
    return check_change(settings, account, instance, action, plan, month.start.date(), today)
