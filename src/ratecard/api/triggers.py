"""The vendor-compatible Usage Triggers (``/2010-04-01/Accounts/{sid}/Usage/Triggers``), the
delivery log and signing key under ``/v1``, and the webhook delivery worker of the server.

Create and update take form-encoded bodies like the vendor (``CallbackUrl``, ``TriggerValue``,
``UsageCategory``, ``CallbackMethod``, ``FriendlyName``, ``Recurring``, ``TriggerBy``); the
list is paged like the Usage Records (``usage_triggers`` plus the paging keys). Every value is
a string; ``current_value`` is the Usage Record of the trigger's current period, now.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from ratecard.api.deps import AccountCaller, Context, Ctx, reachable
from ratecard.api.errors import bad_query
from ratecard.api.paging import envelope
from ratecard.api.usage_records import _page
from ratecard.service import triggers as service
from ratecard.service.triggers import Trigger, TriggerParamError, Values
from ratecard.service.webhooks import Worker, deliveries

API_VERSION = "2010-04-01"
WORKER_INTERVAL = "RATECARD_WEBHOOK_INTERVAL"
#: every error these routes answer, in the one error shape (documented for OpenAPI clients)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text}
    for status, text in (
        (400, "A parameter the vendor's API refuses (error.field names it)"),
        (401, "Authentication required or invalid"),
        (403, "Support users cannot act as an account"),
        (404, "No such account or trigger (or not the caller's)"),
        (413, "The request body is too large"),
        (422, "The request is not valid"),
        (429, "Too many failed authentication attempts"),
    )
}


router = APIRouter(
    prefix="/2010-04-01/Accounts/{AccountSid}/Usage", tags=["usage triggers"], responses=ERRORS
)
v1 = APIRouter(prefix="/v1/accounts/{sid}", tags=["usage triggers"], responses=ERRORS)


def _uri(account: str, sid: str | None = None) -> str:
    base = f"/{API_VERSION}/Accounts/{account}/Usage/Triggers"
    return f"{base}/{sid}.json" if sid else f"{base}.json"


def _date(moment: Any) -> str | None:
    return None if moment is None else service.rfc2822(moment)


def _resource(trigger: Trigger, values: Values, created: Any) -> dict[str, Any]:
    period, value = values.value(trigger, created)
    return {
        "account_sid": trigger.account,
        "api_version": API_VERSION,
        "callback_method": trigger.callback_method,
        "callback_url": trigger.callback_url,
        "current_value": service.value_text(trigger.trigger_by, value),
        "date_created": _date(trigger.date_created),
        "date_fired": _date(trigger.date_fired),
        "date_updated": _date(trigger.date_updated),
        "friendly_name": trigger.friendly_name,
        "recurring": trigger.recurring or None,
        "sid": trigger.sid,
        "trigger_by": trigger.trigger_by,
        "trigger_value": service.value_text(trigger.trigger_by, trigger.trigger_value),
        "uri": _uri(trigger.account, trigger.sid),
        "usage_category": trigger.usage_category,
        "usage_record_uri": service.usage_record_uri(trigger, period),
    }


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


def _refused(error: TriggerParamError) -> Exception:
    return bad_query(str(error), error.field)


@router.post("/Triggers.json", status_code=201, summary="Create a usage trigger")
async def create(
    AccountSid: str,  # noqa: N803  # the vendor's path parameter name
    request: Request,
    ctx: Ctx,
    who: AccountCaller,
) -> dict[str, Any]:
    form = await _form(request)
    return await run_in_threadpool(_create, ctx, who, AccountSid, form)


def _create(ctx: Context, who: Any, sid: str, form: dict[str, str]) -> dict[str, Any]:
    account = reachable(ctx, who, sid)
    for name in ("CallbackUrl", "TriggerValue", "UsageCategory"):
        if not form.get(name):
            raise bad_query(f"{name} is required", name)
    now = ctx.now()
    try:
        trigger = service.create_trigger(
            ctx.db,
            ctx.catalog,
            sid,
            now,
            callback_url=form["CallbackUrl"],
            trigger_value=form["TriggerValue"],
            usage_category=form["UsageCategory"],
            callback_method=form.get("CallbackMethod"),
            friendly_name=form.get("FriendlyName"),
            recurring=form.get("Recurring"),
            trigger_by=form.get("TriggerBy"),
        )
    except TriggerParamError as error:
        raise _refused(error) from None
    return _resource(trigger, Values(ctx.db, ctx.catalog, now), account.created)


@router.get(
    "/Triggers.json",
    summary="List usage triggers (paged like the Usage Records)",
)
def listing(
    AccountSid: str,  # noqa: N803
    request: Request,
    ctx: Ctx,
    who: AccountCaller,
) -> dict[str, Any]:
    account = reachable(ctx, who, AccountSid)
    params = dict(request.query_params)
    page, size = _page(params)
    filters: list[tuple[str, str]] = []
    try:
        recurring = None
        if "Recurring" in params:
            recurring = service.check_choice(
                params["Recurring"], service.RECURRING, "Recurring", ""
            )
            filters.append(("Recurring", params["Recurring"]))
        by = None
        if "TriggerBy" in params:
            by = service.check_choice(params["TriggerBy"], service.TRIGGER_BY, "TriggerBy", "")
            filters.append(("TriggerBy", params["TriggerBy"]))
    except TriggerParamError as error:
        raise _refused(error) from None
    category = params.get("UsageCategory")
    if category is not None:
        filters.append(("UsageCategory", category))
    found = service.list_triggers(ctx.db, AccountSid, None, by, category)
    if recurring is not None:  # the vendor: empty or alltime both mean non-recurring
        wanted = {"", "alltime"} if recurring in ("", "alltime") else {recurring}
        found = [t for t in found if t.recurring in wanted]
    chosen = found[page * size : (page + 1) * size]
    values = Values(ctx.db, ctx.catalog, ctx.now())

    shaped = [_resource(t, values, account.created) for t in chosen]
    return envelope("usage_triggers", shaped, _uri(AccountSid), filters, page, size, len(found))


@router.get("/Triggers/{Sid}.json", summary="Fetch a usage trigger")
def fetch(
    AccountSid: str,  # noqa: N803
    Sid: str,  # noqa: N803
    ctx: Ctx,
    who: AccountCaller,
) -> dict[str, Any]:
    account = reachable(ctx, who, AccountSid)
    trigger = service.get_trigger(ctx.db, AccountSid, Sid)
    return _resource(trigger, Values(ctx.db, ctx.catalog, ctx.now()), account.created)


@router.post("/Triggers/{Sid}.json", summary="Update a usage trigger")
async def update(
    AccountSid: str,  # noqa: N803
    Sid: str,  # noqa: N803
    request: Request,
    ctx: Ctx,
    who: AccountCaller,
) -> dict[str, Any]:
    form = await _form(request)
    return await run_in_threadpool(_update, ctx, who, AccountSid, Sid, form)


def _update(ctx: Context, who: Any, sid: str, trigger_sid: str, form: dict[str, str]) -> Any:
    account = reachable(ctx, who, sid)
    now = ctx.now()
    try:
        trigger = service.update_trigger(
            ctx.db,
            sid,
            trigger_sid,
            now,
            callback_url=form.get("CallbackUrl"),
            callback_method=form.get("CallbackMethod"),
            friendly_name=form.get("FriendlyName"),
        )
    except TriggerParamError as error:
        raise _refused(error) from None
    return _resource(trigger, Values(ctx.db, ctx.catalog, now), account.created)


@router.delete("/Triggers/{Sid}.json", status_code=204, summary="Delete a usage trigger")
def remove(
    AccountSid: str,  # noqa: N803
    Sid: str,  # noqa: N803
    ctx: Ctx,
    who: AccountCaller,
) -> Response:
    reachable(ctx, who, AccountSid)
    service.delete_trigger(ctx.db, AccountSid, Sid)
    return Response(status_code=204)


@v1.get("/triggers/{trigger}/deliveries", summary="A trigger's webhooks and their attempts")
def trigger_deliveries(sid: str, trigger: str, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:
    reachable(ctx, who, sid)
    return {"trigger": trigger, "deliveries": deliveries(ctx.db, sid, trigger)}


@v1.get("/webhook-signing-key", summary="The key trigger webhooks are signed with")
def get_key(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, str]:
    reachable(ctx, who, sid)
    return {"account": sid, "signing_key": service.signing_key(ctx.db, sid, ctx.now())}


@v1.post("/webhook-signing-key/rotate", summary="Issue a new webhook signing key")
def rotate_key(sid: str, ctx: Ctx, who: AccountCaller) -> dict[str, str]:
    reachable(ctx, who, sid)
    key = service.signing_key(ctx.db, sid, ctx.now(), rotate=True)
    return {"account": sid, "signing_key": key}


def install(app: FastAPI) -> None:
    """Mount the routes and run the delivery worker with the server (every
    ``RATECARD_WEBHOOK_INTERVAL`` seconds, default 1; 0 runs none)."""
    app.include_router(router)
    app.include_router(v1)
    interval = float(os.environ.get(WORKER_INTERVAL) or "1")
    if interval <= 0:
        return
    ctx: Context = app.state.ratecard
    worker = Worker(ctx.db, ctx.now, interval)
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        worker.start()
        try:
            async with previous(served) as state:
                yield state
        finally:
            worker.stop()

    app.router.lifespan_context = lifespan
