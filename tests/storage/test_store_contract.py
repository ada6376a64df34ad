"""The services' ports, one contract on every store: in memory, SQLite and PostgreSQL.

Each test runs the same assertions on the three, so the in-memory fake the service tests run
on is proven to answer as the real stores do (order, numbers, atomicity, errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ratecard import Month
from ratecard.accounts import Account
from ratecard.errors import NotFoundError, StateError, StoreError
from ratecard.flex.history import FlexInstance, PlanPeriod
from ratecard.service import close
from ratecard.service.memory import MemoryStore
from ratecard.service.ports import LineValues, Store, UnitOfWork
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.usage.events import NewEvent

PARENT = "AC" + "a" * 32
CHILD = "AC" + "b" * 32
OTHER = "AC" + "c" * 32
MISSING = "AC" + "f" * 32
AT = datetime(2025, 3, 1, tzinfo=UTC)
MARCH = Month(2025, 3)
JAN = date(2025, 1, 1)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'contract.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    yield request.getfixturevalue("postgres_db")  # emptied afterwards, ids restarted


def _accounts(uow: UnitOfWork) -> None:
    uow.accounts.add(Account(OTHER, "Other", date(2025, 1, 2)), "hash-o", AT)
    uow.accounts.add(Account(PARENT, "Parent", date(2025, 1, 2)), "hash-p", AT)
    uow.accounts.add(Account(CHILD, "Child", date(2025, 1, 1), parent=PARENT), "hash-c", AT)


def _event(account: str, event_id: str, kind: str, time: datetime) -> NewEvent:
    return NewEvent(account, event_id, kind, time, f'{{"id":"{event_id}"}}')


def test_accounts_list_by_creation_then_sid_with_parents_and_tokens(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
        uow.commit()
    with store.unit_of_work() as uow:
        assert [a.sid for a in uow.accounts.list()] == [CHILD, PARENT, OTHER]
        assert uow.accounts.get(CHILD) == Account(CHILD, "Child", date(2025, 1, 1), False, PARENT)
        assert uow.accounts.get(MISSING) is None
        assert uow.accounts.parents([CHILD, PARENT, MISSING]) == {CHILD: PARENT, PARENT: None}
        assert uow.accounts.token_hash(PARENT) == "hash-p"
        assert uow.accounts.set_token_hash(PARENT, "new") is True
        assert uow.accounts.set_token_hash(MISSING, "new") is False
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.accounts.token_hash(PARENT) == "new"


def test_nothing_is_kept_without_commit(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
    with store.unit_of_work() as uow:
        assert uow.accounts.list() == []


def test_an_error_half_way_leaves_nothing_behind(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add(Account(PARENT, "Parent", date(2025, 1, 1)), "h", AT)
        uow.commit()

    def failing() -> None:
        with store.unit_of_work() as uow:
            uow.accounts.add(Account(OTHER, "Other", date(2025, 1, 1)), "h", AT)
            uow.events.insert_new([_event(PARENT, "e1", "sms", AT)], AT)
            uow.support.add("ann", "h", AT)
            raise RuntimeError("the service failed after three writes")

    with pytest.raises(RuntimeError):
        failing()
    with store.unit_of_work() as uow:
        assert [a.sid for a in uow.accounts.list()] == [PARENT]
        assert uow.events.count() == 0
        assert uow.support.names() == []


def test_rollback_drops_what_came_after_the_last_commit(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add(Account(PARENT, "Parent", date(2025, 1, 1)), "h", AT)
        uow.commit()
        uow.accounts.add(Account(OTHER, "Other", date(2025, 1, 1)), "h", AT)
        uow.rollback()
        assert [a.sid for a in uow.accounts.list()] == [PARENT]
        uow.support.add("ann", "h", AT)  # left without a commit
    with store.unit_of_work() as uow:
        assert [a.sid for a in uow.accounts.list()] == [PARENT]
        assert uow.support.names() == []


def test_duplicates_are_state_errors_and_missing_accounts_not_found(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.accounts.add(Account(PARENT, "Parent", date(2025, 1, 1)), "h", AT)
        uow.support.add("ann", "h", AT)
        uow.commit()
    cases: list[tuple[type[Exception], Any]] = [
        (StateError, lambda u: u.accounts.add(Account(PARENT, "Again", date(2025, 1, 1)), "h", AT)),
        (StateError, lambda u: u.support.add("ann", "h2", AT)),
        (
            NotFoundError,
            lambda u: u.accounts.add(
                Account(CHILD, "C", date(2025, 1, 1), parent=MISSING), "h", AT
            ),
        ),
        (NotFoundError, lambda u: u.deflex.add(MISSING, "draft", "remove", "{}", AT)),
        (NotFoundError, lambda u: u.deflex.update(99, "processed", "{}", AT, AT)),
        (NotFoundError, lambda u: u.resources.replace(MISSING, "{}", AT)),
        (NotFoundError, lambda u: u.flex.set_period(MISSING, "named_user", JAN, JAN)),
        (NotFoundError, lambda u: u.invoices.add_draft(_values(MISSING, "2025-03", 1), [])),
        (NotFoundError, lambda u: u.invoices.replace_draft(99, _values(PARENT, "2025-03", 1), [])),
    ]
    for error, write in cases:
        with pytest.raises(error), store.unit_of_work() as uow:
            write(uow)
    with store.unit_of_work() as uow:
        assert [a.name for a in uow.accounts.list()] == ["Parent"]
        assert uow.support.token_hash("ann") == "h"


def test_events_are_numbered_in_batch_order_and_stored_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
        first = [
            _event(PARENT, "z", "sms", datetime(2025, 3, 2, tzinfo=UTC)),
            _event(PARENT, "a", "sms", datetime(2025, 3, 1, tzinfo=UTC)),
        ]
        assert uow.events.insert_new(first, AT) == {(PARENT, "z"), (PARENT, "a")}
        again = [_event(PARENT, "a", "sms", AT), _event(CHILD, "a", "sms", AT)]
        assert uow.events.insert_new(again, AT) == {(CHILD, "a")}
        uow.commit()
    with store.unit_of_work() as uow:
        march = MARCH.start, MARCH.end
        assert uow.events.for_billing_with_seq([PARENT, CHILD], *march) == [
            (1, '{"id":"z"}'),
            (2, '{"id":"a"}'),
            (3, '{"id":"a"}'),
        ]
        assert uow.events.last_seq() == 3
        assert uow.events.count() == 3
        keys = [(PARENT, "a"), (CHILD, "a"), (OTHER, "a")]
        assert uow.events.bodies(keys) == {(PARENT, "a"): '{"id":"a"}', (CHILD, "a"): '{"id":"a"}'}


def test_events_bearing_on_a_month_include_history_and_sessions(store: Store) -> None:
    before, inside, after = (datetime(2025, m, 15, tzinfo=UTC) for m in (2, 3, 4))
    with store.unit_of_work() as uow:
        _accounts(uow)
        uow.events.insert_new(
            [
                _event(PARENT, "sms-before", "sms", before),  # 1: not in March
                _event(PARENT, "number", "number_purchased", before),  # 2: history
                _event(PARENT, "sms", "sms", inside),  # 3
                _event(CHILD, "call", "call", inside),  # 4
                _event(PARENT, "sms-after", "sms", after),  # 5: not in March
                _event(PARENT, "session", "flex_activity", after),  # 6: a session, any time
                _event(OTHER, "other", "sms", inside),  # 7: another account
            ],
            AT,
        )
        uow.commit()
    with store.unit_of_work() as uow:
        events = uow.events
        start, end = MARCH.start, MARCH.end
        members = [PARENT, CHILD]
        ids = ["number", "sms", "call", "session"]
        assert events.for_billing(members, start, end) == [f'{{"id":"{i}"}}' for i in ids]
        assert len(events.for_billing(None, start, end)) == 5
        assert [seq for seq, _ in events.for_billing_after(members, 3, start, end)] == [4, 6]
        assert events.stored_after(members, 3, start, end) == 2
        assert events.stored_in(members, ((4, 5),), start, end) is False  # 5 is April's
        assert events.stored_in(members, ((0, 1), (5, 6)), start, end) is True
        assert events.stored_in(members, (), start, end) is False
        assert events.time_span([PARENT]) == (before, after)
        assert events.time_span([MISSING]) is None
        events.claim()
        events.freeze()


def _values(account: str, month: str, through: int, total: str = "12.50") -> dict[str, Any]:
    return {
        "account_sid": account,
        "month": month,
        "currency": "USD",
        "total": Decimal(total),
        "document": f'{{"total":"{total}"}}',
        "through_seq": through,
        "basis": "",
        "coverage": f'{{"{month}":[[0,{through}]]}}',
        "generated_at": AT,
    }


LINE = LineValues(
    None,
    "sms",
    "usage",
    "messages",
    "first 150,000",
    Decimal("1000"),
    "message",
    Decimal("0.0079"),
    Decimal("7.9000"),
    Decimal("7.90"),
    None,
)


def test_invoices_lifecycle_and_listings(store: Store) -> None:
    later = datetime(2025, 4, 2, 9, 30, tzinfo=UTC)
    with store.unit_of_work() as uow:
        _accounts(uow)
        feb = uow.invoices.add_draft(_values(PARENT, "2025-02", 4), [LINE])
        mar = uow.invoices.add_draft(_values(PARENT, "2025-03", 6), [])
        other = uow.invoices.add_draft(_values(OTHER, "2025-03", 6), [])
        assert (feb, mar, other) == (1, 2, 3)
        with_child = replace(LINE, account=CHILD, category="mms")
        uow.invoices.replace_draft(mar, _values(PARENT, "2025-03", 7, "3.00"), [LINE, with_child])
        assert uow.invoices.set_status(feb, "draft", "finalized", later) is True
        assert uow.invoices.set_status(feb, "draft", "void", later) is False  # not a draft now
        assert uow.invoices.set_status(other, "draft", "void", later) is True
        uow.commit()
    with store.unit_of_work() as uow:
        invoices = uow.invoices
        current = invoices.current(PARENT, "2025-03")
        assert current is not None
        assert (current.id, current.status, current.through_seq) == (mar, "draft", 7)
        assert current.document == '{"total":"3.00"}'
        assert current.coverage == {"2025-03": ((0, 7),)}
        assert invoices.lines(mar) == [LINE, with_child]
        assert invoices.lines(mar)[0].amount == Decimal("7.90")
        assert invoices.current(OTHER, "2025-03") is None
        voided = invoices.latest(OTHER, "2025-03")
        assert voided is not None
        assert (voided.status, voided.voided_at) == ("void", later)
        assert [i.id for i in invoices.for_account(PARENT)] == [mar, feb]
        assert [i.account for i in invoices.for_month("2025-03")] == [PARENT, OTHER]
        finals = invoices.finalized(PARENT)
        assert [(i.id, i.finalized_at) for i in finals] == [(feb, later)]
        assert invoices.finalized_months([PARENT, OTHER]) == {(PARENT, "2025-02")}
        with pytest.raises(StateError):
            invoices.replace_draft(feb, _values(PARENT, "2025-02", 9), [])


def test_a_second_open_invoice_of_a_month_is_refused(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
        uow.invoices.add_draft(_values(PARENT, "2025-03", 1), [])
        uow.commit()
    with pytest.raises(StateError), store.unit_of_work() as uow:
        uow.invoices.add_draft(_values(PARENT, "2025-03", 2), [])
    with store.unit_of_work() as uow:
        assert uow.invoices.set_status(1, "draft", "void", AT) is True
        # a new id, above every earlier one (PostgreSQL does not reuse a rolled-back one)
        again = uow.invoices.add_draft(_values(PARENT, "2025-03", 2), [])
        assert again > 1
        current = uow.invoices.current(PARENT, "2025-03")
        assert current is not None
        assert (current.id, current.through_seq) == (again, 2)


def test_flex_periods_replace_later_ones(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
        uow.flex.set_period(PARENT, "named_user", date(2025, 1, 1), date(2025, 1, 1))
        uow.flex.set_period(PARENT, "active_user_hours", date(2025, 3, 1), date(2025, 1, 1))
        uow.flex.set_period(PARENT, "user_usage", date(2025, 2, 1), date(2025, 1, 1))
        uow.flex.set_period(CHILD, "user_usage", date(2025, 2, 1), date(2025, 1, 1))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.flex.periods(PARENT) == [
            ("named_user", date(2025, 1, 1)),
            ("user_usage", date(2025, 2, 1)),
        ]
        assert uow.flex.periods(OTHER) == []
        february = datetime(2025, 2, 1, tzinfo=UTC)
        assert uow.flex.instances() == {
            CHILD: FlexInstance(CHILD, (PlanPeriod("user_usage", february),)),
            PARENT: FlexInstance(
                PARENT,
                (
                    PlanPeriod("named_user", datetime(2025, 1, 1, tzinfo=UTC)),
                    PlanPeriod("user_usage", february),
                ),
            ),
        }
        assert list(uow.flex.instances()) == [PARENT, CHILD]  # by account sid


def test_resources_and_support_users(store: Store) -> None:
    with store.unit_of_work() as uow:
        _accounts(uow)
        uow.resources.replace(PARENT, '{"v":1}', AT)
        uow.resources.replace(PARENT, '{"v":2}', AT)
        uow.support.add("zoe", "hz", AT)
        uow.support.add("ann", "ha", AT)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.resources.get(PARENT) == '{"v":2}'
        assert uow.resources.get(OTHER) is None
        assert uow.support.names() == ["ann", "zoe"]
        assert (uow.support.token_hash("zoe"), uow.support.token_hash("bob")) == ("hz", None)


def test_deflex_requests_listing_open_and_removals(store: Store) -> None:
    early, late = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)
    with store.unit_of_work() as uow:
        _accounts(uow)
        one = uow.deflex.add(PARENT, "draft", "remove", '{"n":1}', AT)
        two = uow.deflex.add(OTHER, "submitted", "remove", '{"n":2}', AT)
        three = uow.deflex.add(PARENT, "draft", "remove", '{"n":3}', AT)
        four = uow.deflex.add(PARENT, "draft", "remove", '{"n":4}', AT)
        assert (one, two, three, four) == (1, 2, 3, 4)
        uow.deflex.update(one, "processed", '{"n":1,"done":true}', late, AT)
        uow.deflex.update(three, "processed", '{"n":3,"done":true}', early, AT)
        uow.deflex.update(two, "withdrawn", '{"n":2}', None, AT)
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.deflex.get(one)
        assert stored is not None
        assert (stored.account, stored.status, stored.effective) == (PARENT, "processed", late)
        assert stored.document == '{"n":1,"done":true}'
        assert uow.deflex.get(99) is None
        assert [r.id for r in uow.deflex.listing()] == [4, 3, 2, 1]
        assert [r.id for r in uow.deflex.listing([OTHER])] == [2]
        assert uow.deflex.open_for(PARENT) == [4]
        assert uow.deflex.removals() == {PARENT: early}


def test_the_month_close_names_the_store_it_needs(store: Store) -> None:
    settings = Settings(database_url="sqlite://")
    if isinstance(store, MemoryStore):
        with pytest.raises(StoreError, match="SQLite or PostgreSQL database"):
            close.generate(store, MARCH, settings)
    else:
        assert close.generate(store, MARCH, settings).generated == []
