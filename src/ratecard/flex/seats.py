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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from ratecard.money import D, quotient
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
