"""Books (SPEC section 8): a whole billing situation as one TOML file, priced without a database.

A book names a catalog, declares accounts, and points at a JSON-lines events file. Loading
reports every problem at once (file, line, field), like a catalog load.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ratecard.accounts import Account, check_accounts
from ratecard.billing.invoice import Invoice
from ratecard.billing.monthly import bill_month
from ratecard.catalog import Catalog, load_catalog
from ratecard.deflex.resources import AccountResources, parse_resources
from ratecard.errors import (
    BookError,
    EventError,
    PlanChangeRefusedError,
    Problem,
    RatecardError,
    ResourcesError,
)
from ratecard.flex.history import FlexInstance, build_instance, remove_flex
from ratecard.flex.seats import seat_charge
from ratecard.periods import Month
from ratecard.usage.events import Event, dedupe, parse_event
from ratecard.usage.jsonl import read_jsonl


class BookAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sid: str
    name: str = Field(min_length=1)
    created: date
    created_with_flex: bool = False
    parent: str | None = None


class BookFlex(BaseModel):
    """A Flex plan period: from ``effective`` the account's instance is on ``plan``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    plan: str
    effective: date


class BookDeflex(BaseModel):
    """A processed deflexification: Flex billing stops at ``effective`` (SPEC section 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    intent: Literal["stop_billing", "decommission"]
    effective: datetime

    @field_validator("effective")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-07-16T00:00:00Z")
        return value.astimezone(UTC)


class BookResources(BaseModel):
    """An account's resources (Studio flows, TaskRouter workspaces, TwiML apps, workers,
    numbers): a JSON file in the vendor's REST shapes, path relative to the book. Pricing
    does not read them; ``ratecard book load`` stores them for the deflex checklist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    file: str


class BookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: str = "us"
    events: str
    accounts: list[BookAccount] = Field(min_length=1)
    flex: list[BookFlex] = Field(default_factory=list)
    deflexifications: list[BookDeflex] = Field(default_factory=list)
    resources: list[BookResources] = Field(default_factory=list)


@dataclass(frozen=True)
class Book:
    """A loaded book: its catalog, accounts and validated, de-duplicated events."""

    path: Path
    catalog: Catalog
    accounts: tuple[Account, ...]
    events: tuple[Event, ...]
    flex: dict[str, FlexInstance] = field(default_factory=dict)
    # what the book declares, as declared: a store keeps plan history and removals apart
    history: dict[str, tuple[tuple[str, date], ...]] = field(default_factory=dict)
    deflexifications: tuple[BookDeflex, ...] = ()
    resources: dict[str, AccountResources] = field(default_factory=dict)
    events_path: Path | None = None

    def invoices(self, month: Month, only: str | None = None) -> list[Invoice]:
        """Draft invoices of the book's billing accounts for ``month``."""
        return bill_month(self.catalog, self.accounts, self.events, month, only, self.flex)

    def account(self, sid: str) -> Account:
        for account in self.accounts:
            if account.sid == sid:
                return account
        raise BookError([Problem(str(self.path), f"account {sid} is not declared in the book")])


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
    events_path = path.parent / parsed.events
    events, event_problems = _load_events(events_path, {a.sid for a in accounts})
    problems += event_problems
    flex, flex_problems = _flex(parsed, accounts, catalog, path.name)
    problems += flex_problems
    resources, resource_problems = _resources(parsed, path, {a.sid for a in accounts})
    problems += resource_problems
    if problems:
        raise BookError(problems, where)
    history: dict[str, list[tuple[str, date]]] = {}
    for entry in sorted(parsed.flex, key=lambda e: e.effective):
        history.setdefault(entry.account, []).append((entry.plan, entry.effective))
    return Book(
        path,
        catalog,
        accounts,
        tuple(events),
        flex,
        {sid: tuple(changes) for sid, changes in history.items()},
        tuple(parsed.deflexifications),
        resources,
        events_path,
    )


def _resources(
    parsed: BookFile, path: Path, known: set[str]
) -> tuple[dict[str, AccountResources], list[Problem]]:
    found: dict[str, AccountResources] = {}
    problems: list[Problem] = []
    for i, entry in enumerate(parsed.resources):
        where = f"{path.name}: resources[{i}]"
        if entry.account not in known:
            problems.append(Problem(where, "account is not declared", "account"))
            continue
        if entry.account in found:
            problems.append(Problem(where, "the account's resources are already declared"))
            continue
        file = path.parent / entry.file
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            found[entry.account] = parse_resources(data, entry.account, where=str(file))
        except FileNotFoundError:
            problems.append(Problem(str(file), "resources file not found", "file"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), f"not valid JSON: {exc}"))
        except ResourcesError as exc:
            problems.extend(exc.problems)
    return found, problems


def _flex(
    parsed: BookFile, accounts: tuple[Account, ...], catalog: Catalog, name: str
) -> tuple[dict[str, FlexInstance], list[Problem]]:
    """Flex instances from the book's plan history, replayed through the eligibility rules."""
    by_sid = {a.sid: a for a in accounts}
    history: dict[str, list[tuple[str, date]]] = {}
    problems: list[Problem] = []
    for i, entry in enumerate(parsed.flex):
        if entry.account not in by_sid:
            problems.append(Problem(f"{name}: flex[{i}]", "account is not declared", "account"))
        else:
            history.setdefault(entry.account, []).append((entry.plan, entry.effective))
    if history and catalog.flex is None:
        problems.append(Problem(f"{name}: flex", f"catalog '{catalog.name}' has no [flex] section"))
        return {}, problems
    instances: dict[str, FlexInstance] = {}
    for sid, changes in history.items():
        assert catalog.flex is not None
        try:
            instances[sid] = build_instance(catalog.flex, by_sid[sid], changes)
        except (PlanChangeRefusedError, RatecardError) as exc:
            problems.append(Problem(f"{name}: flex ({sid})", str(exc), "plan"))
    for i, deflex in enumerate(parsed.deflexifications):
        instance = instances.get(deflex.account)
        if instance is None:
            problems.append(
                Problem(f"{name}: deflexifications[{i}]", "the account has no Flex plan", "account")
            )
            continue
        plan = instance.plan_at(deflex.effective)
        if plan == "user-usage":
            # the remedy follows the catalog's seat basis: Workers are no seats by login
            basis = catalog.flex.plans[plan].seat_basis if catalog.flex else "login"
            what, stops = seat_charge(basis)
            problems.append(
                Problem(
                    f"{name}: deflexifications[{i}]",
                    "an instance on User + Usage cannot be deflexified by request; its seat "
                    f"charge counts {what}: {stops}",
                    "account",
                )
            )
            continue
        instances[deflex.account] = remove_flex(instance, deflex.effective)
    return instances, problems


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
