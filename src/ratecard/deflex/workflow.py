"""The deflexification request (SPEC section 5) as an immutable value and pure transitions.

A request moves ``draft -> submitted -> processed``, or ends ``rejected`` or ``withdrawn``::

    file_request  (account)  -> draft          refused for User + Usage, with the remedy
    accept_billing_change (account) draft      stores the exact acknowledgment text and time
    submit        (account)  draft -> submitted      refused until the change is accepted
    process       (support)  submitted -> processed  sets the effective time
    reject        (support)  submitted -> rejected   with a reason
    withdraw      (account)  draft | submitted -> withdrawn

There is no self-service removal: only a support user processes or rejects, and the account's
own steps (filing, accepting, submitting, withdrawing) are the account's alone. Every step
appends an :class:`AuditEntry`; a step the state does not allow raises
:class:`~ratecard.errors.RequestStateError`, a step by the wrong role
:class:`~ratecard.errors.PermissionDenied`. Nothing here reads a clock: callers pass times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, NamedTuple, Protocol

from ratecard.accounts import ACCOUNT_SID
from ratecard.deflex.checklist import Finding
from ratecard.errors import DeflexError, DeflexRefused, PermissionDenied, RequestStateError
from ratecard.flex.seats import seat_charge
from ratecard.money import D, mul, round_money

Role = Literal["account", "support"]
Intent = Literal["stop_billing", "decommission"]
PlanId = Literal["named-user", "active-user-hours", "user-usage"]
Status = Literal["draft", "submitted", "processed", "rejected", "withdrawn"]

ROLES: tuple[Role, ...] = ("account", "support")
INTENTS: tuple[Intent, ...] = ("stop_billing", "decommission")
PLANS: tuple[PlanId, ...] = ("named-user", "active-user-hours", "user-usage")
#: Plans whose Flex billing meters support can detach (SPEC section 5).
ELIGIBLE_PLANS: tuple[PlanId, ...] = ("named-user", "active-user-hours")

#: What each state allows next; the final states allow nothing.
ALLOWED: dict[Status, tuple[str, ...]] = {
    "draft": ("accept_billing_change", "submit", "withdraw"),
    "submitted": ("process", "reject", "withdraw"),
    "processed": (),
    "rejected": (),
    "withdrawn": (),
}


class NamedWorker(Protocol):
    """A Worker as the refusal lists it: a resource :class:`~ratecard.deflex.resources.Worker`
    or :class:`SeatWorker` (a worker known only from its events)."""

    @property
    def sid(self) -> str: ...

    @property
    def friendly_name(self) -> str: ...


@dataclass(frozen=True)
class SeatWorker:
    """A worker counted from ``worker_created`` events, named as the resources name it."""

    sid: str
    friendly_name: str


class BillingChangeRow(NamedTuple):
    """One row of the billing acknowledgment table."""

    service: str
    before: str
    after: str


#: The billing change the account must accept before submitting (SPEC section 5).
BILLING_CHANGE_ROWS: tuple[BillingChangeRow, ...] = (
    BillingChangeRow(
        "Voice",
        "unbundled: Programmable Voice Platform + PSTN connectivity",
        "standard Programmable Voice only",
    ),
    BillingChangeRow(
        "Flex plan", "Active User Hours or Named Users billed", "Flex plan billing stops"
    ),
    BillingChangeRow(
        "TaskRouter tasks, Studio engagements",
        "included in the Flex price",
        "each task and engagement billed",
    ),
)


def render_acknowledgment(rows: Sequence[BillingChangeRow]) -> str:
    """The acknowledgment as plain text: a heading, an aligned table and the statement."""
    table = [BillingChangeRow("service", "before (Flex billing)", "after (standard billing)")]
    table += list(rows)
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return (
        "Billing change when Flex is removed from this account:\n\n"
        + "\n".join(lines)
        + "\n\nI accept that from the effective time of this request the account is billed "
        "as in the 'after' column."
    )


#: The exact text an account accepts; stored with the request when accepted.
BILLING_ACKNOWLEDGMENT = render_acknowledgment(BILLING_CHANGE_ROWS)


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a user of the account, or a support user."""

    name: str
    role: Role

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise DeflexError("an actor needs a name")
        if self.role not in ROLES:
            raise DeflexError(f"unknown role {self.role!r}; expected one of: {', '.join(ROLES)}")


