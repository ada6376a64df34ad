"""Settings of the service layer, from the environment (or built directly in tests).

* ``RATECARD_DATABASE_URL``: the database (default: SQLite in the user's data directory).
* ``RATECARD_LATE_POLICY``: what happens to events for a month whose invoice is finalized:
  ``adjust-next`` (default: billed as adjustment lines on the next invoice) or ``reject``
  (refused at ingestion).
* ``RATECARD_CATALOG``: the catalog stored invoices are priced with (default ``us``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ratecard.errors import ConfigError
from ratecard.store.database import database_url


class LatePolicy(StrEnum):
    ADJUST_NEXT = "adjust-next"
    REJECT = "reject"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    late_policy: LatePolicy = LatePolicy.ADJUST_NEXT
    catalog: str = "us"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        policy = env.get("RATECARD_LATE_POLICY", LatePolicy.ADJUST_NEXT.value)
        try:
            late = LatePolicy(policy)
        except ValueError:
            choices = ", ".join(p.value for p in LatePolicy)
            raise ConfigError(
                f"RATECARD_LATE_POLICY={policy!r} is not a policy; choose one of: {choices}"
            ) from None
        return cls(
            database_url=env.get("RATECARD_DATABASE_URL") or database_url(),
            late_policy=late,
            catalog=env.get("RATECARD_CATALOG") or "us",
        )
