"""Every eligibility rule of SPEC section 3, allowed and refused, with the refusal text."""

from __future__ import annotations

from datetime import date

import pytest

from ratecard import Account, load_catalog
from ratecard.catalog.flex import FlexSettings
from ratecard.errors import PlanChangeRefusedError
from ratecard.flex.history import (
    FlexInstance,
    apply_flex_change,
    check_change,
    no_plan_possible,
)

PARENT = "AC" + "1" * 32
SUB = "AC" + "2" * 32


@pytest.fixture(scope="module")
def flex() -> FlexSettings:
    settings = load_catalog("us").flex
    assert settings is not None
    return settings


def account(created_with_flex: bool = False, sub: bool = False) -> Account:
    return Account(
        SUB if sub else PARENT, "Test", date(2025, 1, 1), created_with_flex, PARENT if sub else None
    )


def on(flex: FlexSettings, acct: Account, plan: str) -> FlexInstance:
    return apply_flex_change(flex, acct, None, "enable", plan, date(2026, 1, 1))


def rules(
    flex: FlexSettings,
    acct: Account,
    inst: FlexInstance | None,
    action: str,
    to: str,
    effective: date = date(2026, 8, 1),
    today: date | None = None,
) -> list[str]:
    return [r.rule for r in check_change(flex, acct, inst, action, to, effective, today)]


def test_user_usage_is_refused_for_an_account_created_with_flex(flex: FlexSettings) -> None:
    refused = check_change(
        flex, account(created_with_flex=True), None, "enable", "user-usage", date(2026, 8, 1)
    )
    assert [r.rule for r in refused] == ["user-usage-needs-account-created-without-flex"]
    assert refused[0].explanation == (
        "User + Usage is available only to accounts that were created without Flex and added a "
        "Flex instance later. This account was created with Flex, so it can use Named User or "
        "Active User Hours."
    )


def test_user_usage_is_allowed_for_an_account_created_without_flex(flex: FlexSettings) -> None:
    assert rules(flex, account(), None, "enable", "user-usage") == []


@pytest.mark.parametrize("plan", ["named-user", "active-user-hours"])
def test_quota_plans_are_allowed_for_an_account_created_with_flex(
    flex: FlexSettings, plan: str
) -> None:
    assert rules(flex, account(created_with_flex=True), None, "enable", plan) == []


@pytest.mark.parametrize("plan", ["named-user", "active-user-hours"])
def test_a_subaccount_instance_may_only_be_on_user_usage(flex: FlexSettings, plan: str) -> None:
    refused = check_change(flex, account(sub=True), None, "enable", plan, date(2026, 8, 1))
    assert [(r.rule, r.explanation) for r in refused] == [
        (
            "subaccounts-only-user-usage",
            "A Flex instance in a subaccount can only be on User + Usage.",
        )
    ]
    assert rules(flex, account(sub=True), None, "enable", "user-usage") == []


@pytest.mark.parametrize("plan", ["named-user", "active-user-hours"])
def test_user_usage_can_never_be_converted_to_a_quota_plan(flex: FlexSettings, plan: str) -> None:
    acct = account()
    refused = check_change(
        flex, acct, on(flex, acct, "user-usage"), "switch", plan, date(2026, 8, 1)
    )
    assert [(r.rule, r.explanation) for r in refused] == [
        (
            "no-conversion-from-user-usage",
            "An instance on User + Usage can never be converted to Named User or "
            "Active User Hours.",
        )
    ]


def test_named_user_and_active_user_hours_switch_at_a_month_start(flex: FlexSettings) -> None:
    acct = account(created_with_flex=True)
    inst = on(flex, acct, "named-user")
    assert rules(flex, acct, inst, "switch", "active-user-hours", date(2026, 8, 1)) == []
    refused = check_change(flex, acct, inst, "switch", "active-user-hours", date(2026, 8, 15))
    assert [r.rule for r in refused] == ["plan-switch-at-month-start"]
    assert "take effect at the start of a calendar month" in refused[0].explanation


