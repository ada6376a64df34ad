"""Flex plans of an account: status, enable, switch, compare (the plan advisor).

``/v1/accounts/{sid}/flex[...]``. Refused changes answer 400 ``plan_change_refused`` naming
every rule that refused them, in a customer's words (SPEC section 3).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ratecard.api.deps import AccountCaller, Context, Ctx, Principal, reachable
from ratecard.api.errors import invalid, responses
from ratecard.periods import Month
from ratecard.service import flex as flex_service

router = APIRouter(prefix="/v1/accounts/{sid}/flex", tags=["flex"], responses=responses(400, 409))


class PlanChange(BaseModel):
    """The plan to move to; ``effective`` defaults as the rules say (SPEC section 3)."""

    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=64)
    effective: date | None = None


def _change(ctx: Context, who: Principal, sid: str, action: str, change: PlanChange) -> Any:
    reachable(ctx, who, sid)
    return flex_service.change_plan(
        ctx.db, sid, action, change.plan, change.effective, ctx.today(), settings=ctx.settings
    )


@router.get("", summary="The plan in force, its history and which plans the rules allow")
def status(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return flex_service.status(ctx.db, sid, ctx.today(), settings=ctx.settings)


@router.post("/enable", summary="Enable Flex on a plan")
def enable(sid: str, change: PlanChange, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    result: dict[str, Any] = _change(ctx, who, sid, "enable", change)
    return result


@router.post("/switch", summary="Switch the Flex plan (from the start of next month)")
def switch(sid: str, change: PlanChange, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    result: dict[str, Any] = _change(ctx, who, sid, "switch", change)
    return result


@router.get("/compare", summary="Price one month under every plan and without Flex")
def compare(sid: str, month: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    try:
        period = Month.parse(month)
    except ValueError as exc:
        raise invalid(str(exc), "month") from None
    return flex_service.compare(ctx.db, sid, period, ctx.today(), settings=ctx.settings)
