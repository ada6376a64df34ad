"""The deflexification request: roles, states, the billing acknowledgment and the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta, timezone
from decimal import Decimal

import pytest

from ratecard.deflex.checklist import checklist
from ratecard.deflex.resources import AccountResources, Worker
from ratecard.deflex.serialize import refusal_json, request_json
from ratecard.deflex.workflow import (
    BILLING_ACKNOWLEDGMENT,
    BILLING_CHANGE_ROWS,
    Actor,
    DeflexRequest,
    accept_billing_change,
    file_request,
    process,
    reject,
    submit,
    withdraw,
)
from ratecard.errors import DeflexError, DeflexRefused, PermissionDenied, StateError

from .conftest import ACCOUNT, AGENT, CUSTOMER, at, sid

SEAT = Decimal("35.00")


def _draft(intent: str = "stop_billing", plan: str = "named-user") -> DeflexRequest:
    return file_request(ACCOUNT, plan, intent, CUSTOMER, at(10, 9), [], SEAT)


def _submitted() -> DeflexRequest:
    accepted = accept_billing_change(_draft(), CUSTOMER, at(10, 9, 5))
    return submit(accepted, CUSTOMER, at(10, 9, 6))


def _refused_user_usage(
    workers: Sequence[Worker], seat_basis: str, users: Sequence[str] = ()
) -> DeflexRefused:
    """The refusal of a request filed on Jul 10 by a User + Usage account."""
    with pytest.raises(DeflexRefused) as caught:
        file_request(
            ACCOUNT,
            "user-usage",
            "stop_billing",
            CUSTOMER,
            at(10),
            workers,
            SEAT,
            seat_basis=seat_basis,
            users=users,
        )
    return caught.value


@pytest.mark.parametrize("plan", ["named-user", "active-user-hours"])
def test_quota_plans_are_eligible(plan: str) -> None:
    request = _draft(plan=plan)
    assert request.status == "draft"
    assert request.plan == plan


def test_user_usage_by_worker_is_refused_with_the_workers_and_projected_charge(
    resources: AccountResources,
) -> None:
    error = _refused_user_usage(resources.workers, "worker_exists")
    assert error.seat_basis == "worker_exists"
    assert error.users == ()
    assert "User + Usage plan (Capacity Based Pricing)" in error.reason
    assert "delete the Workers and the seat charge stops from the next billing cycle" in (
        error.reason
    )
    assert [w.sid for w in error.workers] == [sid("WK", 0xF1), sid("WK", 0xF2), sid("WK", 0xF3)]
    # 3 workers x $35.00 = $105.00
    assert error.projected_charge == Decimal("105.00")
    assert error.currency == "USD"
    assert error.command == (
        f"ratecard flex workers delete {ACCOUNT} --worker {sid('WK', 0xF1)} "
        f"--worker {sid('WK', 0xF2)} --worker {sid('WK', 0xF3)}"
    )
    assert "Projected seat charge next cycle: 3 x 35.00 USD = 105.00 USD" in str(error)
    assert "alice@example.com" in str(error)


def test_user_usage_refusal_json_carries_money_as_strings(resources: AccountResources) -> None:
    data = refusal_json(_refused_user_usage([], "worker_exists"))
    assert data["workers"] == []
    assert data["projected_charge"] == "0.00"
    assert data["command"] is None
    assert "This account has no Workers" in data["reason"]


def test_user_usage_by_login_projects_the_users_of_the_month_not_the_workers(
    resources: AccountResources,
) -> None:
    """The catalog's default basis: a seat is a user who logs in, so Workers are no remedy."""
    users = ["dave", "alice", "carol", "bob", "alice"]
    # three Workers: not seats under this basis
    error = _refused_user_usage(resources.workers, "login", users)
    assert error.workers == ()
    assert error.users == ("alice", "bob", "carol", "dave")
    assert error.projected_charge == Decimal("140.00")  # 4 users x $35.00
    assert error.command is None
    assert "counts each user who logs in to Flex in a month" in error.reason
    assert "deleting TaskRouter Workers does not stop it" in error.reason
    assert "Projected seat charge next cycle: 4 x 35.00 USD = 140.00 USD" in str(error)
    data = refusal_json(error)
    assert (data["seat_basis"], data["users"], data["workers"], data["projected_charge"]) == (
        "login",
        ["alice", "bob", "carol", "dave"],
        [],
        "140.00",
    )
    assert data["stops_charge"].startswith("the charge stops from the next month for users")


