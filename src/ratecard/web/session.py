"""The console's session: a signed cookie holding who logged in and the CSRF token.

The cookie is signed with the app's secret (itsdangerous, HMAC-SHA1 over a timestamped JSON
payload) and expires after :data:`MAX_AGE` seconds. It is HttpOnly and SameSite=Lax; the
Secure flag is set whenever the request came over https (on plain http loopback, where
``make run`` serves, a Secure cookie would never come back).

Every visitor gets a session, logged in or not, so that the login form has a CSRF token too
(login CSRF). Logging in issues a fresh session (new token), so a token seen before login is
worth nothing after it. A logged-in session also remembers a digest of the credential's stored
hash: rotating the account's token changes the hash and so ends every session opened with the
old one.

Logging out revokes the session on the server too (its CSRF token, unique per session, is
remembered as revoked until the session would have expired anyway), so a copy of the cookie
is worth nothing after logout. Like the login throttle this is in-process state: with several
server workers each knows only the logouts it served.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "ratecard_console"
MAX_AGE = 8 * 3600
#: the environment variable that fixes the signing secret (several server workers must share
#: it); unset, each app draws a random secret and sessions end when the server restarts
SECRET_VARIABLE = "RATECARD_CONSOLE_SECRET"


Kind = Literal["", "account", "support"]


@dataclass(frozen=True)
class Session:
    """One visitor's session; ``kind`` and ``name`` are empty until login."""

    csrf: str
    kind: Kind = ""
    name: str = ""
    credential: str = ""  # digest of the stored token hash the login was checked against

    @property
    def logged_in(self) -> bool:
        return bool(self.kind)


def fresh(kind: Kind = "", name: str = "", credential: str = "") -> Session:
    return Session(secrets.token_urlsafe(32), kind, name, credential)


def credential_digest(stored_hash: str) -> str:
    """What a session keeps of the stored token hash (never the hash itself)."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()


class Sessions:
    """Reads and writes the signed session cookie of one app."""

    def __init__(
        self, secret: str | None = None, timer: Callable[[], float] = time.monotonic
    ) -> None:
        key = secret or os.environ.get(SECRET_VARIABLE) or secrets.token_hex(32)
        self._signer = URLSafeTimedSerializer(key, salt="ratecard-console-session")
        self._revoked: dict[str, float] = {}  # CSRF token -> when it was revoked
        self._lock = threading.Lock()
        self._timer = timer

    def revoke(self, session: Session) -> None:
        """End ``session`` for good (logout), whoever holds a copy of its cookie."""
        now = self._timer()
        with self._lock:
            expired = [t for t, at in self._revoked.items() if at <= now - MAX_AGE]
            for token in expired:  # such cookies fail their signature's age check anyway
                del self._revoked[token]
            self._revoked[session.csrf] = now

    def _is_revoked(self, csrf: str) -> bool:
        with self._lock:
            return csrf in self._revoked

    def read(self, request: Request) -> Session | None:
        """The request's valid session, or None (missing, tampered or expired)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._signer.loads(raw, max_age=MAX_AGE)
        except BadSignature:  # also SignatureExpired, its subclass
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        if self._is_revoked(data["csrf"]):
            return None
        kind = data.get("kind", "")
        if kind not in ("", "account", "support"):
            return None
        return Session(data["csrf"], kind, str(data.get("name", "")), str(data.get("cred", "")))

    def write(self, request: Request, response: Response, session: Session) -> None:
        payload = {
            "csrf": session.csrf,
            "kind": session.kind,
            "name": session.name,
            "cred": session.credential,
        }
        response.set_cookie(
            COOKIE,
            self._signer.dumps(payload),
            max_age=MAX_AGE,
            path="/console",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax")


def csrf_matches(session: Session, submitted: str | None) -> bool:
    """Whether a form's token is the session's (constant-time comparison)."""
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")
