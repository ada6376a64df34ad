"""What routes depend on: the service context (database, settings, catalog, clock) and auth.

Authentication is the vendor's: HTTP Basic with an account sid and its auth token. Tokens are
stored as salted scrypt hashes and compared in constant time; a sid that does not exist costs
the same hash, so timing does not tell whether an account exists. scrypt is deliberately slow,
so a verified (stored hash, token digest) pair is remembered in memory: rotating a token
changes the stored hash and so forgets it. Failed attempts are throttled per sid and per
client address (:mod:`ratecard.api.throttle`): 429 with ``Retry-After``, and no scrypt.

Isolation: an account's credentials reach that account and its subaccounts; anything else
answers 404 exactly as a sid that does not exist, so no other tenant's data or existence leaks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Request

from ratecard.accounts import Account
from ratecard.api.errors import ApiError, unauthorized
from ratecard.api.throttle import AuthThrottle
from ratecard.catalog import Catalog
from ratecard.errors import NotFoundError
from ratecard.service import accounts as account_service
from ratecard.service import support as support_service
from ratecard.service.accounts import hash_token, token_matches
from ratecard.service.settings import Settings
from ratecard.service.support import NAME
from ratecard.store.database import Database

_DUMMY_HASH = hash_token("not-a-token")
_CACHE_LIMIT = 1024


@dataclass
class Context:
    """The composition root of one running app."""

    db: Database
    settings: Settings
    catalog: Catalog
    clock: Callable[[], datetime]
    verified: dict[tuple[str, str], bool]
    lock: threading.Lock
    throttle: AuthThrottle

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().date()


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account (by sid) or a support user (by name)."""

    kind: Literal["account", "support"]
    name: str


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ratecard
    return ctx


Ctx = Annotated[Context, Depends(context)]


def _credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized("authentication required: HTTP Basic with account sid and auth token")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("only HTTP Basic authentication is accepted")
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("malformed HTTP Basic credentials") from None
    user, sep, secret = text.partition(":")
    if not sep or not user or not secret:
        raise unauthorized("malformed HTTP Basic credentials")
    return user, secret


def _matches(ctx: Context, token: str, stored: str | None, check: bool = True) -> bool:
    """Whether ``token`` matches; with ``check`` false only a pair verified before matches."""
    key = (stored or _DUMMY_HASH, hashlib.sha256(token.encode()).hexdigest())
    with ctx.lock:
        known = ctx.verified.get(key)
    if known is not None:
        return known and stored is not None
    if not check:
        return False
    result = token_matches(token, stored or _DUMMY_HASH) and stored is not None
    with ctx.lock:
        if len(ctx.verified) >= _CACHE_LIMIT:
            ctx.verified.clear()
        ctx.verified[key] = result
    return result


def authenticate(ctx: Context, user: str, secret: str, check: bool = True) -> Principal | None:
    """The principal these credentials belong to, or None (``check``: see :func:`_matches`)."""
    if user.startswith("AC"):
        stored = account_service.stored_token_hash(ctx.db, user) if len(user) <= 34 else None
        return Principal("account", user) if _matches(ctx, secret, stored, check) else None
    return _support(ctx, user, secret, check)


def _support(ctx: Context, name: str, secret: str, check: bool) -> Principal | None:
    """Support users authenticate with their name and token (the same hashing as accounts)."""
    stored = support_service.stored_token_hash(ctx.db, name) if NAME.match(name) else None
    return Principal("support", name) if _matches(ctx, secret, stored, check) else None


def principal(request: Request, ctx: Ctx) -> Principal:
    user, secret = _credentials(request)
    client = request.client.host if request.client else "unknown"
    wait = ctx.throttle.retry_after(user, client)
    # while throttled the token is not hashed at all: only a pair verified before passes
    found = authenticate(ctx, user, secret, check=wait is None)
    if found is not None:
        return found
    if wait is not None:
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed authentications; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    ctx.throttle.failed(user, client)
    raise unauthorized("invalid credentials")


Caller = Annotated[Principal, Depends(principal)]


def account_caller(who: Caller) -> Principal:
    """An account's credentials; a support user may not act as an account."""
    if who.kind != "account":
        raise ApiError(403, "forbidden_role", "support users cannot act as an account")
    return who


def support_caller(who: Caller) -> Principal:
    if who.kind != "support":
        raise ApiError(403, "forbidden_role", "only a support user may do this")
    return who


AccountCaller = Annotated[Principal, Depends(account_caller)]
SupportCaller = Annotated[Principal, Depends(support_caller)]


def reachable(ctx: Context, who: Principal, sid: str) -> Account:
    """Account ``sid`` if ``who`` may see it (itself or its subaccount); else 404."""
    account = account_service.find_account(ctx.db, sid) if len(sid) <= 34 else None
    if account is None or who.kind != "account" or who.name not in (sid, account.parent):
        raise NotFoundError(f"account {sid} does not exist")
    return account


def tree(ctx: Context, who: Principal) -> set[str]:
    """The sids ``who`` may act on: its account and that account's subaccounts."""
    accounts = account_service.list_accounts(ctx.db)
    return {a.sid for a in accounts if who.name in (a.sid, a.parent)}
