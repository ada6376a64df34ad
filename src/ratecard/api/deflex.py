"""Deflexification requests (SPEC section 5): checklist, file, acknowledge, withdraw; support
processes or rejects; both sides show.

An account reaches the requests of its own tree; a support user reaches every request but may
not act as an account (file, acknowledge, withdraw). A request of another tenant answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ratecard.api.deps import (
    AccountCaller,
    Caller,
    Context,
    Ctx,
    Principal,
    SupportCaller,
    reachable,
    tree,
)
from ratecard.api.errors import responses
from ratecard.errors import NotFoundError
from ratecard.service import deflex as deflex_service

account_router = APIRouter(
    prefix="/v1/accounts/{sid}/deflex", tags=["deflexification"], responses=responses(400, 409)
)
router = APIRouter(
    prefix="/v1/deflex/requests", tags=["deflexification"], responses=responses(400, 409)
)


class NewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: Literal["stop_billing", "decommission"]
    accept_billing_change: StrictBool = False


class Processing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective: datetime | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def _request(ctx: Context, who: Principal, request_id: str) -> int:
    """The request's id if ``who`` may reach it; 404 otherwise (as if it did not exist)."""
    missing = NotFoundError(f"deflexification request {request_id} does not exist")
    # ASCII digits only: str.isdigit() also accepts "¹", which int() refuses (found by
    # schemathesis as a 500)
    if not (request_id.isascii() and request_id.isdigit()) or len(request_id) > 18:
        raise missing
    number = int(request_id)
    account = deflex_service.account_of(ctx.db, number)
    if who.kind == "account" and account not in tree(ctx, who):
        raise missing
    return number


@account_router.get("/checklist", summary="What removing Flex would break, before filing")
def checklist(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return deflex_service.checklist(ctx.db, sid)


@account_router.post("/requests", status_code=201, summary="File a deflexification request")
def file_request(sid: str, body: NewRequest, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return deflex_service.file_request(
        ctx.db,
        sid,
        body.intent,
        who.name,
        body.accept_billing_change,
        ctx.now(),
        settings=ctx.settings,
    )


@router.get("/{request_id}", summary="A request: state, acknowledgment, checklist, audit")
def show(request_id: str, ctx: Ctx, who: Caller) -> dict[str, Any]:
    return deflex_service.show(ctx.db, _request(ctx, who, request_id))


@router.post("/{request_id}/acknowledge", summary="Accept the billing change (submits)")
def acknowledge(request_id: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    number = _request(ctx, who, request_id)
    return deflex_service.acknowledge(ctx.db, number, who.name, ctx.now())


@router.post("/{request_id}/withdraw", summary="Withdraw a draft or submitted request")
def withdraw(request_id: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    number = _request(ctx, who, request_id)
    return deflex_service.withdraw(ctx.db, number, who.name, ctx.now())


@router.post("/{request_id}/process", summary="Support: process (Flex billing stops)")
def process(
    request_id: str, ctx: Ctx, who: SupportCaller, body: Processing | None = None
) -> dict[str, Any]:
    number = _request(ctx, who, request_id)
    effective = body.effective if body else None
    return deflex_service.process(ctx.db, number, who.name, ctx.now(), effective)


@router.post("/{request_id}/reject", summary="Support: reject, saying why")
def reject(request_id: str, body: Rejection, ctx: Ctx, who: SupportCaller) -> dict[str, Any]:
    number = _request(ctx, who, request_id)
    return deflex_service.reject(ctx.db, number, who.name, ctx.now(), body.reason)
