"""Invoices of a billing account: generate a draft, list, get (JSON or CSV), finalize, void.

``/v1/accounts/{sid}/invoices[/{month}[/finalize|/void]]``. Invoices belong to billing
accounts (parents): a subaccount's usage is on its parent's invoice, in its breakdown.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from ratecard.api.deps import AccountCaller, Ctx, reachable
from ratecard.api.errors import invalid, responses
from ratecard.billing.serialize import invoices_to_csv
from ratecard.periods import Month
from ratecard.service import invoices as invoice_service

router = APIRouter(
    prefix="/v1/accounts/{sid}/invoices", tags=["invoices"], responses=responses(400, 409)
)


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str


def _month(text: str, field: str = "month") -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise invalid(str(exc), field) from None


@router.post("", summary="Generate (or regenerate) the draft invoice of a month")
def generate(sid: str, payload: GenerateRequest, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    month = _month(payload.month)
    (result,) = invoice_service.generate(ctx.db, month, ctx.settings, sid, ctx.now())
    (doc,) = invoice_service.show(ctx.db, month, sid)
    return {"action": result.action, "invoice": doc}


@router.get("", summary="The account's invoices, newest month first")
def list_invoices(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return {"invoices": invoice_service.list_invoices(ctx.db, sid)}


@router.get(
    "/{month}",
    summary="One month's invoice (JSON, or CSV with format=csv or Accept: text/csv)",
    response_model=None,
)
def get_invoice(
    sid: str,
    month: str,
    request: Request,
    ctx: Ctx,
    who: AccountCaller,
    format: Literal["json", "csv"] | None = None,
) -> dict[str, Any] | Response:
    reachable(ctx, who, sid)
    (doc,) = invoice_service.show(ctx.db, _month(month), sid)
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return Response(invoices_to_csv([doc]), media_type="text/csv; charset=utf-8")
    return doc


@router.post("/{month}/finalize", summary="Finalize the draft: it never changes again")
def finalize(sid: str, month: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    period = _month(month)
    invoice_service.finalize(ctx.db, period, sid, ctx.now(), ctx.settings.late_policy)
    (doc,) = invoice_service.show(ctx.db, period, sid)
    return doc


@router.post("/{month}/void", summary="Void the month's invoice (kept, marked void)")
def void(sid: str, month: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    period = _month(month)
    previous = invoice_service.void(ctx.db, period, sid, ctx.now())
    return {"account": sid, "month": str(period), "status": "void", "previous_status": previous}
