"""The one error hierarchy of ratecard.

Every error ratecard raises on purpose is a :class:`RatecardError`. Errors are values that carry
where they come from (file, line, table, key, event id, field), so one run can report every
problem at once instead of stopping at the first::

    RatecardError
    ├── MoneyError              a value refused at the D() gateway (float, NaN, bad text)
    ├── CatalogError            a catalog failed to load; .problems lists every problem
    ├── EventError              usage events were refused; .problems lists every bad event
    ├── BookError               a book failed to load; .problems lists every problem
    ├── RatingError             usage that cannot be priced
    │   └── NoPriceError        no price for a category in a country
    ├── PlanChangeRefusedError  a Flex plan change refused by eligibility rules
    ├── ResourcesError          an account's resources failed to import; .problems lists all
    ├── ConflictError           an event id reused with different content (a subclass of
    │                           EventError too: .problems names each conflicting event)
    ├── NotFoundError           a stored record (account, invoice) does not exist
    ├── StateError              an action not allowed in a record's state (finalize a void
    │   │                       invoice, process a withdrawn request, ...)
    │   └── RequestStateError   ... of a deflexification request; .state, .allowed
    ├── StoreError              the database is unreachable or its schema is not current
    ├── ConfigError             a setting (environment variable) has a value it cannot take
    └── DeflexError             a deflexification step was refused (SPEC section 5)
        ├── DeflexRefused       a rule refused it; .reason (User + Usage: .workers or .users)
        ├── RequestStateError   (also a StateError, above)
        └── PermissionDenied    the actor's role may not do it; .actor, .role, .action

Adapters (CLI, API) translate these into exit codes or HTTP statuses; the core never knows
about either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found while loading or validating input.

    ``where`` names the place (``prices[2].tiers[1].up_to``, ``events.jsonl:14``); ``field``
    names the offending field when there is one; ``reason`` says what is wrong in plain words.
    """

    where: str
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        field = f" field '{self.field}'" if self.field else ""
        return f"{self.where}:{field} {self.reason}"


class RatecardError(Exception):
    """Base of every error ratecard raises on purpose."""


class MoneyError(RatecardError, ValueError):
    """A number was refused at the D() gateway."""


class _ProblemsError(RatecardError):
    """An error that carries every problem found, not only the first."""

    title = "invalid input"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{self.title} ({source})" if source else self.title
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}: {len(self.problems)} problem(s)\n{lines}")


class CatalogError(_ProblemsError):
    """A catalog file failed validation."""

    title = "invalid catalog"


class EventError(_ProblemsError):
    """One or more usage events were refused."""

    title = "invalid usage events"


class BookError(_ProblemsError):
    """A book failed validation."""

    title = "invalid book"


class RatingError(RatecardError):
    """Usage that cannot be priced."""


class NoPriceError(RatingError):
    """Usage the catalog has no price for (never silently free); lists every case at once.

    ``unpriced`` holds objects with ``category``, ``country``, ``first_event`` and ``count``.
    """

    def __init__(self, unpriced: list[Any]) -> None:
        self.unpriced = list(unpriced)
        lines = []
        for item in self.unpriced:
            where = f"country {item.country}" if item.country else "events without a country"
            lines.append(
                f"  - category '{item.category}' in {where}: {item.count} usage record(s), "
                f"first from event '{item.first_event}'"
            )
        super().__init__(
            "no price in the catalog for:\n" + "\n".join(lines) + "\nadd prices for them to "
            'the catalog, or a fallback price with countries = ["*"]'
        )


class ConflictError(EventError):
    """Events whose id was already stored for the account with different content."""

    title = "conflicting usage events"


class NotFoundError(RatecardError):
    """A stored record (account, invoice) does not exist."""


class StateError(RatecardError):
    """An action that the record's current state does not allow."""


class StoreError(RatecardError):
    """The database cannot be used: unreachable, or its schema is missing or out of date."""


class ConfigError(RatecardError):
    """A setting (an environment variable) has a value it cannot take."""


class PlanChangeRefusedError(RatecardError):
    """A Flex plan change refused by one or more eligibility rules (SPEC section 3).

    ``refusals`` hold each rule's id and its explanation in plain words.
    """

    def __init__(self, refusals: list[Any]) -> None:
        self.refusals = list(refusals)
        super().__init__("\n".join(str(r) for r in self.refusals))


class ResourcesError(_ProblemsError):
    """An account's resources (vendor REST shapes) failed validation."""

    title = "invalid resources"


class DeflexError(RatecardError):
    """A deflexification request or one of its steps was refused."""


class DeflexRefused(DeflexError):  # noqa: N818  # names the outcome, as the CLI says it
    """A rule refused a deflexification step; ``reason`` says which, in a customer's words.

    A request for an account on User + Usage is refused at filing and carries the remedy,
    projected with the catalog's ``seat_basis``: under ``worker_exists``, ``workers`` (objects
    with ``sid`` and ``friendly_name``) that would be charged a seat next cycle and
    ``command``, the command that deletes them; under ``login``, ``users`` (names) who logged
    in this month and would be charged next cycle if they log in again. ``seat_price`` and
    ``projected_charge`` (exact, rounded once) are in ``currency``; ``stops_charge`` says what
    stops the charge under that basis.
    """

    def __init__(
        self,
        reason: str,
        *,
        workers: Sequence[Any] = (),
        seat_price: Decimal | None = None,
        projected_charge: Decimal | None = None,
        currency: str | None = None,
        command: str | None = None,
        seat_basis: str | None = None,
        users: Sequence[str] = (),
        stops_charge: str | None = None,
    ) -> None:
        self.reason = reason
        self.workers = tuple(workers)
        self.seat_price = seat_price
        self.projected_charge = projected_charge
        self.currency = currency
        self.command = command
        self.seat_basis = seat_basis
        self.users = tuple(users)
        self.stops_charge = stops_charge
        lines = [reason]
        if self.workers:
            lines.append("Workers that would be charged a seat next cycle:")
            lines.extend(f"  - {w.sid} ({w.friendly_name})" for w in self.workers)
        if self.users:
            lines.append(
                "Users who logged in to Flex this month (each is charged a seat next cycle if "
                "they log in again):"
            )
            lines.extend(f"  - {user}" for user in self.users)
        if projected_charge is not None and seat_price is not None:
            seats = len(self.workers) + len(self.users)  # one of them, by the seat basis
            lines.append(
                f"Projected seat charge next cycle: {seats} x {seat_price} "
                f"{currency} = {projected_charge} {currency}"
            )
        if command:
            lines.append(f"To stop it, delete them: {command}")
        super().__init__("\n".join(lines))


class RequestStateError(StateError, DeflexError):
    """An action a deflexification request's state does not allow; names the allowed ones."""

    def __init__(self, action: str, state: str, allowed: Sequence[str]) -> None:
        self.action = action
        self.state = state
        self.allowed = tuple(allowed)
        now = ", ".join(self.allowed) if self.allowed else "nothing (the request is closed)"
        super().__init__(f"cannot {action} a request that is {state}; allowed now: {now}")


class PermissionDenied(DeflexError):  # noqa: N818  # the usual name for this refusal
    """The actor's role may not take this action; ``reason`` says who may."""

    def __init__(self, actor: str, role: str, action: str, reason: str) -> None:
        self.actor = actor
        self.role = role
        self.action = action
        self.reason = reason
        super().__init__(f"{actor} ({role}) may not {action}: {reason}")
