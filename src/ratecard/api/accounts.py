"""Accounts and subaccounts: ``/v1/accounts/{sid}`` and its subaccounts."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from ratecard.accounts import Account
from ratecard.api.deps import AccountCaller, Ctx, reachable
from ratecard.api.errors import responses
from ratecard.errors import NotFoundError
from ratecard.service import accounts as account_service
from ratecard.usage.events import CONTROL_CHARACTER

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=responses())


class NewSubaccount(BaseModel):
    """A subaccount to create under the calling account."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    created: date | None = None
    created_with_flex: StrictBool = False

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        # a blank name would be refused by the service as a state conflict (409), and a control
        # character breaks every listing that prints it: both are a bad payload (422)
        if re.search(CONTROL_CHARACTER, name):
            raise ValueError("must not contain control characters (NUL, tab, line breaks, ...)")
        if not name.strip():
            raise ValueError("must not be blank")
        return name


def account_json(account: Account) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "name": account.name,
        "parent": account.parent,
        "created": account.created.isoformat(),
        "created_with_flex": account.created_with_flex,
    }


def _subaccounts(ctx: Ctx, sid: str) -> list[Account]:
    return account_service.subaccounts(ctx.db, sid)


@router.get("/{sid}", summary="An account, with its subaccounts' sids")
def get_account(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    account = reachable(ctx, who, sid)
    return {**account_json(account), "subaccounts": [a.sid for a in _subaccounts(ctx, sid)]}


@router.get("/{sid}/subaccounts", summary="The subaccounts of an account")
def list_subaccounts(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return {"accounts": [account_json(a) for a in _subaccounts(ctx, sid)]}


@router.post("/{sid}/subaccounts", status_code=201, summary="Create a subaccount")
def create_subaccount(
    sid: str, payload: NewSubaccount, ctx: Ctx, who: AccountCaller
) -> dict[str, Any]:
    """Create a subaccount of ``sid``; its auth token is in this answer only."""
    account = reachable(ctx, who, sid)
    if account.sid != who.name:
        # a subaccount's own credentials may read it, but only its parent creates siblings
        raise NotFoundError(f"account {sid} does not exist")
    created, token = account_service.create_account(
        ctx.db,
        payload.name,
        parent=sid,
        created=payload.created,
        created_with_flex=payload.created_with_flex,
        now=ctx.now(),
    )
    return {"account": account_json(created), "auth_token": token}
