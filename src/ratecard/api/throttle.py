"""Throttling of failed authentications: brute force costs the attacker time, not us CPU.

Each wrong token costs a deliberately slow scrypt check (about 27 ms), so unthrottled guessing
is both an attack on the token and on the server's CPU. Failures are counted in a sliding
window per account sid (or support user name) and per client address; once either count is
at its limit, further attempts answer 429 with ``Retry-After`` and the token is not checked
at all (only a token already verified, a lookup in memory, still passes, so an attacker who
floods one sid does not lock out its owner's working client). Failures on one sid do not
throttle other sids, except through the per-client limit of the same client address.

In-process state: each server worker counts on its own (a limit per worker), which bounds the
guessing rate, the point here, without a shared store.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: the most keys tracked at once (random sids cannot grow memory without bound)
MAX_KEYS = 100_000


@dataclass
class Window:
    """Failure times per key within the last ``seconds``; ``limit`` failures close the key."""

    limit: int
    seconds: float
    timer: Callable[[], float]
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _live(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def wait(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        now = self.timer()
        times = self._live(key, now)
        if times is None or len(times) < self.limit:
            return None
        return times[-self.limit] + self.seconds - now

    def fail(self, key: str) -> None:
        now = self.timer()
        times = self._live(key, now)
        if times is None:
            if len(self._failures) >= MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))  # the longest-tracked key
            times = self._failures[key] = deque()
        times.append(now)


class AuthThrottle:
    """The per-user and per-client windows of one app, safe across worker threads."""

    def __init__(
        self, per_user: int, per_client: int, seconds: float, timer: Callable[[], float]
    ) -> None:
        self.users = Window(per_user, seconds, timer)
        self.clients = Window(per_client, seconds, timer)
        self._lock = threading.Lock()

    def retry_after(self, user: str, client: str) -> int | None:
        """Whole seconds to wait before ``user`` may authenticate from ``client``, or None."""
        with self._lock:
            waits = [w for w in (self.users.wait(user), self.clients.wait(client)) if w is not None]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, user: str, client: str) -> None:
        with self._lock:
            self.users.fail(user)
            self.clients.fail(client)
