"""Settings of the service layer, from the environment (or built directly in tests).

* ``RATECARD_DATABASE_URL``: the database (default: SQLite in the user's data directory).
* ``RATECARD_LATE_POLICY``: what happens to events for a month whose invoice is finalized:
  ``adjust-next`` (default: billed as adjustment lines on the next invoice) or ``reject``
  (refused at ingestion; and a draft that events of its month were stored after is not
  finalized: generate it again).
* ``RATECARD_CATALOG``: the catalog stored invoices are priced with (default ``us``).
* ``RATECARD_FUTURE_SKEW``: how far after "now" an event's time may be (senders' clocks run
  ahead a little; a later time is a mistake): seconds, or a number with ``s``, ``m``, ``h`` or
  ``d`` (default ``1d``). Event times are accepted from 2000-01-01T00:00:00Z to now plus it.
* ``RATECARD_MAX_EVENTS_BODY_BYTES`` / ``RATECARD_MAX_BODY_BYTES``: the largest request body
  of an event batch (default 16 MiB) and of any other request (default 64 KiB).
* ``RATECARD_AUTH_FAILURES_PER_SID`` / ``RATECARD_AUTH_FAILURES_PER_CLIENT`` within
  ``RATECARD_AUTH_WINDOW_SECONDS``: failed authentications allowed per account sid and per
  client address before further attempts answer 429 (defaults 10 and 30 in 300 seconds).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from ratecard.errors import ConfigError
from ratecard.store.database import database_url
from ratecard.usage.events import TimeWindow

if TYPE_CHECKING:
    from ratecard.catalog import Catalog

DEFAULT_FUTURE_SKEW = timedelta(days=1)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d{1,9})\s*([smhd]?)\s*")


def parse_duration(text: str, variable: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``36h`` or ``2d`` as a duration; ConfigError naming
    ``variable`` otherwise."""
    found = _DURATION.fullmatch(text.lower())
    if found is None:
        raise ConfigError(
            f"{variable}={text[:40]!r} is not a duration: give seconds, or a number with "
            "s, m, h or d (e.g. 1d, 36h)"
        )
    return timedelta(seconds=int(found[1]) * _UNITS[found[2]])


class LatePolicy(StrEnum):
    ADJUST_NEXT = "adjust-next"
    REJECT = "reject"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    late_policy: LatePolicy = LatePolicy.ADJUST_NEXT
    catalog: str = "us"
    future_skew: timedelta = DEFAULT_FUTURE_SKEW
    max_events_body_bytes: int = 16 * 1024 * 1024
    max_body_bytes: int = 64 * 1024
    auth_failures_per_sid: int = 10
    auth_failures_per_client: int = 30
    auth_window_seconds: int = 300

    def time_window(self, now: datetime, catalog: Catalog | None = None) -> TimeWindow:
        """The event times accepted at ``now``: 2000-01-01 UTC, or the day ``catalog`` takes
        effect if later (nothing before it is ever priced: such an event would make every
        all-time usage listing fail), to ``now`` + the skew."""
        if catalog is None:
            return TimeWindow.until(now, self.future_skew)
        first = catalog.versions[0].effective
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        why = f"the catalog '{catalog.name}' takes effect on {first}: nothing before is priced"
        return TimeWindow.until(now, self.future_skew, start, why)

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
        skew = env.get("RATECARD_FUTURE_SKEW")
        defaults = cls(database_url="")
        return cls(
            database_url=env.get("RATECARD_DATABASE_URL") or database_url(),
            late_policy=late,
            catalog=env.get("RATECARD_CATALOG") or "us",
            future_skew=DEFAULT_FUTURE_SKEW
            if skew is None
            else parse_duration(skew, "RATECARD_FUTURE_SKEW"),
            max_events_body_bytes=_count(
                env, "RATECARD_MAX_EVENTS_BODY_BYTES", defaults.max_events_body_bytes
            ),
            max_body_bytes=_count(env, "RATECARD_MAX_BODY_BYTES", defaults.max_body_bytes),
            auth_failures_per_sid=_count(
                env, "RATECARD_AUTH_FAILURES_PER_SID", defaults.auth_failures_per_sid
            ),
            auth_failures_per_client=_count(
                env, "RATECARD_AUTH_FAILURES_PER_CLIENT", defaults.auth_failures_per_client
            ),
            auth_window_seconds=_count(
                env, "RATECARD_AUTH_WINDOW_SECONDS", defaults.auth_window_seconds
            ),
        )


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number setting, or ``default`` when unset."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r} is not a positive whole number")
    return int(text)
