"""``ratecard book load``'s service: a book into the store, whole, idempotent, or refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from ratecard.book import load_book
from ratecard.errors import ConflictError, EventError, StateError
from ratecard.periods import Month
from ratecard.service import books, deflex, invoices
from ratecard.service.accounts import create_account
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIXTURES = Path(__file__).resolve().parents[1] / "deflex" / "fixtures"
JULY = Month(2026, 7)


def counts(db: Database) -> dict[str, int]:
    tables = ("accounts", "events", "flex_plan_periods", "deflex_requests", "account_resources")
    with db.engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
        }


def flex_book(folder: Path, sid: str, since: str, more: str) -> Path:
    """A one-account book created with Flex, on Named User ``since``, plus ``more`` TOML."""
    (folder / "events.jsonl").write_text("")
    book = folder / "book.toml"
    book.write_text(
        f'events = "events.jsonl"\n\n[[accounts]]\nsid = "{sid}"\nname = "Flexy"\n'
        'created = "2025-01-01"\ncreated_with_flex = true\n\n'
        f'[[flex]]\naccount = "{sid}"\nplan = "named-user"\neffective = "{since}"\n\n{more}'
    )
    return book


@pytest.mark.parametrize(
    ("book", "total"),
    [("acme", "181.08"), ("flex-deflexified", "450.98"), ("flex-user-usage", "212.59")],
)
def test_a_loaded_book_bills_what_the_book_bills_and_a_reload_doubles_nothing(
    db: Database, settings: Settings, book: str, total: str
) -> None:
    loaded = load_book(EXAMPLES / book / "book.toml")
    first = books.load(db, loaded, settings)
    assert {a.action for a in first.accounts} == {"created"}
    assert all(a.token for a in first.accounts)
    assert (first.stored, first.duplicates) == (len(loaded.events), 0)
    after_first = counts(db)

    again = books.load(db, loaded, settings)
    assert {a.action for a in again.accounts} == {"already stored"}
    assert not any(a.token for a in again.accounts)
    assert set(again.flex.values()) <= {"already stored"}
    assert set(again.deflexifications.values()) <= {"already stored"}
    assert (again.stored, again.duplicates) == (0, len(loaded.events))
    assert counts(db) == after_first

    (owner,) = [a.sid for a in loaded.accounts if a.parent is None][:1]
    (generated,) = invoices.generate(db, JULY, settings, owner)
    assert generated.total == total
    assert generated.total == str(loaded.invoices(JULY, owner)[0].total)


def test_an_account_stored_with_other_attributes_refuses_the_whole_load(
    db: Database, settings: Settings
) -> None:
    create_account(db, "Acme", sid="ACacbeacbeacbeacbeacbeacbeacbeacbe", created=None)
    before = counts(db)
    with pytest.raises(StateError) as refused:
        books.load(db, load_book(EXAMPLES / "acme" / "book.toml"), settings)
    message = str(refused.value)
    assert "nothing was loaded" in message
    assert "account ACacbeacbeacbeacbeacbeacbeacbeacbe: stored name 'Acme' (the book: " in message
    assert "created " in message
    assert counts(db) == before


def test_another_stored_plan_history_or_event_content_refuses_the_load(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    source = EXAMPLES / "flex-named-user"
    books.load(db, load_book(source / "book.toml"), settings)
    changed = tmp_path / "book"
    shutil.copytree(source, changed)
    book = changed / "book.toml"
    book.write_text(
        book.read_text().replace('effective = "2026-01-10"', 'effective = "2026-01-11"')
    )
    before = counts(db)
    with pytest.raises(StateError, match="stored plan history named-user from 2026-01-10"):
        books.load(db, load_book(book), settings)
    # the same book with one event's content changed: refused, naming the event
    shutil.copy(source / "book.toml", book)
    events = changed / "events.jsonl"
    lines = events.read_text().splitlines()
    first = json.loads(lines[0])
    first["user"] = "someone-else"
    events.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(ConflictError, match="different content"):
        books.load(db, load_book(book), settings)
    assert counts(db) == before


def test_resources_of_a_book_are_stored_for_the_deflex_checklist(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    sid = "AC5f3b2c9d8e7a6b5c4d3e2f1a0b9c8d7e"  # the fixture export's account
    shutil.copy(FIXTURES / "acme_flex_resources.json", tmp_path / "resources.json")
    flex_book(
        tmp_path, sid, "2025-01-01", f'[[resources]]\naccount = "{sid}"\nfile = "resources.json"\n'
    )
    report = books.load(db, load_book(tmp_path / "book.toml"), settings)
    assert report.resources[sid].startswith("stored (")
    from_book = deflex.checklist(db, sid)
    again = books.load(db, load_book(tmp_path / "book.toml"), settings)
    assert again.resources == {sid: "already stored"}
    # the same findings as importing the export with 'ratecard resources import'
    data = json.loads((tmp_path / "resources.json").read_text())
    deflex.import_resources(db, sid, data)
    assert deflex.checklist(db, sid) == from_book
    assert from_book["findings"]
    with UnitOfWork(db) as uow:
        assert uow.resources.get(sid) is not None


def test_a_deflexification_before_the_first_plan_is_refused_not_a_traceback(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    sid = "ACf1d0f1d0f1d0f1d0f1d0f1d0f1d0f1d0"
    removal = 'intent = "stop_billing"\neffective = "2026-01-16T00:00:00Z"\n'
    flex_book(tmp_path, sid, "2026-03-01", f'[[deflexifications]]\naccount = "{sid}"\n{removal}')
    with pytest.raises(StateError, match="before its first Flex plan"):
        books.load(db, load_book(tmp_path / "book.toml"), settings)
    assert counts(db)["accounts"] == 0


def test_a_book_with_a_call_in_a_country_its_catalog_does_not_price_is_refused_whole(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Stored, the call would make the account's invoice and the month close fail for good
    (as ``ratecard invoice`` on the book file says at once)."""
    changed = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", changed)
    events = changed / "events.jsonl"
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    for line in lines:
        if line["id"] == "call-1":
            line["country"] = "FR"
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(EventError) as caught:
        books.load(db, load_book(changed / "book.toml"), settings)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("events.jsonl: event call-1", "country")
    assert problem.reason == (
        "category 'calls-inbound-tollfree' has no price in country FR in the catalog 'us': it "
        "is priced in CA, US only"
    )
    assert counts(db)["events"] == 0
