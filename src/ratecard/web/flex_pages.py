"""Flex pages: the plan in force, the plan advisor, the self-service switch; the
deflexification checklist, request form (with the billing acknowledgment table) and status.

Forms call the same service functions as the API routes (``/v1/accounts/{sid}/flex/...``,
``/v1/accounts/{sid}/deflex/...``); a refusal is shown on the page with every rule's reason.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ratecard.api.deps import Principal, tree
from ratecard.deflex.workflow import BILLING_CHANGE_ROWS
from ratecard.errors import (
    DeflexRefused,
    NotFoundError,
    PlanChangeRefusedError,
    RatecardError,
)
from ratecard.periods import Month
from ratecard.service import deflex as deflex_service
from ratecard.service import flex as flex_service
from ratecard.web.deps import AccountViewer, ConsoleRoute, Form, Viewer, render

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
INTENTS = {
    "stop_billing": "Stop Flex billing (resources stay)",
    "decommission": "Decommission (the Flex workspace is removed too)",
}


def _flex_values(who: Viewer) -> dict[str, Any]:
    ctx = who.ctx
    status = flex_service.status(ctx.db, who.name, ctx.today(), settings=ctx.settings)
    month = Month.of(ctx.today())
    try:
        advice: dict[str, Any] | None = flex_service.compare(
            ctx.db, who.name, month, ctx.today(), settings=ctx.settings
        )
        advice_error = None
    except RatecardError as exc:  # e.g. usage the catalog cannot price
        advice, advice_error = None, str(exc)
    return {
        "title": "Flex",
        "status": status,
        "advice": advice,
        "advice_error": advice_error,
        "month": str(month),
        "refusals": None,
        "chosen": None,
        "notice": None,
    }


@router.get("/flex")
def flex_page(request: Request, who: AccountViewer, changed: str | None = None) -> HTMLResponse:
    values = _flex_values(who)
    plan = values["status"]["plan"]
    if changed:
        values["notice"] = f"Plan change to {changed} accepted. The plan in force today: {plan}."
    return render(request, "flex.html", values)


@router.post("/flex/change", response_model=None)
def change_plan(request: Request, fields: Form, who: AccountViewer) -> Response:
    ctx = who.ctx
    plan = fields.get("plan", "")
    status = flex_service.status(ctx.db, who.name, ctx.today(), settings=ctx.settings)
    option = status["options"].get(plan)
    if option is None:
        values = _flex_values(who)
        values["refusals"] = [{"rule": "plan", "explanation": f"choose a plan, not {plan!r}"}]
        return render(request, "flex.html", values, 400)
    try:
        flex_service.change_plan(
            ctx.db, who.name, option["action"], plan, None, ctx.today(), settings=ctx.settings
        )
    except PlanChangeRefusedError as exc:
        values = _flex_values(who)
        values["chosen"] = plan
        values["refusals"] = [{"rule": r.rule, "explanation": r.explanation} for r in exc.refusals]
        return render(request, "flex.html", values, 400)
    return RedirectResponse(f"/console/flex?changed={plan}", status_code=303)


def _deflex_values(who: Viewer) -> dict[str, Any]:
    ctx = who.ctx
    requests = deflex_service.list_requests(ctx.db, [who.name])
    return {
        "title": "Deflexification",
        "checklist": deflex_service.checklist(ctx.db, who.name)["findings"],
        "billing_change": [row._asdict() for row in BILLING_CHANGE_ROWS],
        "intents": INTENTS,
        "requests": requests,
        "refused": None,
        "error": None,
    }


@router.get("/deflex")
def deflex_page(request: Request, who: AccountViewer) -> HTMLResponse:
    return render(request, "deflex.html", _deflex_values(who))


@router.post("/deflex/requests", response_model=None)
def file_request(request: Request, fields: Form, who: AccountViewer) -> Response:
    ctx = who.ctx
    intent = fields.get("intent", "")
    if intent not in INTENTS:
        values = _deflex_values(who)
        values["error"] = "intent: choose stop_billing or decommission"
        return render(request, "deflex.html", values, 400)
    accepted = fields.get("accept_billing_change") == "yes"
    try:
        result = deflex_service.file_request(
            ctx.db, who.name, intent, who.name, accepted, ctx.now(), settings=ctx.settings
        )
    except DeflexRefused as exc:
        values = _deflex_values(who)
        values["refused"] = exc
        return render(request, "deflex.html", values, 400)
    return RedirectResponse(f"/console/requests/{result['request']}", status_code=303)


def _reachable_request(who: Viewer, request_id: int) -> dict[str, Any]:
    """The request if ``who`` may see it (support: any; an account: its tree's), else 404."""
    found = deflex_service.show(who.ctx.db, request_id)
    if who.kind == "account" and found["account"] not in tree(
        who.ctx, Principal("account", who.name)
    ):
        raise NotFoundError(f"deflexification request {request_id} does not exist")
    return found


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: int, who: AccountViewer) -> HTMLResponse:
    found = _reachable_request(who, request_id)
    values = {"title": f"Request {request_id}", "req": found, "error": None}
    return render(request, "request.html", values)


@router.post("/requests/{request_id}/{step}", response_model=None)
def request_step(
    request: Request, request_id: int, step: str, fields: Form, who: AccountViewer
) -> Response:
    """The account's own steps: acknowledge (accept the billing change) or withdraw."""
    found = _reachable_request(who, request_id)
    steps = {"acknowledge": deflex_service.acknowledge, "withdraw": deflex_service.withdraw}
    if step not in steps:
        raise NotFoundError(f"no step {step!r}: acknowledge or withdraw")
    try:
        steps[step](who.ctx.db, request_id, who.name, who.ctx.now())
    except RatecardError as exc:
        values = {"title": f"Request {request_id}", "req": found, "error": str(exc)}
        return render(request, "request.html", values, 409)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)
