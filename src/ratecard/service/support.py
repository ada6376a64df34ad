"""Support users: the role that processes deflexification requests (SPEC section 5).

A support user has a name and a token (32 hex characters, shown once, stored only as a salted
scrypt hash, compared in constant time).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from ratecard.errors import NotFoundError, StateError
from ratecard.service.accounts import hash_token, token_matches
from ratecard.service.ports import Store
from ratecard.store.database import retrying

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


def add_support_user(db: Store, name: str, now: datetime | None = None) -> str:
    """Register support user ``name``; return its token (the only time it is shown)."""
    if not NAME.match(name):
        raise StateError(
            f"support user name {name!r} must be 1-128 letters, digits, '.', '_', '@' or '-'"
        )
    token = secrets.token_hex(16)
    token_hash = hash_token(token)

    def work() -> None:
        with db.unit_of_work() as uow:
            if uow.support.token_hash(name) is not None:
                raise StateError(f"support user {name!r} already exists")
            uow.support.add(name, token_hash, now or datetime.now(UTC))
            uow.commit()

    retrying(work)
    return token


def stored_token_hash(db: Store, name: str) -> str | None:
    """The hash of support user ``name``'s token (None: no such user), for a caller that
    checks tokens itself (the API caches verified pairs)."""
    with db.unit_of_work() as uow:
        return uow.support.token_hash(name)


def is_support_user(db: Store, name: str) -> bool:
    """Whether ``name`` is a registered support user."""
    return stored_token_hash(db, name) is not None


def require_support_user(db: Store, name: str) -> None:
    """Raise NotFoundError unless ``name`` is a registered support user."""
    if not is_support_user(db, name):
        raise NotFoundError(
            f"{name!r} is not a registered support user (register one with 'ratecard support "
            "add NAME')"
        )


def authenticate(db: Store, name: str, token: str) -> bool:
    """Whether ``token`` is support user ``name``'s token (constant-time comparison)."""
    stored = stored_token_hash(db, name)
    return stored is not None and token_matches(token, stored)


def list_support_users(db: Store) -> list[str]:
    with db.unit_of_work() as uow:
        return uow.support.names()
