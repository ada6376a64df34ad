"""A month of Flex billing for the accounts that have a Flex instance (SPEC section 2). Pure.

Given the month's metered usage (from :func:`ratecard.usage.normalize.normalize`) and the
events, :func:`apply_flex` returns the usage to rate and the parts already decided:

* **seats**: one usage per plan segment of the month, in the plan's fee category
  (``flex-named-users``, ``flex-active-user-hours``, ``flex-active-users``), priced by the
  catalog's price for that category like any other usage;
* **free hours** (Active User Hours): a one-time allowance per instance, consumed month by month
  from the first month on the plan, shown as an ``included`` line;
* **quotas** (Named User, Active User Hours): TaskRouter tasks and Studio engagements of the
  instance's account within a segment are included up to the quota, in time order (a usage
  straddling the quota is split), shown as ``included`` lines; the rest is rated at standard
  rates. User + Usage has no quotas;
* **unbundled voice**: calls of an account on a plan with ``unbundled_voice`` are billed in the
  Programmable Voice Platform and PSTN connectivity categories instead of standard voice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ratecard.catalog.flex import FlexSettings, Plan
from ratecard.flex.history import FlexInstance, Segment
from ratecard.flex.seats import (
    active_seconds,
    existing_workers,
    hours,
    login_users,
    peak_provisioned,
)
from ratecard.money import ZERO, mul
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.usage.events import Event

VOICE_PREFIX = "calls-"


@dataclass(frozen=True)
class Seats:
    """A plan segment's billable quantity (seats or hours) and who was counted."""

    plan: str
    segment: Segment
    quantity: Decimal  # users, or billable hours after free hours
    counted: Decimal  # users, or hours before free hours (the basis of per-seat quotas)
    members: tuple[str, ...]
    events: tuple[str, ...]
    free_hours: Decimal = ZERO


def apply_flex(
    settings: FlexSettings,
    instances: Mapping[str, FlexInstance],
    events: Sequence[Event],
    usages: Sequence[Usage],
    month: Month,
) -> tuple[list[Usage], list[Part]]:
    """The usage to rate and the included parts for ``month`` under the instances' plans."""
    result = [_unbundle(settings, instances, usage) for usage in usages]
    flat = [u for group in result for u in group]
    included: list[Part] = []
    for account, instance in sorted(instances.items()):
        for segment in instance.month_segments(month):
            plan = settings.plans[segment.plan]
            seats = count_seats(settings, instance, plan, segment, events, month)
            flat.append(_seat_usage(account, plan, seats))
            if seats.free_hours:
                label = f"free hours of {plan.name} (one-time allowance of {plan.free_hours:,})"
                included.append(
                    _included(plan.category, seats.free_hours, plan, account, (), label)
                )
            for quota in plan.quotas:
                allowance = quota.quantity * (seats.counted if quota.per == "seat" else 1)
                flat, parts = _apply_quota(flat, account, quota.category, allowance, segment, plan)
                included.extend(parts)
    return flat, included


def _unbundle(
    settings: FlexSettings, instances: Mapping[str, FlexInstance], usage: Usage
) -> list[Usage]:
    instance = instances.get(usage.account)
    if instance is None or not usage.category.startswith(VOICE_PREFIX):
        return [usage]
    plan_id = instance.plan_at(usage.time)
    if plan_id is None or not settings.plans[plan_id].unbundled_voice:
        return [usage]
    return [replace(usage, category=c) for c in settings.unbundled_voice_categories]


def count_seats(
    settings: FlexSettings,
    instance: FlexInstance,
    plan: Plan,
    segment: Segment,
    events: Sequence[Event],
    month: Month,
) -> Seats:
    """Seats (or billable hours) of one plan segment."""
    account = instance.account
    if plan.seat_basis == "active_hours":
        seconds, users, ids = active_seconds(
            events, account, segment.start, segment.end, settings.logout_activity
        )
        used = hours(seconds, plan.hour_rounding)
        free = min(used, free_hours_left(settings, instance, plan, events, segment.start, month))
        return Seats(segment.plan, segment, used - free, used, users, ids, free)
    if plan.seat_basis == "peak_provisioned":
        count = peak_provisioned(events, account, segment.start, segment.end)
    elif plan.seat_basis == "login":
        count = login_users(events, account, segment.start, segment.end)
    else:
        count = existing_workers(events, account, segment.start, segment.end)
    return Seats(segment.plan, segment, count.seats, count.seats, count.members, count.events)


def free_hours_left(
    settings: FlexSettings,
    instance: FlexInstance,
    plan: Plan,
    events: Sequence[Event],
    before: datetime,
    month: Month,
) -> Decimal:
    """Free hours of the one-time allowance not yet used before ``before``.

    The allowance belongs to new Flex accounts: an instance whose FIRST plan has free hours.
    An instance that switches to such a plan later gets none. It is consumed by the (rounded)
    hours of every earlier segment on a plan with free hours, month by month.
    """
    if not plan.free_hours or not instance.periods:
        return ZERO
    first = instance.periods[0].plan
    if first is None or not settings.plans[first].free_hours:
        return ZERO
    left = plan.free_hours
    cursor = Month.of(instance.periods[0].start)
    while cursor <= month and left > 0:
        for segment in instance.month_segments(cursor):
            if segment.start >= before:
                break
            earlier = settings.plans[segment.plan]
            if earlier.free_hours and earlier.seat_basis == "active_hours":
                seconds, _, _ = active_seconds(
                    events, instance.account, segment.start, segment.end, settings.logout_activity
                )
                left -= min(left, hours(seconds, earlier.hour_rounding))
        cursor = cursor.next()
    return left


def _seat_usage(account: str, plan: Plan, seats: Seats) -> Usage:
    start = seats.segment.start
    return Usage(
        event_id=f"flex:{seats.plan}:{start.isoformat()}:{','.join(seats.members)}",
        account=account,
        time=start,
        category=plan.category,
        quantity=seats.quantity,
    )


def _apply_quota(
    usages: list[Usage],
    account: str,
    category: str,
    allowance: Decimal,
    segment: Segment,
    plan: Plan,
) -> tuple[list[Usage], list[Part]]:
    """Take ``allowance`` units of ``category`` in the segment out of ``usages``, in time order."""
    inside = sorted(
        (
            u
            for u in usages
            if u.account == account
            and u.category == category
            and segment.start <= u.time < segment.end
        ),
        key=lambda u: u.order_key,
    )
    if not inside:
        return usages, []
    taken: dict[int, Usage | None] = {}
    parts: list[Part] = []
    left = allowance
    for usage in inside:
        if left <= 0:
            break
        free = min(left, usage.quantity)
        left -= free
        parts.append(_included(category, free, plan, account, (usage.event_id,)))
        rest = usage.quantity - free
        taken[id(usage)] = replace(usage, quantity=rest) if rest > 0 else None
    kept = [taken.get(id(u), u) for u in usages]  # None: wholly included, dropped
    return [u for u in kept if u is not None], parts


def _included(
    category: str,
    quantity: Decimal,
    plan: Plan,
    account: str,
    events: tuple[str, ...],
    label: str | None = None,
) -> Part:
    return Part(
        category=category,
        kind=Kind.INCLUDED,
        quantity=quantity,
        unit_price=ZERO,
        amount=mul(quantity, ZERO),
        tier_label=label or f"included in {plan.name}",
        account=account,
        events=events,
    )
