"""Plan history of a Flex instance, and the plan changes the rules allow (SPEC section 3).

An instance's history is a list of periods, each starting at an instant (UTC) and lasting until
the next; a period whose plan is ``None`` means Flex billing stopped (deflexification). Each
invoice month uses the plan(s) in force during it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise

from ratecard.accounts import Account
from ratecard.catalog.flex import PLAN_IDS, FlexSettings
from ratecard.errors import PlanChangeRefusedError, RatecardError
from ratecard.flex.rules import Refusal, refusals
from ratecard.periods import Month


@dataclass(frozen=True)
class PlanPeriod:
    """From ``start`` on, the instance is on ``plan`` (``None``: Flex removed)."""

    plan: str | None
    start: datetime


@dataclass(frozen=True)
class Segment:
    """A part of a month ``[start, end)`` billed under one plan."""

    plan: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class FlexInstance:
    """A Flex instance of one account, with its plan history in time order."""

    account: str
    periods: tuple[PlanPeriod, ...]

    def plan_at(self, moment: datetime) -> str | None:
        """The plan in force at ``moment`` (None before Flex was enabled or after removal)."""
        current: str | None = None
        for period in self.periods:
            if period.start > moment:
                break
            current = period.plan
        return current

    def segments(self, start: datetime, end: datetime) -> list[Segment]:
        """The parts of ``[start, end)`` under a plan, in order (gaps: no Flex billing)."""
        result: list[Segment] = []
        bounds = [*self.periods, PlanPeriod(None, datetime.max.replace(tzinfo=UTC))]
        for period, following in pairwise(bounds):
            lo, hi = max(period.start, start), min(following.start, end)
            if period.plan is not None and lo < hi:
                result.append(Segment(period.plan, lo, hi))
        return result

    def month_segments(self, month: Month) -> list[Segment]:
        return self.segments(month.start, month.end)

    def enabled_after(self, moment: datetime) -> datetime | None:
        """When a plan next comes into force after ``moment`` (None: never)."""
        return next((p.start for p in self.periods if p.start > moment and p.plan), None)


def month_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def next_month_start(today: date) -> date:
    """The 1st of the month after ``today``: when plan switches take effect by default."""
    return Month.of(today).next().start.date()


def change_facts(
    account: Account,
    current: str | None,
    action: str,
    to: str,
    effective: date,
    today: date | None = None,
) -> dict[str, bool | str]:
    """The facts the eligibility rules test for a requested change."""
    return {
        "action": action,
        "from": current or "none",
        "to": to,
        "created_with_flex": account.created_with_flex,
        "subaccount": account.parent is not None,
        "same_plan": current == to,
        "effective_month_start": effective.day == 1,
        "effective_in_past": today is not None and effective < today,
    }


def check_change(
    settings: FlexSettings,
    account: Account,
    instance: FlexInstance | None,
    action: str,
    to: str,
    effective: date,
    today: date | None = None,
) -> list[Refusal]:
    """Every refusal of enabling or switching ``account`` to plan ``to`` from ``effective``.

    ``today`` (given by the caller: the core reads no clock) lets rules refuse changes that
    would take effect in the past; books, which replay history, pass None.
    """
    if to not in PLAN_IDS:
        raise RatecardError(f"unknown plan {to!r}; plans: {', '.join(PLAN_IDS)}")
    current = instance.plan_at(month_start(effective)) if instance else None
    if action == "enable" and current is not None:
        return [
            Refusal(
                "already-enabled",
                f"Flex is already enabled on this account (plan {current}); "
                "use 'ratecard flex switch' to change plan",
            )
        ]
    if action == "switch" and current is None:
        return _switch_without_plan(settings, account, instance, to, effective, today)
    facts = change_facts(account, current, action, to, effective, today)
    return refusals(settings.rules, facts)


def _switch_without_plan(
    settings: FlexSettings,
    account: Account,
    instance: FlexInstance | None,
    to: str,
    effective: date,
    today: date | None,
) -> list[Refusal]:
    """A switch dated when no plan is in force. Dated before Flex was enabled (the instance
    has a plan later), "not enabled" would be false: the catalog's rules judge the date (a
    past date names the past-date rule), and only when none refuses is the answer when Flex
    starts."""
    later = instance.enabled_after(month_start(effective)) if instance else None
    if later is None:
        return [
            Refusal(
                "not-enabled",
                "Flex is not enabled on this account; use 'ratecard flex enable' first",
            )
        ]
    refused = refusals(settings.rules, change_facts(account, None, "switch", to, effective, today))
    return refused or [
        Refusal(
            "not-enabled",
            f"Flex is enabled on this account only from {later.date().isoformat()}: a plan "
            "switch can take effect from then on",
        )
    ]


def no_plan_possible(settings: FlexSettings, account: Account) -> list[Refusal]:
    """The refusals that leave ``account`` no Flex plan at all, judged on the account alone
    (enabling each plan on the 1st of a month); empty when some plan is possible.

    The refusals shared by every plan when there are any (the shipped catalog has a rule that
    says so plainly), else each plan's refusals.
    """
    first = date(2000, 1, 1)  # any 1st of a month: no date rule applies without ``today``
    per_plan = [
        refusals(settings.rules, change_facts(account, None, "enable", plan, first))
        for plan in PLAN_IDS
    ]
    if not all(per_plan):
        return []
    shared = [r for r in per_plan[0] if all(r in other for other in per_plan[1:])]
    return shared or list(dict.fromkeys(r for each in per_plan for r in each))


def apply_flex_change(
    settings: FlexSettings,
    account: Account,
    instance: FlexInstance | None,
    action: str,
    to: str,
    effective: date,
    today: date | None = None,
) -> FlexInstance:
    """The instance after an allowed change; raise PlanChangeRefusedError with every refusal."""
    refused = check_change(settings, account, instance, action, to, effective, today)
    if refused:
        raise PlanChangeRefusedError(refused)
    start = month_start(effective)
    earlier = tuple(p for p in (instance.periods if instance else ()) if p.start < start)
    return FlexInstance(account.sid, (*earlier, PlanPeriod(to, start)))


def build_instance(
    settings: FlexSettings, account: Account, changes: Sequence[tuple[str, date]]
) -> FlexInstance:
    """Replay a declared history (first entry enables, later ones switch) through the rules."""
    instance: FlexInstance | None = None
    for index, (plan, effective) in enumerate(sorted(changes, key=lambda c: c[1])):
        action = "enable" if index == 0 else "switch"
        instance = apply_flex_change(settings, account, instance, action, plan, effective)
    assert instance is not None, "a Flex history needs at least one plan"
    return instance


def remove_flex(instance: FlexInstance, effective: datetime) -> FlexInstance:
    """The instance with Flex billing stopped from ``effective`` (deflexification).

    Periods starting later stay: Flex enabled again after a removal bills from then on.
    """
    kept = [p for p in instance.periods if p.start != effective]
    periods = sorted([*kept, PlanPeriod(None, effective)], key=lambda p: p.start)
    return FlexInstance(instance.account, tuple(periods))
