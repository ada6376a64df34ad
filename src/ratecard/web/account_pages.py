"""Account pages: the overview (spend, pools, daily usage) and invoices (list, view, CSV, PDF).

Figures come from the services the API uses: the overview's spend is the month's draft
invoice (generated as ``POST /v1/accounts/{sid}/invoices`` would, so the page and the API
agree), its daily usage the Usage Records service; amounts are shown as the documents hold
them (decimal strings), never through a float.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ratecard.api.deps import Context
from ratecard.billing.serialize import invoices_to_csv
from ratecard.errors import NotFoundError
from ratecard.periods import Month
from ratecard.service import invoices as invoice_service
from ratecard.service.usage_records import Query, money_text, usage_records
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.web.chart import bar_chart
from ratecard.web.deps import AccountViewer, ConsoleRoute, render
from ratecard.web.overview import FORECAST_RULE, daily_series, pool_progress
from ratecard.web.pdf import invoice_pdf

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def _draft(ctx: Context, sid: str, month: Month) -> dict[str, Any]:
    """This month's draft invoice of billing account ``sid``, brought up to date."""
    invoice_service.generate(ctx.db, month, ctx.settings, sid, ctx.now())
    (doc,) = invoice_service.show(ctx.db, month, sid)
    return doc


def _parent_of(ctx: Context, sid: str) -> str | None:
    with UnitOfWork(ctx.db) as uow:
        account = uow.accounts.get(sid)
    return account.parent if account else None


@router.get("/overview")
def overview(request: Request, who: AccountViewer) -> HTMLResponse:
    ctx = who.ctx
    today = ctx.today()
    month = Month.of(today)
    first = month.start.date()
    parent = _parent_of(ctx, who.name)
    records = usage_records(ctx.db, ctx.catalog, Query(who.name, first, today, "daily"), today)
    series = daily_series(records, first, today)
    values: dict[str, Any] = {
        "title": "Overview",
        "month": str(month),
        "today": today.isoformat(),
        "parent": parent,
        "series": series,
        "charts": [bar_chart(s, f"chart-{i}") for i, s in enumerate(series)],
        "days": [first.replace(day=d + 1).isoformat() for d in range((today - first).days + 1)],
        "forecast_rule": FORECAST_RULE,
    }
    if parent is None:
        doc = _draft(ctx, who.name, month)
        values["spend"] = doc["total"]
        values["currency"] = doc["currency"]
        values["status"] = doc["status"]
        values["pools"] = pool_progress(ctx.catalog.at(today).pools, doc["lines"], today)
    else:
        # a subaccount has no invoice of its own: the price of its usage this month as the
        # Usage Records API gives it for ThisMonth (the whole month: each category rounded
        # as the parent invoice's lines are)
        last = (month.end - timedelta(days=1)).date()
        (total,) = usage_records(
            ctx.db, ctx.catalog, Query(who.name, first, last, "range", "totalprice"), today
        )
        values["spend"] = money_text(total.price)
        values["currency"] = ctx.catalog.currency
        values["status"] = None
        values["pools"] = []
    return render(request, "overview.html", values)


def _billing_sid(ctx: Context, sid: str) -> str:
    """Invoices belong to billing accounts: a subaccount sees none of its own."""
    if _parent_of(ctx, sid) is not None:
        raise NotFoundError(
            f"account {sid} is a subaccount: its usage is invoiced to its parent account"
        )
    return sid


@router.get("/invoices")
def invoice_list(request: Request, who: AccountViewer) -> HTMLResponse:
    ctx = who.ctx
    parent = _parent_of(ctx, who.name)
    found = [] if parent else invoice_service.list_invoices(ctx.db, who.name)
    values = {"title": "Invoices", "invoices": found, "parent": parent}
    return render(request, "invoices.html", values)


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise NotFoundError(f"no invoice for {text!r}: a month is YYYY-MM") from None


def _invoice(who: AccountViewer, month: str) -> dict[str, Any]:
    sid = _billing_sid(who.ctx, who.name)
    (doc,) = invoice_service.show(who.ctx.db, _month(month), sid)
    return doc


@router.get("/invoices/{month}")
def invoice_view(request: Request, month: str, who: AccountViewer) -> HTMLResponse:
    doc = _invoice(who, month)
    return render(request, "invoice.html", {"title": f"Invoice {doc['month']}", "doc": doc})


@router.get("/invoices/{month}/csv")
def invoice_csv(month: str, who: AccountViewer) -> Response:
    doc = _invoice(who, month)
    name = f"invoice-{doc['account']}-{doc['month']}.csv"
    return Response(
        invoices_to_csv([doc]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/invoices/{month}/pdf")
def invoice_pdf_download(month: str, who: AccountViewer) -> Response:
    doc = _invoice(who, month)
    name = f"invoice-{doc['account']}-{doc['month']}.pdf"
    return Response(
        invoice_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