@dataclass(frozen=True)
class AuditEntry:
    """One recorded step: what was done, from which state to which, by whom and when."""

    action: str
    from_state: Status | None
    to_state: Status
    actor: str
    role: Role
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Acknowledgment:
    """The billing change as the account accepted it: the exact text, who and when."""

    text: str
    accepted_by: str
    at: datetime


@dataclass(frozen=True)
class DeflexRequest:
    """A deflexification request. Immutable: every transition returns a new value."""

    account: str
    plan: PlanId
    intent: Intent
    status: Status
    audit: tuple[AuditEntry, ...]
    checklist: tuple[Finding, ...] = ()
    acknowledgment: Acknowledgment | None = None
    effective: datetime | None = None

    @property
    def filed_at(self) -> datetime:
        return self.audit[0].at

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        return ALLOWED[self.status]

    @property
    def removes_flex_workspace(self) -> bool:
        """True once a ``decommission`` is processed (``stop_billing`` leaves resources)."""
        return self.status == "processed" and self.intent == "decommission"


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise DeflexError(f"{what} {at.isoformat()} has no UTC offset")
    return at.astimezone(UTC)


def _require(actor: Actor, role: Role, action: str, reason: str) -> None:
    if actor.role != role:
        raise PermissionDenied(actor.name, actor.role, action, reason)


def _step(
    request: DeflexRequest,
    action: str,
    actor: Actor,
    at: datetime,
    to_state: Status,
    note: str = "",
) -> DeflexRequest:
    """Check the state allows ``action`` and time runs forward; append the audit entry."""
    if action not in ALLOWED[request.status]:
        raise RequestStateError(action, request.status, ALLOWED[request.status])
    at = _utc(at, "time")
    last = request.audit[-1].at
    if at < last:
        raise DeflexError(
            f"{action} at {at.isoformat()} is before the request's last step ({last.isoformat()})"
        )
    entry = AuditEntry(action, request.status, to_state, actor.name, actor.role, at, note)
    return replace(request, status=to_state, audit=(*request.audit, entry))


_ACCOUNT_ONLY = "only the account itself files, accepts, submits or withdraws its request"
_SUPPORT_ONLY = (
    "there is no self-service removal of Flex: a support user reviews and processes or "
    "rejects the request"
)


def user_usage_refusal(
    account: str,
    workers: Sequence[NamedWorker],
    seat_price: Decimal | int | str,
    currency: str = "USD",
    *,
    seat_basis: str = "login",
    users: Sequence[str] = (),
) -> DeflexRefused:
    """The answer to a User + Usage account: why not, and what stops the seat charge instead.

    The projection follows the catalog's ``seat_basis`` (SPEC section 2): under ``login`` the
    seats next cycle are ``users`` (who logged in this month) if they log in again; under
    ``worker_exists`` they are ``workers`` (the Workers that will still exist), whose deletion
    stops the charge. The other list is ignored: it charges nothing under that basis.
    """
    price = D(seat_price)
    what, stops = seat_charge(seat_basis)
    by_login = seat_basis == "login"
    listed = [] if by_login else sorted(workers, key=lambda w: w.sid)
    logged_in = sorted(set(users)) if by_login else []
    projected = round_money(mul(D(len(listed) + len(logged_in)), price), currency)
    reason = (
        "Flex cannot be removed by request from an account on the User + Usage plan "
        "(Capacity Based Pricing): that plan has no Flex billing meters for support to "
        f"detach. Its {round_money(price, currency)} {currency} monthly seat charge counts "
        f"{what} (this catalog's seat basis: {seat_basis}): {stops}. Every other service is "
        "already billed pay-as-you-go and does not change."
    )
    command = None
    if listed:
        command = f"ratecard flex workers delete {account} " + " ".join(
            f"--worker {w.sid}" for w in listed
        )
    elif by_login and not logged_in:
        reason += " No user logged in to Flex this month, so no seat charge is due next cycle."
    elif not by_login:
        reason += " This account has no Workers, so no seat charge is due next cycle."
    return DeflexRefused(
        reason,
        workers=listed,
        seat_price=price,
        projected_charge=projected,
        currency=currency,
        command=command,
        seat_basis=seat_basis,
        users=logged_in,
        stops_charge=stops,
    )


