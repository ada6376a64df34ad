"""Flex plans and deflexification through the store (in memory): the same
invoices as the books, plan changes refused by the rules, and the request workflow."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from ratecard import Month, load_book
from ratecard.errors import DeflexRefused, NotFoundError, PermissionDenied, PlanChangeRefusedError
from ratecard.service import deflex, invoices
from ratecard.service import flex as flex_service
from ratecard.service.ingest import ingest_batch
from ratecard.service.ports import Store
from ratecard.service.settings import Settings
from ratecard.service.support import add_support_user, authenticate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIXTURE = Path(__file__).resolve().parents[1] / "deflex" / "fixtures" / "acme_flex_resources.json"
NU = "ACf1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0"
LEAVING = "ACf1d0f1d0f1d0f1d0f1d0f1d0f1d0f1d0"
UU = "ACf1c0f1c0f1c0f1c0f1c0f1c0f1c0f1c0"
JULY = Month(2026, 7)
TODAY = date(2026, 6, 15)


def _events(book: str) -> list[dict[str, object]]:
    path = EXAMPLES / book / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def stored(
    db: Store, settings: Settings, store_book_accounts: Callable[[Store, str], None]
) -> Callable[[str], None]:
    """Store an example book: accounts, Flex history (through the service) and events."""

    def load(book: str) -> None:
        store_book_accounts(db, book)
        loaded = load_book(EXAMPLES / book / "book.toml")
        for sid, instance in loaded.flex.items():
            for index, period in enumerate(p for p in instance.periods if p.plan is not None):
                action = "enable" if index == 0 else "switch"
                day = period.start.date()
                flex_service.change_plan(db, sid, action, period.plan, day, day, settings=settings)
        ingest_batch(db, _events(book), settings)

    return load


@pytest.mark.parametrize(
    "book",
    ["flex-named-user", "flex-active-user-hours", "flex-user-usage"],
)
def test_stored_flex_accounts_are_billed_like_their_books(
    db: Store, settings: Settings, stored: Callable[[str], None], book: str
) -> None:
    stored(book)
    (result,) = invoices.generate(db, JULY, settings)
    (expected,) = load_book(EXAMPLES / book / "book.toml").invoices(JULY)
    assert result.total == str(expected.total)


def test_a_refused_switch_names_the_rule_and_changes_nothing(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-named-user")
    with pytest.raises(PlanChangeRefusedError) as caught:
        flex_service.change_plan(db, NU, "switch", "user-usage", None, TODAY, settings=settings)
    assert [r.rule for r in caught.value.refusals] == [
        "user-usage-needs-account-created-without-flex"
    ]
    status = flex_service.status(db, NU, TODAY, settings=settings)
    assert [p["plan"] for p in status["history"]] == ["named-user"]


def test_a_switch_takes_effect_on_the_first_of_next_month(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-named-user")
    status = flex_service.change_plan(
        db, NU, "switch", "active-user-hours", None, TODAY, settings=settings
    )
    assert status["history"][-1] == {
        "plan": "active-user-hours",
        "effective": "2026-07-01T00:00:00Z",
    }
    assert status["plan"] == "named-user"  # still, until July 1


def test_the_stored_advisor_matches_the_book_advisor(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-named-user")
    data = flex_service.compare(db, NU, JULY, settings=settings)
    totals = {o["plan"]: o["total"] for o in data["options"]}
    assert totals == {
        "named-user": "751.40",
        "active-user-hours": "501.40",
        "user-usage": "190.11",
        "standard": "15.11",
    }


def test_mid_month_deflexification_through_the_workflow_bills_like_the_book(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-deflexified")
    deflex.import_resources(db, LEAVING, _fixture(LEAVING))
    filed = deflex.file_request(
        db, LEAVING, "decommission", LEAVING, True, _at("2026-07-10T09:00:00Z"), settings=settings
    )
    assert filed["status"] == "submitted"
    assert filed["acknowledgment"]["accepted_by"] == LEAVING
    add_support_user(db, "sam")
    done = deflex.process(
        db, filed["request"], "sam", _at("2026-07-12T10:00:00Z"), _at("2026-07-16T00:00:00Z")
    )
    assert (done["status"], done["effective"]) == ("processed", "2026-07-16T00:00:00Z")
    (july,) = invoices.generate(db, JULY, settings)
    assert july.total == "450.98"  # Flex fee before, standard billing after (see the book)
    # decommission removed the Flex workspace, workers and Flex apps from the resources
    remaining = {f["kind"] for f in deflex.checklist(db, LEAVING)["findings"]}
    assert remaining == {"studio_flow", "twiml_app", "phone_number"}


def test_an_account_user_cannot_process_its_own_request(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-deflexified")
    filed = deflex.file_request(
        db, LEAVING, "stop_billing", LEAVING, True, _at("2026-07-10T09:00:00Z"), settings=settings
    )
    with pytest.raises(PermissionDenied):
        deflex.process(db, filed["request"], LEAVING, _at("2026-07-11T09:00:00Z"))
    assert deflex.show(db, filed["request"])["status"] == "submitted"


def test_an_unacknowledged_request_stays_a_draft_until_acknowledged(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-deflexified")
    filed = deflex.file_request(
        db, LEAVING, "stop_billing", LEAVING, False, _at("2026-07-10T09:00:00Z"), settings=settings
    )
    assert filed["status"] == "draft"
    acknowledged = deflex.acknowledge(db, filed["request"], LEAVING, _at("2026-07-10T10:00:00Z"))
    assert acknowledged["status"] == "submitted"
    assert [e["action"] for e in acknowledged["audit"]] == [
        "file",
        "accept_billing_change",
        "submit",
    ]


def test_user_usage_is_refused_with_the_login_users_and_their_projected_charge(
    db: Store, settings: Settings, stored: Callable[[str], None]
) -> None:
    stored("flex-user-usage")
    deflex.import_resources(db, UU, _fixture(UU))  # three workers: no seats by login
    with pytest.raises(DeflexRefused) as caught:
        deflex.file_request(
            db, UU, "stop_billing", UU, True, _at("2026-07-10T09:00:00Z"), settings=settings
        )
    # the shipped catalog counts seats by login: alice, bob, carol, dave logged in in July
    assert caught.value.users == ("alice", "bob", "carol", "dave")
    assert caught.value.workers == ()
    assert str(caught.value.projected_charge) == "140.00"  # 4 x 35.00
    assert caught.value.command is None  # deleting the Workers would not stop it


def test_support_tokens_are_checked_and_unknown_requests_are_not_found(db: Store) -> None:
    token = add_support_user(db, "sam")
    assert authenticate(db, "sam", token)
    assert not authenticate(db, "sam", "0" * 32)
    assert not authenticate(db, "nobody", token)
    with pytest.raises(NotFoundError):
        deflex.show(db, 999)


def _fixture(account: str) -> object:
    """The deflex test resources, re-homed to ``account`` (every account sid replaced)."""
    return json.loads(re.sub(r"AC[0-9a-f]{32}", account, FIXTURE.read_text()))
