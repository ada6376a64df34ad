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
    ├── ConflictError           an event id reused with different content (a subclass of
    │                           EventError too: .problems names each conflicting event)
    ├── NotFoundError           a stored record (account, invoice) does not exist
    ├── StateError              an action not allowed in a record's state (finalize a void
    │                           invoice, ...)
    ├── StoreError              the database is unreachable or its schema is not current
    └── ConfigError             a setting (environment variable) has a value it cannot take

Adapters (CLI, API) translate these into exit codes or HTTP statuses; the core never knows
about either.
"""

from __future__ import annotations

from dataclasses import dataclass
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
