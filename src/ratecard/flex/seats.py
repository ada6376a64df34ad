"""Counting Flex seats in a part of a month (SPEC section 2). Pure: events in, counts out.

* Named User: the most users provisioned at any moment of the interval. Users provisioned
  before it count from its start. At one instant, de-provisioning is applied before
  provisioning, so swapping a user for another at the same moment is not two seats.
* Active User Hours: time in any activity but the logout activity, clipped to the interval
  (a session crossing a month boundary is split at it); overlapping sessions of one user count
  once. Returned in seconds; the plan's hour rounding applies to the month total.
* User + Usage, ``login`` basis: unique users with at least one login in the interval, any role.
* User + Usage, ``worker_exists`` basis: workers that existed at any moment of the interval; a
  worker deleted during month M is a seat in M and not from M+1.

:func:`next_cycle_seats` projects next month's User + Usage seats under either basis, and
:func:`seat_charge` says in a customer's words what a seat is and what stops its charge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from ratecard.money import D, quotient
from ratecard.periods import Month
from ratecard.usage.events import (
    Event,
    FlexActivity,
    FlexLogin,
    FlexUserDeprovisioned,
    FlexUserProvisioned,
    WorkerCreated,
    WorkerDeleted,
)

SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class SeatCount:
    """Seats of one account in an interval, with the users/workers counted (for explanations)."""

    seats: Decimal
    members: tuple[str, ...]
    events: tuple[str, ...]


def peak_provisioned(
    events: Iterable[Event], account: str, start: datetime, end: datetime
) -> SeatCount:
    """The most users provisioned at any moment of ``[start, end)`` (Named User seats)."""
    changes = sorted(
        (
            e
            for e in events
            if isinstance(e, FlexUserProvisioned | FlexUserDeprovisioned)
            and e.account == account
            and e.time < end
        ),
        # de-provisioning first at one instant: a same-moment swap is not two seats
        key=lambda e: (e.time, isinstance(e, FlexUserProvisioned), e.id),
    )
    present: set[str] = set()
    for event in (e for e in changes if e.time < start):
        _apply(present, event)
    peak = set(present)
    ids: list[str] = []
    for event in (e for e in changes if e.time >= start):
        _apply(present, event)
        ids.append(event.id)
        if len(present) > len(peak):
            peak = set(present)
    return SeatCount(D(len(peak)), tuple(sorted(peak)), tuple(ids))


def _apply(present: set[str], event: FlexUserProvisioned | FlexUserDeprovisioned) -> None:
    if isinstance(event, FlexUserProvisioned):
        present.add(event.user)
    else:
        present.discard(event.user)


def active_seconds(
    events: Iterable[Event], account: str, start: datetime, end: datetime, logout_activity: str
) -> tuple[Decimal, tuple[str, ...], tuple[str, ...]]:
    """Exact seconds users spent in any activity but ``logout_activity`` within ``[start, end)``.

    Returns (seconds, users, event ids). Sessions of one user are merged where they overlap,
    so overlapping sessions are not counted twice.
    """
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    ids: list[str] = []
    for event in events:
        if not isinstance(event, FlexActivity) or event.account != account:
            continue
        if event.activity == logout_activity:
            continue
        lo, hi = max(event.start, start), min(event.end, end)
        if lo < hi:
            spans.setdefault(event.user, []).append((lo, hi))
            ids.append(event.id)
    micros = sum(_union_micros(user_spans) for user_spans in spans.values())
    return D(micros).scaleb(-6), tuple(sorted(spans)), tuple(ids)


def _union_micros(spans: Sequence[tuple[datetime, datetime]]) -> int:
    """Length of the union of spans in microseconds (event times carry at most microseconds)."""
    total = 0
    current: tuple[datetime, datetime] | None = None
    for lo, hi in sorted(spans):
        if current is None or lo > current[1]:
            if current is not None:
                total += _micros(current[1] - current[0])
            current = (lo, hi)
        else:
            current = (current[0], max(current[1], hi))
    if current is not None:
        total += _micros(current[1] - current[0])
    return total


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def hours(seconds: Decimal, rounding: str) -> Decimal:
    """Active seconds as billable hours: ``up`` rounds the total up to a whole hour, ``exact``
    keeps the quotient (to 20 places)."""
    exact = quotient(seconds, SECONDS_PER_HOUR)
    if rounding == "up":
        return exact.to_integral_value(rounding=ROUND_CEILING)
    return exact


def login_users(events: Iterable[Event], account: str, start: datetime, end: datetime) -> SeatCount:
    """Unique users with at least one Flex login in ``[start, end)`` (any role)."""
    users: set[str] = set()
    ids: list[str] = []
    for event in events:
        if isinstance(event, FlexLogin) and event.account == account and start <= event.time < end:
            users.add(event.user)
            ids.append(event.id)
    return SeatCount(D(len(users)), tuple(sorted(users)), tuple(ids))


def existing_workers(
    events: Iterable[Event], account: str, start: datetime, end: datetime
) -> SeatCount:
    """Workers that existed at any moment of ``[start, end)``.

    A worker exists from its creation until its deletion; one deleted exactly at ``start`` did
    not exist during the interval.
    """
    created: dict[str, tuple[datetime, str]] = {}
    deleted: dict[str, datetime] = {}
    for event in events:
        if isinstance(event, WorkerCreated) and event.account == account:
            created[event.worker] = (event.time, event.id)
        elif isinstance(event, WorkerDeleted) and event.account == account:
            deleted[event.worker] = event.time
    members = []
    ids = []
    for worker, (born, event_id) in created.items():
        gone = deleted.get(worker)
        if born < end and (gone is None or gone > start) and (gone is None or gone > born):
            members.append(worker)
            ids.append(event_id)
    return SeatCount(D(len(members)), tuple(sorted(members)), tuple(ids))


#: Per seat basis of User + Usage: what a seat is, and what stops its charge from next month.
#: The sources disagree on what a seat is (SPEC section 2), so the remedy a customer is told
#: must follow the catalog's basis: deleting Workers does nothing under ``login``.
_SEAT_CHARGE = {
    "login": (
        "each user who logs in to Flex in a month",
        "the charge stops from the next month for users who do not log in again, and removing "
        "a user's Flex access stops it for good; deleting TaskRouter Workers does not stop it",
    ),
    "worker_exists": (
        "each TaskRouter Worker that exists during a month",
        "delete the Workers and the seat charge stops from the next billing cycle",
    ),
}


def seat_charge(basis: str) -> tuple[str, str]:
    """(what a User + Usage seat is, what stops its charge) under seat basis ``basis``."""
    if basis not in _SEAT_CHARGE:
        raise ValueError(f"User + Usage seats are counted by login or worker_exists, not {basis!r}")
    return _SEAT_CHARGE[basis]


def next_cycle_seats(basis: str, events: Iterable[Event], account: str, month: Month) -> SeatCount:
    """The User + Usage seats of ``account`` next month if nothing changes, seen from ``month``.

    ``login``: the users who logged in during ``month`` (each is charged next month if they log
    in again); ``worker_exists``: the workers still existing at the start of next month (a
    deletion recorded this month stops the charge).
    """
    seat_charge(basis)  # refuse an unknown basis before counting
    if basis == "login":
        return login_users(events, account, month.start, month.end)
    following = month.next()
    return existing_workers(events, account, following.start, following.end)
