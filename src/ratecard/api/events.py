"""Usage ingestion: ``POST /v1/events`` with ``{"events": [...]}`` (SPEC section 7 objects).

The body is parsed with :func:`json.loads` here, not by a model, so a JSON float stays a float
and the event validation refuses it by name (money and quantities are never floats). A batch is
atomic and idempotent: every event is stored, or none and a 422 lists each invalid event by
index, field and reason; a resent event is a duplicate, counted once, never an error.

A body of the common shape (all calls, or all messages, well formed, in UTC) first takes the
fast path (:func:`ratecard.usage.fastpath.decode_batch`: decoded and checked from the bytes, no
model per event); any other body, and any batch naming an account outside the caller's tree,
takes the general path above, so every answer, error or not, is the same either way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from ratecard.api.deps import AccountCaller, Context, Ctx, Principal
from ratecard.api.errors import invalid, responses
from ratecard.catalog import Catalog
from ratecard.errors import EventError, Problem
from ratecard.service import accounts as account_service
from ratecard.service.ingest import Outcome, ingest_new, ingest_valid, validate
from ratecard.usage.events import Event, TimeWindow
from ratecard.usage.fastpath import decode_batch

router = APIRouter(prefix="/v1", tags=["events"], responses=responses(400, 409))

MAX_EVENTS = 10_000


class EventBatch(BaseModel):
    """The body of ``POST /v1/events`` (documentation only: the route parses the bytes itself,
    so a JSON float is refused by name rather than coerced)."""

    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class Ingested(BaseModel):
    stored: int
    duplicates: int


_BATCH = TypeAdapter(EventBatch).json_schema(ref_template="#/components/schemas/{model}")
#: the schemas the request body refers to, for the app's OpenAPI components
SCHEMAS: dict[str, Any] = {**_BATCH.pop("$defs"), "EventBatch": _BATCH}


def _payload(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge integers, deep nesting
        raise invalid(f"the body is not valid JSON: {exc}") from None


def _events(payload: Any) -> list[Any]:
    if not isinstance(payload, dict):
        raise invalid('the body must be a JSON object {"events": [...]}')
    unknown = sorted(set(payload) - {"events"})
    if unknown:
        raise invalid(f"unknown field(s): {', '.join(unknown)}", unknown[0])
    events = payload.get("events")
    if not isinstance(events, list):
        raise invalid('"events" must be a list of event objects', "events")
    if not events:
        raise invalid('"events" is empty: send at least one event', "events")
    if len(events) > MAX_EVENTS:
        raise invalid(f"at most {MAX_EVENTS} events per request, got {len(events)}", "events")
    return events


def _parents(ctx: Context, sids: set[Any]) -> dict[str, str | None]:
    """Each stored account among ``sids``, with its parent (one read per request)."""
    wanted = [s for s in sids if isinstance(s, str) and len(s) <= 34]
    return account_service.parents(ctx.db, wanted)


def _check(
    events: list[Any],
    who: Principal,
    parents: dict[str, str | None],
    window: TimeWindow,
    catalog: Catalog,
) -> list[tuple[str, Event]]:
    """The batch's events, validated; refuse the batch, naming every bad event, if any is
    invalid or names a foreign account.

    An account outside the caller's tree (the calling account and its subaccounts) is
    reported exactly like one that does not exist.
    """
    items = [(f"events[{i}]", item) for i, item in enumerate(events)]
    valid, problems = validate(items, window, catalog)
    bad = {p.where for p in problems}
    for index, event in enumerate(events):
        sid = event.get("account") if isinstance(event, dict) else None
        if not isinstance(sid, str) or (sid in parents and who.name in (sid, parents[sid])):
            continue
        where = f"events[{index}]"
        if where not in bad:
            reason = (
                f"account {sid} does not exist (events must name the calling account or one "
                "of its subaccounts)"
            )
            problems.append(Problem(where, reason, "account"))
    if problems:
        problems.sort(key=lambda p: int(p.where[7:-1]))
        raise EventError(problems)
    return valid


def _ingest(ctx: Context, who: Principal, raw: bytes) -> dict[str, int]:
    now = ctx.now()
    window = ctx.settings.time_window(now, ctx.catalog)
    fast = decode_batch(raw, window, ctx.catalog)
    if fast is not None and len(fast) <= MAX_EVENTS:
        sids = {e.account for e in fast}
        parents = _parents(ctx, sids)
        if all(sid in parents and who.name in (sid, parents[sid]) for sid in sids):
            rows = [(f"events[{i}]", e) for i, e in enumerate(fast)]
            return _answer(ingest_new(ctx.db, rows, ctx.settings, now, parents))
    events = _events(_payload(raw))
    parents = _parents(ctx, {e.get("account") for e in events if isinstance(e, dict)})
    valid = _check(events, who, parents, window, ctx.catalog)
    return _answer(ingest_valid(ctx.db, valid, ctx.settings, now, parents))


def _answer(outcome: Outcome) -> dict[str, int]:
    return {"stored": outcome.stored, "duplicates": outcome.duplicates}


@router.post(
    "/events",
    summary="Ingest usage events (atomic, idempotent)",
    response_model=Ingested,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EventBatch"}}
            },
        }
    },
)
async def post_events(request: Request, ctx: Ctx, who: AccountCaller) -> dict[str, int]:
    """Store a batch of events; answer how many were new and how many were duplicates."""
    # the body's size limit is enforced while it streams in (ratecard.api.guard)
    raw = await request.body()
    # decoding and the store are synchronous: run the batch off the event loop
    return await run_in_threadpool(_ingest, ctx, who, raw)
