"""Seat counting: provision peaks, activity sessions across month bounds and overlapping,
logins, and workers under the worker basis (SPEC section 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ratecard import Account, Month, bill_month, load_catalog, parse_event
from ratecard.flex.history import apply_flex_change
from ratecard.flex.seats import (
    active_seconds,
    existing_workers,
    hours,
    login_users,
    next_cycle_seats,
    peak_provisioned,
)
from ratecard.usage.events import Event

ACCT = "AC" + "a" * 32
JULY = Month(2026, 7)


def ev(kind: str, id_: str, time: str, **fields: Any) -> Event:
    return parse_event({"type": kind, "id": id_, "account": ACCT, "time": time, **fields})


def prov(id_: str, time: str, user: str) -> Event:
    return ev("flex_user_provisioned", id_, time, user=user, role="agent")


def deprov(id_: str, time: str, user: str) -> Event:
    return ev("flex_user_deprovisioned", id_, time, user=user, role="agent")


def session(id_: str, user: str, start: str, end: str, activity: str = "Available") -> Event:
    return ev("flex_activity", id_, end, user=user, activity=activity, start=start, end=end)


def test_named_user_seats_are_the_peak_not_the_number_of_users_seen() -> None:
    events = [
        prov("1", "2026-07-01T09:00:00Z", "a"),
        prov("2", "2026-07-02T09:00:00Z", "b"),
        deprov("3", "2026-07-03T09:00:00Z", "a"),
        prov("4", "2026-07-04T09:00:00Z", "c"),
        deprov("5", "2026-07-05T09:00:00Z", "b"),
        prov("6", "2026-07-06T09:00:00Z", "d"),
    ]
    # four users were provisioned in July but never more than two at once
    count = peak_provisioned(events, ACCT, JULY.start, JULY.end)
    assert count.seats == Decimal(2)


def test_users_provisioned_before_the_month_count_from_its_start() -> None:
    events = [
        prov("1", "2026-06-10T09:00:00Z", "a"),
        prov("2", "2026-06-11T09:00:00Z", "b"),
        deprov("3", "2026-06-12T09:00:00Z", "b"),
        prov("4", "2026-07-20T09:00:00Z", "c"),
    ]
    assert peak_provisioned(events, ACCT, JULY.start, JULY.end).seats == Decimal(2)  # a, c


def test_a_same_instant_swap_is_not_two_seats() -> None:
    events = [
        prov("1", "2026-07-01T09:00:00Z", "a"),
        prov("2", "2026-07-10T09:00:00Z", "b"),
        deprov("3", "2026-07-10T09:00:00Z", "a"),
    ]
    assert peak_provisioned(events, ACCT, JULY.start, JULY.end).seats == Decimal(1)


def test_a_session_crossing_the_month_boundary_is_split_at_it() -> None:
    events = [session("s", "u", "2026-06-30T22:00:00Z", "2026-07-01T03:00:00Z")]
    june = Month(2026, 6)
    assert active_seconds(events, ACCT, june.start, june.end, "Offline")[0] == Decimal(7200)
    assert active_seconds(events, ACCT, JULY.start, JULY.end, "Offline")[0] == Decimal(10800)


def test_overlapping_sessions_of_one_user_are_counted_once() -> None:
    events = [
        session("s1", "u", "2026-07-01T09:00:00Z", "2026-07-01T11:00:00Z"),
        session("s2", "u", "2026-07-01T10:00:00Z", "2026-07-01T12:00:00Z", "Busy"),
        session("s3", "u", "2026-07-01T10:30:00Z", "2026-07-01T10:45:00Z", "Break"),
        session("s4", "v", "2026-07-01T10:00:00Z", "2026-07-01T11:00:00Z"),  # other user counts
    ]
    # u: 09:00-12:00 = 3 h; v: 1 h
    assert active_seconds(events, ACCT, JULY.start, JULY.end, "Offline")[0] == Decimal(4 * 3600)


def test_offline_time_is_not_active() -> None:
    events = [session("s", "u", "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z", "Offline")]
    assert active_seconds(events, ACCT, JULY.start, JULY.end, "Offline")[0] == Decimal(0)


def test_hours_round_up_the_month_total_or_stay_exact() -> None:
    assert hours(Decimal(3601), "up") == Decimal(2)
    assert hours(Decimal(5400), "exact") == Decimal("1.5")


def test_user_usage_counts_unique_login_users_of_every_role() -> None:
    events = [
        ev("flex_login", "1", "2026-07-01T09:00:00Z", user="a", role="agent"),
        ev("flex_login", "2", "2026-07-02T09:00:00Z", user="a", role="agent"),
        ev("flex_login", "3", "2026-07-03T09:00:00Z", user="s", role="supervisor"),
        ev("flex_login", "4", "2026-07-04T09:00:00Z", user="d", role="developer"),
        ev("flex_login", "5", "2026-08-01T00:00:00Z", user="late", role="agent"),
    ]
    count = login_users(events, ACCT, JULY.start, JULY.end)
    assert (count.seats, count.members) == (Decimal(3), ("a", "d", "s"))


def test_a_worker_deleted_mid_month_is_a_seat_that_month_and_not_the_next() -> None:
    events = [
        ev("worker_created", "1", "2026-06-01T09:00:00Z", worker="WK1"),
        ev("worker_created", "2", "2026-06-01T09:00:00Z", worker="WK2"),
        ev("worker_deleted", "3", "2026-07-15T09:00:00Z", worker="WK1"),
    ]
    july = existing_workers(events, ACCT, JULY.start, JULY.end)
    august = existing_workers(events, ACCT, Month(2026, 8).start, Month(2026, 8).end)
    assert (july.seats, july.members) == (Decimal(2), ("WK1", "WK2"))
    assert (august.seats, august.members) == (Decimal(1), ("WK2",))


def test_the_worker_basis_bills_existing_workers_on_the_invoice() -> None:
    catalog = load_catalog("us")
    assert catalog.flex is not None
    plans = dict(catalog.flex.plans)
    plans["user-usage"] = plans["user-usage"].model_copy(update={"seat_basis": "worker_exists"})
    flex = catalog.flex.model_copy(update={"plans": plans})
    catalog = catalog.__class__(**{**catalog.__dict__, "flex": flex})
    account = Account(ACCT, "Workers", date(2025, 1, 1))
    instance = apply_flex_change(flex, account, None, "enable", "user-usage", date(2026, 6, 1))
    events = [
        ev("worker_created", "1", "2026-06-01T09:00:00Z", worker="WK1"),
        ev("worker_created", "2", "2026-06-01T09:00:00Z", worker="WK2"),
        ev("worker_deleted", "3", "2026-07-15T09:00:00Z", worker="WK1"),
        ev("flex_login", "4", "2026-07-02T09:00:00Z", user="someone", role="agent"),
    ]
    totals = {
        str(month): bill_month(catalog, [account], events, month, flex={ACCT: instance})[0].total
        for month in (JULY, Month(2026, 8))
    }
    assert totals == {"2026-07": Decimal("70.00"), "2026-08": Decimal("35.00")}  # 2 x 35, 1 x 35


def test_next_cycle_seats_follow_the_seat_basis() -> None:
    events = [
        ev("flex_login", "1", "2026-06-30T23:59:59Z", user="june", role="agent"),
        ev("flex_login", "2", "2026-07-02T09:00:00Z", user="a", role="agent"),
        ev("flex_login", "3", "2026-07-09T09:00:00Z", user="b", role="admin"),
        ev("worker_created", "4", "2026-06-01T09:00:00Z", worker="WK1"),
        ev("worker_created", "5", "2026-06-01T09:00:00Z", worker="WK2"),
        ev("worker_deleted", "6", "2026-07-15T09:00:00Z", worker="WK1"),
    ]
    # login: July's login users are August's seats if they log in again (not June's)
    by_login = next_cycle_seats("login", events, ACCT, JULY)
    assert (by_login.seats, by_login.members) == (Decimal(2), ("a", "b"))
    # worker_exists: WK1, deleted in July, is no seat in August
    by_worker = next_cycle_seats("worker_exists", events, ACCT, JULY)
    assert (by_worker.seats, by_worker.members) == (Decimal(1), ("WK2",))
    with pytest.raises(ValueError, match="login or worker_exists"):
        next_cycle_seats("peak_provisioned", events, ACCT, JULY)
