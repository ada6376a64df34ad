"""Accounts and billing accounts (SPEC section 1).

A billing account is a parent account with its subaccounts: all their usage is billed on the
parent's invoice. Subaccounts cannot have subaccounts of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from ratecard.errors import Problem

ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")


@dataclass(frozen=True)
class Account:
    """An account (project): sid ``AC`` + 32 hex, name, parent, creation and Flex origin."""

    sid: str
    name: str
    created: date
    created_with_flex: bool = False
    parent: str | None = None


def check_accounts(accounts: Sequence[Account], where: str = "accounts") -> list[Problem]:
    """Every problem with a set of accounts: bad or repeated sids, unknown or nested parents."""
    problems: list[Problem] = []
    by_sid: dict[str, Account] = {}
    for i, account in enumerate(accounts):
        place = f"{where}[{i}] ({account.name})"
        if not ACCOUNT_SID.match(account.sid):
            problems.append(Problem(place, "must be AC followed by 32 lowercase hex digits", "sid"))
        if account.sid in by_sid:
            problems.append(Problem(place, f"sid {account.sid} is declared twice", "sid"))
        by_sid[account.sid] = account
    for i, account in enumerate(accounts):
        place = f"{where}[{i}] ({account.name})"
        if account.parent is None:
            continue
        parent = by_sid.get(account.parent)
        if parent is None:
            problems.append(
                Problem(place, f"parent {account.parent} is not a declared account", "parent")
            )
        elif parent.parent is not None:
            problems.append(
                Problem(
                    place,
                    f"parent {parent.sid} is itself a subaccount; subaccounts cannot nest",
                    "parent",
                )
            )
        elif account.parent == account.sid:
            problems.append(Problem(place, "an account cannot be its own parent", "parent"))
    return problems


def billing_accounts(accounts: Iterable[Account]) -> dict[str, str]:
    """Map every account sid to the sid of the account it is billed to (itself or its parent)."""
    return {account.sid: account.parent or account.sid for account in accounts}
