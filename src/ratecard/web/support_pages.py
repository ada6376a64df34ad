"""The support queue: every deflexification request, and the forms that process or reject
one (the service's :func:`~ratecard.service.deflex.process` and
:func:`~ratecard.service.deflex.reject`, as ``/v1/deflex/requests/{id}/process|reject``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ratecard.errors import RatecardError
from ratecard.service import deflex as deflex_service
from ratecard.web.deps import ConsoleRoute, Form, SupportViewer, render

router = APIRouter(prefix="/console/support", include_in_schema=False, route_class=ConsoleRoute)


def _queue(request: Request, who: SupportViewer, error: str | None, status: int) -> HTMLResponse:
    values = {
        "title": "Support queue",
        "requests": deflex_service.list_requests(who.ctx.db),
        "error": error,
    }
    return render(request, "support.html", values, status)


@router.get("")
def queue(request: Request, who: SupportViewer) -> HTMLResponse:
    return _queue(request, who, None, 200)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: int, who: SupportViewer) -> HTMLResponse:
    found = deflex_service.show(who.ctx.db, request_id)
    values = {"title": f"Request {request_id}", "req": found, "error": None}
    return render(request, "request.html", values)


@router.post("/requests/{request_id}/process", response_model=None)
def process(request: Request, request_id: int, fields: Form, who: SupportViewer) -> Response:
    try:
        deflex_service.process(who.ctx.db, request_id, who.name, who.ctx.now())
    except RatecardError as exc:
        return _queue(request, who, f"request {request_id}: {exc}", 409)
    return RedirectResponse("/console/support", status_code=303)


@router.post("/requests/{request_id}/reject", response_model=None)
def reject(request: Request, request_id: int, fields: Form, who: SupportViewer) -> Response:
    reason = fields.get("reason", "").strip()
    if not reason:
        return _queue(request, who, f"request {request_id}: reason: say why it is rejected", 400)
    if len(reason) > 2000:
        return _queue(request, who, f"request {request_id}: reason: at most 2000 characters", 400)
    try:
        deflex_service.reject(who.ctx.db, request_id, who.name, who.ctx.now(), reason)
    except RatecardError as exc:
        return _queue(request, who, f"request {request_id}: {exc}", 409)
    return RedirectResponse("/console/support", status_code=303)
