"""Books (SPEC section 8): a whole billing situation as one TOML file, priced without a database.

A book names a catalog, declares accounts, and points at a JSON-lines events file. Loading
reports every problem at once (file, line, field), like a catalog load.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ratecard.accounts import Account, check_accounts
from ratecard.billing.invoice import Invoice
from ratecard.billing.monthly import bill_month
from ratecard.billing.periods import Month
from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import BookError, EventError, Problem
from ratecard.usage.events import Event, dedupe, parse_event
from ratecard.usage.jsonl import read_jsonl


class BookAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sid: str
    name: str = Field(min_length=1)
    created: date
    created_with_flex: bool = False
    parent: str | None = None


class BookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: str = "us"
    events: str
    accounts: list[BookAccount] = Field(min_length=1)


@dataclass(frozen=True)
class Book:
    """A loaded book: its catalog, accounts and validated, de-duplicated events."""

    path: Path
    catalog: Catalog
    accounts: tuple[Account, ...]
    events: tuple[Event, ...]

    def invoices(self, month: Month, only: str | None = None) -> list[Invoice]:
        """Draft invoices of the book's billing accounts for ``month``."""
        return bill_month(self.catalog, self.accounts, self.events, month, only)


def load_book(path: Path) -> Book:
    """Load a book and everything it names; raise BookError/CatalogError with every problem."""
    where = str(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BookError([Problem(where, "no such book file")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BookError([Problem(where, f"not valid TOML: {exc}")]) from None
    try:
        parsed = BookFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                f"{path.name}: " + ".".join(str(p) for p in item["loc"][:-1])
                if len(item["loc"]) > 1
                else path.name,
                str(item["msg"]).removeprefix("Value error, "),
                str(item["loc"][-1]) if item["loc"] else None,
            )
            for item in exc.errors(include_url=False)
        ]
        raise BookError(problems, where) from None
    accounts = tuple(
        Account(a.sid, a.name, a.created, a.created_with_flex, a.parent) for a in parsed.accounts
    )
    problems = check_accounts(accounts, where=f"{path.name}: accounts")
    catalog = load_catalog(parsed.catalog, relative_to=path.parent)
    events, event_problems = _load_events(path.parent / parsed.events, {a.sid for a in accounts})
    problems += event_problems
    if problems:
        raise BookError(problems, where)
    return Book(path, catalog, accounts, tuple(events))


def _load_events(path: Path, known: set[str]) -> tuple[list[Event], list[Problem]]:
    if not path.is_file():
        return [], [Problem(str(path), "events file not found")]
    parsed: list[tuple[str, Event]] = []
    problems: list[Problem] = []
    for where, item in read_jsonl(path):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        try:
            event = parse_event(item, where)
        except EventError as exc:
            problems.extend(exc.problems)
            continue
        if event.account not in known:
            problems.append(
                Problem(where, f"account {event.account} is not declared in the book", "account")
            )
            continue
        parsed.append((where, event))
    try:
        events = dedupe(parsed)
    except EventError as exc:
        problems.extend(exc.problems)
        events = []
    return events, problems
