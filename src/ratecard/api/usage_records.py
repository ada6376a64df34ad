"""The vendor-compatible Usage Records API (``/2010-04-01/Accounts/{sid}/Usage/Records``).

Shapes follow the vendor's public API description so its official SDKs work as clients: HTTP
200, a paging envelope with exactly ``usage_records`` and the paging keys (the SDK finds the
records as the one key left after removing the paging keys), relative page URIs, and every
number (``count``, ``usage``, ``price``) as a string. Query parameters the endpoint cannot take
answer 400 (``invalid_parameter``), as the vendor does.

Paging is deterministic: the records of a query are computed in a fixed order (period, then
category name) and page ``N`` of size ``S`` is records ``[N*S, (N+1)*S)``. ``PageToken`` is
``PA<N>``; when given it decides the page (the SDK sends it with ``Page`` on every next page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from ratecard.api.deps import AccountCaller, Context, Ctx, reachable
from ratecard.api.errors import bad_query, excerpt, responses
from ratecard.api.paging import envelope
from ratecard.periods import Month
from ratecard.service.usage_records import (
    SUMMARY_CATEGORIES,
    Query,
    Record,
    money_text,
    usage_records,
)

router = APIRouter(
    prefix="/2010-04-01/Accounts/{AccountSid}/Usage",
    tags=["usage records"],
    responses=responses(400),
)

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_DAILY_DAYS = 3660  # ten years of daily records per query
_OFFSET = re.compile(r"^([+-])(\d{1,5})days$")
_TOKEN = re.compile(r"^PA(\d{1,9})$")
#: subresource -> (path suffix, subresource_uris key)
SUBRESOURCES = {
    "AllTime": "all_time",
    "Today": "today",
    "Yesterday": "yesterday",
    "ThisMonth": "this_month",
    "LastMonth": "last_month",
    "Daily": "daily",
    "Monthly": "monthly",
    "Yearly": "yearly",
}
Range = tuple[date, date]


def _date(text: str, field: str, today: date) -> date:
    offset = _OFFSET.match(text.strip())
    try:
        if offset:
            days = int(offset.group(2)) * (1 if offset.group(1) == "+" else -1)
            result = today + timedelta(days=days)
        else:
            result = date.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise bad_query(
            f"{field} must be a date YYYY-MM-DD or an offset such as -30days, got {text!r}",
            field,
        ) from None
    if not offset and len(text.strip()) != 10:
        raise bad_query(f"{field} must be a date YYYY-MM-DD, got {text!r}", field)
    if not 1970 <= result.year <= 9998:
        raise bad_query(f"{field} must be a date YYYY-MM-DD between 1970 and 9998", field)
    return result


def _fixed(sub: str, today: date, created: date) -> Range | None:
    """The range of a fixed-range subresource (None: the query's dates decide)."""
    month = Month.of(today)
    if sub == "Today":
        return today, today
    if sub == "Yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if sub == "ThisMonth":  # the whole calendar month: its usage so far, as its invoice has it
        return month.start.date(), date(month.year, month.month, month.days)
    if sub == "LastMonth":
        last = month.previous()
        return last.start.date(), date(last.year, last.month, last.days)
    if sub == "AllTime":
        return min(created, today), today
    return None


def _range(sub: str | None, params: dict[str, str], today: date, created: date) -> Range:
    fixed = _fixed(sub or "", today, created)
    if fixed is not None:
        return fixed
    end = _date(params["EndDate"], "EndDate", today) if "EndDate" in params else today
    if "StartDate" in params:
        start = _date(params["StartDate"], "StartDate", today)
    elif sub == "Daily":
        start = end - timedelta(days=30)
    else:
        start = min(created, end)
    if start > end:
        raise bad_query(f"StartDate {start} is after EndDate {end}", "StartDate")
    if sub == "Daily" and (end - start).days >= MAX_DAILY_DAYS:
        raise bad_query(f"a Daily listing covers at most {MAX_DAILY_DAYS} days", "StartDate")
    return start, end


def _int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d{1,9}", text.strip()):
        raise bad_query(f"{name} must be a whole number, got {text!r}", name)
    value = int(text)
    if not low <= value <= high:
        raise bad_query(f"{name} must be between {low} and {high}, got {value}", name)
    return value


def _page(params: dict[str, str]) -> tuple[int, int]:
    size = _int(params, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int(params, "Page", 0, 0, 10**9)
    token = params.get("PageToken")
    if token is not None:
        match = _TOKEN.match(token.strip())
        if match is None:
            raise bad_query(f"PageToken {token!r} is not a token this API handed out", "PageToken")
        page = int(match.group(1))
    return page, size


def _include(params: dict[str, str]) -> bool:
    text = params.get("IncludeSubaccounts", "true").strip().lower()
    if text not in ("true", "false"):
        raise bad_query(
            f"IncludeSubaccounts must be true or false, got {text!r}", "IncludeSubaccounts"
        )
    return text == "true"


def _category(ctx: Context, params: dict[str, str]) -> str | None:
    category = params.get("Category")
    if category is None:
        return None
    if category not in ctx.catalog.categories and category not in SUMMARY_CATEGORIES:
        raise bad_query(f"unknown usage category {excerpt(category)!r}", "Category")
    return category


def _base(sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{sid}/Usage/Records"


def _record(record: Record, sid: str, as_of: str) -> dict[str, Any]:
    category = urlencode({"Category": record.category})
    subresources = {
        key: f"{_base(sid)}/{name}.json?{category}" for name, key in SUBRESOURCES.items()
    }
    dates = urlencode({"StartDate": record.start.isoformat(), "EndDate": record.end.isoformat()})
    return {
        "account_sid": record.account,
        "api_version": API_VERSION,
        "as_of": as_of,
        "category": record.category,
        "count": None if record.count is None else str(record.count),
        "count_unit": record.count_unit,
        "description": record.description,
        "end_date": record.end.isoformat(),
        "price": money_text(record.price),
        "price_unit": record.price_unit,
        "start_date": record.start.isoformat(),
        "subresource_uris": subresources,
        "uri": f"{_base(sid)}.json?{category}&{dates}",
        "usage": f"{record.usage:f}",
        "usage_unit": record.usage_unit,
    }


def _listing(request: Request, ctx: Context, who: Any, sid: str, sub: str | None) -> dict[str, Any]:
    account = reachable(ctx, who, sid)
    params = dict(request.query_params)
    today = ctx.today()
    start, end = _range(sub, params, today, account.created)
    page, size = _page(params)
    granularity = {"Daily": "daily", "Monthly": "monthly", "Yearly": "yearly"}.get(
        sub or "", "range"
    )
    query = Query(sid, start, end, granularity, _category(ctx, params), _include(params))
    records = usage_records(ctx.db, ctx.catalog, query, today)
    as_of = ctx.now().replace(microsecond=0).isoformat()
    chosen = records[page * size : (page + 1) * size]
    path = f"{_base(sid)}/{sub}.json" if sub else f"{_base(sid)}.json"
    common: list[tuple[str, str]] = []
    if query.category:
        common.append(("Category", query.category))
    if _fixed(sub or "", today, account.created) is None:  # fixed ranges carry no dates
        common += [("StartDate", start.isoformat()), ("EndDate", end.isoformat())]
    if "IncludeSubaccounts" in params:
        common.append(("IncludeSubaccounts", "true" if query.include_subaccounts else "false"))

    shaped = [_record(r, sid, as_of) for r in chosen]
    return envelope("usage_records", shaped, path, common, page, size, len(records))


@router.get("/Records.json", summary="Usage records over any range (one per category)")
def records(AccountSid: str, request: Request, ctx: Ctx, who: AccountCaller) -> dict[str, Any]:  # noqa: N803
    return _listing(request, ctx, who, AccountSid, None)


def _subresource(sub: str) -> Callable[..., dict[str, Any]]:
    def handler(
        AccountSid: str,  # noqa: N803  # the vendor's path parameter name
        request: Request,
        ctx: Ctx,
        who: AccountCaller,
    ) -> dict[str, Any]:
        return _listing(request, ctx, who, AccountSid, sub)

    handler.__name__ = f"records_{SUBRESOURCES[sub]}"
    return handler


for _sub in SUBRESOURCES:
    router.add_api_route(
        f"/Records/{_sub}.json",
        _subresource(_sub),
        methods=["GET"],
        summary=f"Usage records: {_sub}",
    )
