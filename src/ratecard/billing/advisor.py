"""The plan advisor: one month of usage priced under every Flex plan and under standard billing.

For an account with (or without) a Flex instance, :func:`compare` re-prices the same month of
events with the account's plan replaced by each plan in turn, and once as if Flex were removed,
and says which options the eligibility rules allow, why not otherwise, and which are
irreversible (a move to User + Usage can never be undone). The current row is always the
month's real invoice: in a month whose arrangement changed (Flex enabled or removed
mid-month) it is a row of its own, ``as-invoiced``, beside the whole-month rows. Pure: the
caller supplies the events, the history and, optionally, today's date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from ratecard.accounts import Account
from ratecard.billing.invoice import Invoice
from ratecard.billing.monthly import bill_month
from ratecard.catalog.flex import PLAN_IDS, FlexSettings
from ratecard.catalog.model import Catalog
from ratecard.errors import RatecardError
from ratecard.flex.history import FlexInstance, PlanPeriod, Segment, check_change
from ratecard.flex.rules import Refusal
from ratecard.flex.seats import seat_charge
from ratecard.money import round_money, total
from ratecard.periods import Month
from ratecard.usage.events import Event

STANDARD = "standard"
STANDARD_NAME = "Standard billing (no Flex)"
#: The plan of the current row when the month's invoice mixed options (see :func:`compare`).
AS_INVOICED = "as-invoiced"
_AS_INVOICED_NOTE = "The month's invoice. Each other row prices the whole month under one option."

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
    #: What the row prices: one whole-month segment, or the month as invoiced (``standard``
    #: for parts without Flex billing).
    segments: tuple[Segment, ...] = ()


def compare(
    catalog: Catalog,
    accounts: Sequence[Account],
    events: Sequence[Event],
    instances: Mapping[str, FlexInstance],
    account_sid: str,
    month: Month,
    today: date | None = None,
) -> list[Option]:
    """Price ``month`` for ``account_sid`` under every plan and under standard billing.

    The current row is the month's real invoice (the same :func:`bill_month` call as
    ``ratecard invoice``). When one plan (or standard billing) covered the whole month, that
    plan's row is the current one. When the arrangement changed during the month (Flex
    enabled mid-month, a deflexification), no whole-month row is what was invoiced: the
    current row is then an extra first row, plan ``as-invoiced``, and every other row prices
    the whole month under its option and says so in its note.
    """
    settings = catalog.flex
    if settings is None:
        raise RatecardError(f"catalog '{catalog.name}' has no [flex] section")
    by_sid = {a.sid: a for a in accounts}
    if account_sid not in by_sid:
        raise RatecardError(f"unknown account {account_sid}")
    account = by_sid[account_sid]
    billing = account.parent or account.sid
    instance = instances.get(account_sid)
    pieces = arrangement(instance, month)
    # eligibility is judged as a change at the start of the month, from the plan then in force
    start_plan = pieces[0].plan
    whole = start_plan if len(pieces) == 1 else None
    fee_categories = {p.category for p in settings.plans.values()}

    def priced(flex: Mapping[str, FlexInstance]) -> tuple[Decimal, Decimal]:
        (invoice,) = bill_month(catalog, accounts, events, month, only=billing, flex=flex)
        return invoice.total, _fee(invoice, account_sid, fee_categories)

    invoiced = priced(instances)
    rows: list[tuple[str, str, tuple[Segment, ...], Decimal, Decimal]] = []
    if whole is None:
        rows.append((AS_INVOICED, _as_invoiced_name(settings, pieces), pieces, *invoiced))
    for plan in (*PLAN_IDS, STANDARD):
        covered = (Segment(plan, month.start, month.end),)
        if plan == whole:
            rows.append((plan, _name(settings, plan), covered, *invoiced))
            continue
        trial = dict(instances)
        trial[account_sid] = _with_plan(account_sid, instance, plan, month)
        rows.append((plan, _name(settings, plan), covered, *priced(trial)))
    base = invoiced[0]
    result = []
    for plan, name, segments, amount, fee in rows:
        current = plan == (whole or AS_INVOICED)
        refusals = (
            []
            if plan == AS_INVOICED
            else _refusals(settings, account, instance, start_plan, plan, month, today)
        )
        notes = []
        if plan == AS_INVOICED:
            notes.append(_AS_INVOICED_NOTE)
        elif whole is None:
            changes = ", ".join(_when(p.start) for p in pieces[1:])
            notes.append(
                f"The whole month under {name}, for comparison; the invoice changed on {changes}."
            )
        if plan == STANDARD and start_plan != STANDARD and not refusals:
            notes.append(_DEFLEX_BY_REQUEST)
        result.append(
            Option(
                plan=plan,
                name=name,
                total=amount,
                flex_fee=fee,
                difference=amount - base,
                current=current,
                allowed=not refusals,
                refusals=tuple(refusals),
                irreversible=plan == "user-usage" and start_plan != "user-usage",
                note=" ".join(notes),
                segments=segments,
            )
        )
    return result


def arrangement(instance: FlexInstance | None, month: Month) -> tuple[Segment, ...]:
    """How ``month`` was billed, in order: each plan's part and the standard-billing gaps
    (plan ``standard``) between them, adjacent parts on one option merged."""
    pieces: list[Segment] = []
    cursor = month.start
    for segment in instance.month_segments(month) if instance else ():
        if segment.start > cursor:
            pieces.append(Segment(STANDARD, cursor, segment.start))
        pieces.append(segment)
        cursor = segment.end
    if cursor < month.end:
        pieces.append(Segment(STANDARD, cursor, month.end))
    merged: list[Segment] = []
    for piece in pieces:
        if merged and merged[-1].plan == piece.plan:
            merged[-1] = Segment(piece.plan, merged[-1].start, piece.end)
        else:
            merged.append(piece)
    return tuple(merged)


def _name(settings: FlexSettings, plan: str) -> str:
    return STANDARD_NAME if plan == STANDARD else settings.plans[plan].name


def _when(moment: datetime) -> str:
    """A boundary as a customer reads it: the day when it is midnight UTC, else the time."""
    if moment.timetz() == time(0, tzinfo=UTC):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _as_invoiced_name(settings: FlexSettings, pieces: Sequence[Segment]) -> str:
    """``As invoiced: Named User, then Standard billing (no Flex) from 2026-07-16``."""
    first, *later = pieces
    parts = [_name(settings, first.plan)]
    parts += [f"{_name(settings, p.plan)} from {_when(p.start)}" for p in later]
    return "As invoiced: " + ", then ".join(parts)


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
        "segments": [
            {"plan": s.plan, "start": _iso(s.start), "end": _iso(s.end)} for s in option.segments
        ],
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
        segments=tuple(
            Segment(s["plan"], _moment(s["start"]), _moment(s["end"]))
            for s in data.get("segments", ())
        ),
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fee(invoice: Invoice, account_sid: str, categories: set[str]) -> Decimal:
    """The account's own plan-fee lines (its breakdown share when the invoice has several)."""
    lines = invoice.lines
    for share in invoice.breakdown:
        if share.account == account_sid:
            lines = share.lines
    return round_money(
        total(line.amount for line in lines if line.category in categories), invoice.currency
    )


def _with_plan(sid: str, instance: FlexInstance | None, plan: str, month: Month) -> FlexInstance:
    """The instance with ``plan`` (None for standard) in force for the whole month."""
    earlier = tuple(p for p in (instance.periods if instance else ()) if p.start < month.start)
    return FlexInstance(
        sid, (*earlier, PlanPeriod(None if plan == STANDARD else plan, month.start))
    )


def _user_usage_stays(settings: FlexSettings) -> Refusal:
    """Why standard billing is out of reach from User + Usage, and what stops its seat charge
    under the catalog's seat basis (deleting Workers does nothing when seats are logins)."""
    basis = settings.plans["user-usage"].seat_basis
    what, stops = seat_charge(basis)
    return Refusal(
        "user-usage-not-deflexifiable",
        "User + Usage cannot be removed by a deflexification request. Its seat charge counts "
        f"{what} (seat basis: {basis}): {stops}.",
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
    """Why moving from ``current`` (in force at the month's start) to ``plan`` is refused."""
    if plan == current:
        return []
    if plan == STANDARD:
        return [_user_usage_stays(settings)] if current == "user-usage" else []
    action = "enable" if current == STANDARD else "switch"
    return check_change(settings, account, instance, action, plan, month.start.date(), today)