def file_request(
    account: str,
    plan: str,
    intent: str,
    actor: Actor,
    at: datetime,
    workers: Sequence[NamedWorker],
    seat_price: Decimal | int | str,
    *,
    currency: str = "USD",
    checklist: Sequence[Finding] = (),
    seat_basis: str = "login",
    users: Sequence[str] = (),
) -> DeflexRequest:
    """File a draft request for ``account`` on ``plan``; refuse what SPEC section 5 refuses.

    ``workers``, ``users``, ``seat_price`` and ``seat_basis`` (the catalog's, for User + Usage)
    are used only to answer a User + Usage account (see :func:`user_usage_refusal`).
    ``checklist`` records the findings shown to the account.
    """
    _require(actor, "account", "file a deflexification request", _ACCOUNT_ONLY)
    if not ACCOUNT_SID.match(account):
        raise DeflexRefused(f"{account!r} is not an account sid (AC + 32 lowercase hex digits)")
    if plan not in PLANS:
        raise DeflexRefused(f"unknown Flex plan {plan!r}; expected one of: {', '.join(PLANS)}")
    if intent not in INTENTS:
        raise DeflexRefused(f"unknown intent {intent!r}; expected one of: {', '.join(INTENTS)}")
    if plan not in ELIGIBLE_PLANS:
        raise user_usage_refusal(
            account, workers, seat_price, currency, seat_basis=seat_basis, users=users
        )
    at = _utc(at, "time")
    entry = AuditEntry("file", None, "draft", actor.name, actor.role, at, f"intent {intent}")
    return DeflexRequest(
        account=account,
        plan=plan,
        intent=intent,
        status="draft",
        audit=(entry,),
        checklist=tuple(checklist),
    )


def accept_billing_change(request: DeflexRequest, actor: Actor, at: datetime) -> DeflexRequest:
    """Record that the account accepted :data:`BILLING_ACKNOWLEDGMENT` (text and time)."""
    _require(actor, "account", "accept the billing change", _ACCOUNT_ONLY)
    ack = Acknowledgment(BILLING_ACKNOWLEDGMENT, actor.name, _utc(at, "time"))
    accepted = _step(request, "accept_billing_change", actor, at, "draft", "accepted")
    return replace(accepted, acknowledgment=ack)


def submit(request: DeflexRequest, actor: Actor, at: datetime) -> DeflexRequest:
    """Submit a draft for review; refused until the billing change is accepted."""
    _require(actor, "account", "submit the request", _ACCOUNT_ONLY)
    if request.status == "draft" and request.acknowledgment is None:
        raise DeflexRefused(
            "the billing change must be accepted before the request can be submitted "
            "(review the table and accept it, e.g. with --accept-billing-change)"
        )
    return _step(request, "submit", actor, at, "submitted")


def process(
    request: DeflexRequest,
    actor: Actor,
    at: datetime,
    effective: datetime | None = None,
    note: str = "",
) -> DeflexRequest:
    """Process a submitted request: Flex billing stops at ``effective`` (default ``at``).

    The effective time may be in the future but not before the submission: usage before the
    submission was billed under Flex, as the account acknowledged, and is not re-priced.
    """
    _require(actor, "support", "process a deflexification request", _SUPPORT_ONLY)
    when = _utc(effective if effective is not None else at, "effective time")
    if request.status == "submitted":
        submitted = request.audit[-1].at
        if when < submitted:
            raise DeflexRefused(
                f"the effective time {when.isoformat()} is before the request was submitted "
                f"({submitted.isoformat()})"
            )
    text = note or f"effective {when.isoformat()}"
    return replace(_step(request, "process", actor, at, "processed", text), effective=when)


def reject(request: DeflexRequest, actor: Actor, at: datetime, reason: str) -> DeflexRequest:
    """Reject a submitted request, saying why."""
    _require(actor, "support", "reject a deflexification request", _SUPPORT_ONLY)
    if not reason.strip():
        raise DeflexRefused("a rejection needs a reason the account can read")
    return _step(request, "reject", actor, at, "rejected", reason.strip())


def withdraw(request: DeflexRequest, actor: Actor, at: datetime, note: str = "") -> DeflexRequest:
    """Withdraw a draft or submitted request (the account's own decision)."""
    _require(actor, "account", "withdraw the request", _ACCOUNT_ONLY)
    return _step(request, "withdraw", actor, at, "withdrawn", note)