def test_user_usage_by_login_without_logins_projects_nothing() -> None:
    with pytest.raises(DeflexRefused) as caught:
        file_request(ACCOUNT, "user-usage", "stop_billing", CUSTOMER, at(10), [], SEAT)
    assert caught.value.seat_basis == "login"  # the catalog's default basis
    assert caught.value.projected_charge == Decimal("0.00")
    assert "No user logged in to Flex this month" in caught.value.reason


@pytest.mark.parametrize(
    ("plan", "intent", "message"),
    [
        ("enterprise", "stop_billing", "unknown Flex plan 'enterprise'"),
        ("named-user", "delete", "unknown intent 'delete'"),
    ],
)
def test_unknown_plan_or_intent_is_refused(plan: str, intent: str, message: str) -> None:
    with pytest.raises(DeflexRefused, match=message):
        file_request(ACCOUNT, plan, intent, CUSTOMER, at(10), [], SEAT)


def test_support_does_not_file_for_the_account() -> None:
    with pytest.raises(PermissionDenied, match="only the account itself files"):
        file_request(ACCOUNT, "named-user", "stop_billing", AGENT, at(10), [], SEAT)


def test_unacknowledged_request_cannot_be_submitted() -> None:
    with pytest.raises(DeflexRefused, match="billing change must be accepted"):
        submit(_draft(), CUSTOMER, at(10, 10))


def test_acknowledgment_stores_the_exact_text_and_time() -> None:
    accepted = accept_billing_change(_draft(), CUSTOMER, at(10, 9, 5))
    assert accepted.acknowledgment is not None
    assert accepted.acknowledgment.text == BILLING_ACKNOWLEDGMENT
    assert accepted.acknowledgment.at == at(10, 9, 5)
    assert accepted.acknowledgment.accepted_by == "ops@acme.example"
    assert accepted.status == "draft"


def test_acknowledgment_text_is_the_three_row_table() -> None:
    assert [row.service for row in BILLING_CHANGE_ROWS] == [
        "Voice",
        "Flex plan",
        "TaskRouter tasks, Studio engagements",
    ]
    for row in BILLING_CHANGE_ROWS:
        assert row.service in BILLING_ACKNOWLEDGMENT
        assert row.before in BILLING_ACKNOWLEDGMENT
        assert row.after in BILLING_ACKNOWLEDGMENT


def test_account_user_cannot_process_its_own_request() -> None:
    with pytest.raises(PermissionDenied) as caught:
        process(_submitted(), CUSTOMER, at(11))
    assert caught.value.role == "account"
    assert "there is no self-service removal of Flex" in str(caught.value)


def test_support_processes_and_sets_the_effective_time() -> None:
    processed = process(_submitted(), AGENT, at(14, 9), effective=at(15, 0))
    assert processed.status == "processed"
    assert processed.effective == at(15, 0)
    assert processed.allowed_actions == ()


def test_effective_time_defaults_to_processing_time() -> None:
    assert process(_submitted(), AGENT, at(14, 9)).effective == at(14, 9)


def test_effective_time_before_submission_is_refused() -> None:
    with pytest.raises(DeflexRefused, match="before the request was submitted"):
        process(_submitted(), AGENT, at(14), effective=at(1))


def test_only_decommission_removes_the_flex_workspace() -> None:
    kept = process(_submitted(), AGENT, at(14))
    assert not kept.removes_flex_workspace
    decommission = submit(
        accept_billing_change(_draft("decommission"), CUSTOMER, at(10, 9, 5)),
        CUSTOMER,
        at(10, 9, 6),
    )
    assert not decommission.removes_flex_workspace
    assert process(decommission, AGENT, at(14)).removes_flex_workspace


def test_support_rejects_with_a_reason() -> None:
    rejected = reject(_submitted(), AGENT, at(12), "account has an open invoice dispute")
    assert rejected.status == "rejected"
    assert rejected.audit[-1].note == "account has an open invoice dispute"
    assert rejected.effective is None


def test_rejection_needs_a_reason() -> None:
    with pytest.raises(DeflexRefused, match="needs a reason"):
        reject(_submitted(), AGENT, at(12), "  ")


def test_account_cannot_reject() -> None:
    with pytest.raises(PermissionDenied):
        reject(_submitted(), CUSTOMER, at(12), "changed my mind")


@pytest.mark.parametrize("make", [_draft, _submitted])
def test_account_withdraws_before_processing(make: Callable[[], DeflexRequest]) -> None:
    withdrawn = withdraw(make(), CUSTOMER, at(12), "staying on Flex")
    assert withdrawn.status == "withdrawn"