def test_switching_to_user_usage_is_self_service_for_an_eligible_account(
    flex: FlexSettings,
) -> None:
    acct = account()
    switched = apply_flex_change(
        flex, acct, on(flex, acct, "named-user"), "switch", "user-usage", date(2026, 8, 1)
    )
    assert switched.plan_at(switched.periods[-1].start) == "user-usage"
    assert [p.plan for p in switched.periods] == ["named-user", "user-usage"]


def test_a_switch_cannot_take_effect_in_the_past(flex: FlexSettings) -> None:
    acct = account(created_with_flex=True)
    inst = on(flex, acct, "named-user")
    got = rules(
        flex, acct, inst, "switch", "active-user-hours", date(2026, 8, 1), today=date(2026, 8, 5)
    )
    assert got == ["no-plan-change-in-the-past"]


def test_switching_to_the_current_plan_is_refused(flex: FlexSettings) -> None:
    acct = account(created_with_flex=True)
    assert rules(flex, acct, on(flex, acct, "named-user"), "switch", "named-user") == ["same-plan"]


def test_enabling_twice_and_switching_before_enabling_are_refused(flex: FlexSettings) -> None:
    acct = account(created_with_flex=True)
    assert rules(flex, acct, on(flex, acct, "named-user"), "enable", "active-user-hours") == [
        "already-enabled"
    ]
    assert rules(flex, acct, None, "switch", "named-user") == ["not-enabled"]


def test_a_refused_change_raises_with_every_refusal_explained(flex: FlexSettings) -> None:
    acct = account(sub=True)
    with pytest.raises(PlanChangeRefusedError) as caught:
        apply_flex_change(flex, acct, None, "enable", "named-user", date(2026, 8, 1))
    assert [r.rule for r in caught.value.refusals] == ["subaccounts-only-user-usage"]
    assert "(rule subaccounts-only-user-usage)" in str(caught.value)


NO_PLAN = "no-plan-for-subaccount-created-with-flex"


@pytest.mark.parametrize(
    ("plan", "specific"),
    [
        ("named-user", "subaccounts-only-user-usage"),
        ("active-user-hours", "subaccounts-only-user-usage"),
        ("user-usage", "user-usage-needs-account-created-without-flex"),
    ],
)
def test_a_subaccount_created_with_flex_is_told_no_plan_is_possible(
    flex: FlexSettings, plan: str, specific: str
) -> None:
    """Created with Flex: only Named User or Active User Hours; a subaccount: only User +
    Usage. Both hold, so every plan is refused, first by the rule that says so plainly."""
    refused = check_change(
        flex, account(created_with_flex=True, sub=True), None, "enable", plan, date(2026, 8, 1)
    )
    assert [r.rule for r in refused] == [NO_PLAN, specific]
    assert refused[0].explanation.startswith("No Flex plan is possible for this account")
    assert "a subaccount that was created with Flex" in refused[0].explanation


def test_no_plan_possible_is_judged_on_the_account_alone(flex: FlexSettings) -> None:
    (refusal,) = no_plan_possible(flex, account(created_with_flex=True, sub=True))
    assert refusal.rule == NO_PLAN
    for eligible in (account(), account(created_with_flex=True), account(sub=True)):
        assert no_plan_possible(flex, eligible) == []


def test_a_switch_dated_before_flex_was_enabled_names_the_past_date_rule(
    flex: FlexSettings,
) -> None:
    acct = account(created_with_flex=True)
    inst = apply_flex_change(flex, acct, None, "enable", "named-user", date(2026, 6, 15))
    # dated May 1 (Flex enabled Jun 15), asked on Jun 20: in the past, not "not enabled"
    got = rules(
        flex, acct, inst, "switch", "active-user-hours", date(2026, 5, 1), date(2026, 6, 20)
    )
    assert got == ["no-plan-change-in-the-past"]


def test_a_future_switch_before_a_future_enablement_says_when_flex_starts(
    flex: FlexSettings,
) -> None:
    acct = account(created_with_flex=True)
    inst = apply_flex_change(flex, acct, None, "enable", "named-user", date(2026, 9, 15))
    (refusal,) = check_change(
        flex, acct, inst, "switch", "active-user-hours", date(2026, 8, 1), date(2026, 6, 20)
    )
    assert refusal.rule == "not-enabled"
    assert "Flex is enabled on this account only from 2026-09-15" in refusal.explanation
