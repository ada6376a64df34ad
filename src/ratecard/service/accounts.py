"""Account handlers: create (returning the auth token once), list, rotate a token.

Auth tokens are 32 hex characters from :func:`secrets.token_hex`; only a salted scrypt hash
is stored (``scrypt$n$r$p$salt$hash``), never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime

from ratecard.accounts import ACCOUNT_SID, Account
from ratecard.errors import NotFoundError, StateError
from ratecard.service.ports import Store
from ratecard.store.database import retrying

_N, _R, _P = 2**14, 8, 1


def hash_token(token: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``token``, self-describing so parameters can change later."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(token.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def token_matches(token: str, stored: str) -> bool:
    """Whether ``token`` is the one ``stored`` (a :func:`hash_token` result) was made from."""
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    again = hashlib.scrypt(
        token.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(again.hex(), digest)


def create_account(
    db: Store,
    name: str,
    parent: str | None = None,
    created: date | None = None,
    created_with_flex: bool = False,
    now: datetime | None = None,
    sid: str | None = None,
) -> tuple[Account, str]:
    """Store a new account; return it with its auth token (shown once, stored hashed).

    ``sid`` is generated unless given (e.g. to mirror an account of a book).
    """
    if not name.strip():
        raise StateError("an account needs a name")
    if sid is not None and not ACCOUNT_SID.match(sid):
        raise StateError(f"sid {sid!r} must be AC followed by 32 lowercase hex digits")
    moment = now or datetime.now(UTC)
    account = Account(
        sid=sid or "AC" + secrets.token_hex(16),
        name=name.strip(),
        created=created or moment.date(),
        created_with_flex=created_with_flex,
        parent=parent,
    )
    token = secrets.token_hex(16)
    token_hash = hash_token(token)

    def work() -> None:
        with db.unit_of_work() as uow:
            if parent is not None:
                owner = uow.accounts.get(parent)
                if owner is None:
                    raise NotFoundError(f"parent account {parent} does not exist")
                if owner.parent is not None:
                    raise StateError(
                        f"parent {parent} is itself a subaccount of {owner.parent}; "
                        "subaccounts cannot have subaccounts"
                    )
            if uow.accounts.get(account.sid) is not None:
                raise StateError(f"account {account.sid} already exists")
            uow.accounts.add(account, token_hash, moment)
            uow.commit()

    retrying(work)
    return account, token


def list_accounts(db: Store) -> list[Account]:
    with db.unit_of_work() as uow:
        return uow.accounts.list()


def rotate_token(db: Store, sid: str) -> str:
    """Give account ``sid`` a new auth token; return it (shown once). The old one stops working."""
    token = secrets.token_hex(16)
    token_hash = hash_token(token)

    def work() -> None:
        with db.unit_of_work() as uow:
            if not uow.accounts.set_token_hash(sid, token_hash):
                raise NotFoundError(f"account {sid} does not exist")
            uow.commit()

    retrying(work)
    return token


def find_account(db: Store, sid: str) -> Account | None:
    """The stored account ``sid``, or None."""
    with db.unit_of_work() as uow:
        return uow.accounts.get(sid)


def subaccounts(db: Store, sid: str) -> list[Account]:
    """The subaccounts of ``sid``, in the order of :func:`list_accounts`."""
    return [account for account in list_accounts(db) if account.parent == sid]


def parents(db: Store, sids: Iterable[str]) -> dict[str, str | None]:
    """Each stored account among ``sids`` with its parent (None for a parent account)."""
    with db.unit_of_work() as uow:
        return uow.accounts.parents(sids)


def stored_token_hash(db: Store, sid: str) -> str | None:
    """The hash of account ``sid``'s auth token (None: no such account), for a caller that
    checks tokens itself (the API caches verified pairs)."""
    with db.unit_of_work() as uow:
        return uow.accounts.token_hash(sid)


def get_account(db: Store, sid: str) -> Account:
    """The stored account ``sid``; NotFoundError when there is none."""
    found = find_account(db, sid)
    if found is None:
        raise NotFoundError(f"account {sid} does not exist")
    return found