def test_support_cannot_withdraw_for_the_account() -> None:
    with pytest.raises(PermissionDenied):
        withdraw(_submitted(), AGENT, at(12))


def test_processed_request_cannot_be_withdrawn() -> None:
    processed = process(_submitted(), AGENT, at(12))
    with pytest.raises(StateError) as caught:
        withdraw(processed, CUSTOMER, at(13))
    assert caught.value.state == "processed"
    assert str(caught.value) == (
        "cannot withdraw a request that is processed; allowed now: nothing (the request is closed)"
    )


def test_illegal_transition_names_the_state_and_allowed_actions() -> None:
    with pytest.raises(StateError) as caught:
        process(_draft(), AGENT, at(12))
    assert str(caught.value) == (
        "cannot process a request that is draft; allowed now: accept_billing_change, submit, "
        "withdraw"
    )
    assert caught.value.allowed == ("accept_billing_change", "submit", "withdraw")


def test_submitted_request_cannot_be_submitted_again() -> None:
    with pytest.raises(StateError, match="allowed now: process, reject, withdraw"):
        submit(_submitted(), CUSTOMER, at(12))


def test_steps_cannot_go_back_in_time() -> None:
    with pytest.raises(DeflexError, match="before the request's last step"):
        reject(_submitted(), AGENT, at(10, 9, 0), "too early")


def test_naive_times_are_refused() -> None:
    with pytest.raises(DeflexError, match="no UTC offset"):
        submit(
            accept_billing_change(_draft(), CUSTOMER, at(10, 10)),
            CUSTOMER,
            at(11).replace(tzinfo=None),
        )


def test_actor_role_must_be_known() -> None:
    with pytest.raises(DeflexError, match="unknown role 'admin'"):
        Actor("root", "admin")  # type: ignore[arg-type]


def test_audit_trail_records_every_step_with_who_and_when() -> None:
    processed = process(_submitted(), AGENT, at(14, 9), effective=at(15, 0))
    assert [
        (e.action, e.from_state, e.to_state, e.actor, e.role, e.at) for e in processed.audit
    ] == [
        ("file", None, "draft", "ops@acme.example", "account", at(10, 9)),
        ("accept_billing_change", "draft", "draft", "ops@acme.example", "account", at(10, 9, 5)),
        ("submit", "draft", "submitted", "ops@acme.example", "account", at(10, 9, 6)),
        ("process", "submitted", "processed", "sam.support", "support", at(14, 9)),
    ]
    assert processed.audit[0].note == "intent stop_billing"
    assert processed.audit[-1].note == "effective 2026-07-15T00:00:00+00:00"
    assert processed.filed_at == at(10, 9)


def test_transitions_leave_the_earlier_value_unchanged() -> None:
    draft = _draft()
    accept_billing_change(draft, CUSTOMER, at(10, 9, 5))
    assert draft.acknowledgment is None
    assert len(draft.audit) == 1


def test_times_are_kept_in_utc() -> None:
    local = at(10, 9, 5).astimezone(timezone(timedelta(hours=-7)))  # 02:05 in California
    accepted = accept_billing_change(_draft(), CUSTOMER, local)
    assert accepted.audit[-1].at.utcoffset() == timedelta(0)
    assert accepted.audit[-1].at == at(10, 9, 5)


def test_request_json_shows_checklist_acknowledgment_and_audit(
    resources: AccountResources,
) -> None:
    draft = file_request(
        ACCOUNT,
        "active-user-hours",
        "decommission",
        CUSTOMER,
        at(10, 9),
        [],
        SEAT,
        checklist=checklist(ACCOUNT, resources),
    )
    request = process(
        submit(accept_billing_change(draft, CUSTOMER, at(10, 10)), CUSTOMER, at(10, 11)),
        AGENT,
        at(14),
        effective=at(15, 0),
    )
    data = request_json(request)
    assert data["status"] == "processed"
    assert data["effective"] == "2026-07-15T00:00:00Z"
    assert data["acknowledgment"]["text"] == BILLING_ACKNOWLEDGMENT
    assert data["acknowledgment"]["at"] == "2026-07-10T10:00:00Z"
    assert len(data["checklist"]) == 10
    assert [e["action"] for e in data["audit"]] == [
        "file",
        "accept_billing_change",
        "submit",
        "process",
    ]
    assert data["billing_change"][0] == {
        "service": "Voice",
        "before": "unbundled: Programmable Voice Platform + PSTN connectivity",
        "after": "standard Programmable Voice only",
    }
