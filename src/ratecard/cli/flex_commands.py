"""``ratecard flex ...``: Flex plan status, changes and the plan advisor."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from ratecard.billing.advisor import Option, compare, option_from_json, option_json
from ratecard.book import load_book
from ratecard.cli.common import (
    Format,
    emit_json,
    fail,
    open_store,
    out,
    parse_day,
    parse_month,
    parse_time,
)
from ratecard.errors import PlanChangeRefusedError, RatecardError
from ratecard.periods import Month
from ratecard.service import flex as flex_service

flex_app = typer.Typer(
    help="Flex contact-center plans: status, enable, switch, compare.", no_args_is_help=True
)
workers_app = typer.Typer(help="TaskRouter workers (User + Usage seats).", no_args_is_help=True)
flex_app.add_typer(workers_app, name="workers")


_SAID_ABOVE = "No plan is possible for this account (see above)."


def _why(refusals: list[tuple[str, str]], said_above: AbstractSet[str]) -> str:
    """Refusals as one cell; those already printed above the table (no plan possible) are
    referred to, not repeated in every row."""
    texts = [_SAID_ABOVE if rule in said_above else text for rule, text in refusals]
    # each refusal is a sentence of its own: joined by a space, not "Hours.; A plan ..."
    return " ".join(dict.fromkeys(texts))


def _said_above(data: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in data.get("no_plan_refusals", ())}


def print_options(
    options: list[Option], title: str, said_above: AbstractSet[str] = frozenset()
) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("option")
    table.add_column("plan fee", justify="right")
    table.add_column("invoice total", justify="right")
    table.add_column("vs current", justify="right")
    table.add_column("allowed")
    table.add_column("why / note", max_width=70)
    for option in options:
        name = option.name + (" (current)" if option.current else "")
        diff = "" if option.current else _signed(option.difference)
        why = _why([(r.rule, r.explanation) for r in option.refusals], said_above)
        # a refused row can carry a note too (a whole-month row of a mixed month): show both
        why = f"{why} {option.note}".strip()
        if option.irreversible and option.allowed:
            why = ("IRREVERSIBLE: an instance on User + Usage can never go back. " + why).strip()
        table.add_row(
            name,
            f"{option.flex_fee:,}",
            f"{option.total:,}",
            diff,
            "yes" if option.allowed else "no",
            why,
        )
    out.print(table)


def _signed(value: Decimal) -> str:
    return f"+{value:,}" if value > 0 else f"{value:,}"


def _refused(exc: RatecardError) -> NoReturn:
    if isinstance(exc, PlanChangeRefusedError):
        reasons = "\n".join(f"  - {r.explanation} (rule {r.rule})" for r in exc.refusals)
        fail(f"plan change refused:\n{reasons}")
    fail(str(exc))


def print_no_plan(data: dict[str, Any]) -> None:
    """Say once, before the plan-by-plan table, that no plan is possible and why."""
    for refusal in data.get("no_plan_refusals", ()):
        out.print(f"{refusal['explanation']} (rule {refusal['rule']})", highlight=False)


def print_status(data: dict[str, Any]) -> None:
    out.print(f"account {data['account']}: plan {data['plan'] or 'none (standard billing)'}")
    print_no_plan(data)
    for period in data["history"]:
        out.print(f"  from {period['effective']}: {period['plan'] or 'Flex removed'}")
    table = Table(title="plans this account can move to", title_justify="left")
    table.add_column("plan")
    table.add_column("allowed")
    table.add_column("effective")
    table.add_column("why not", max_width=80)
    for plan, option in data["options"].items():
        refusals = [(r["rule"], r["explanation"]) for r in option["refusals"]]
        why = _why(refusals, _said_above(data))
        table.add_row(plan, "yes" if option["allowed"] else "no", option["effective"], why)
    out.print(table)


def _change(action: str, account: str, plan: str, effective: str | None, format: Format) -> None:
    db, settings = open_store()
    day = None if effective is None else parse_day(effective, "--effective")
    try:
        data = flex_service.change_plan(
            db, account, action, plan, day, datetime.now(UTC).date(), settings=settings
        )
    except RatecardError as exc:
        _refused(exc)
    if format is Format.json:
        emit_json(data)
    else:
        print_status(data)


PlanOption = Annotated[str, typer.Option(help="named-user, active-user-hours or user-usage.")]
EffectiveOption = Annotated[
    str | None, typer.Option(help="YYYY-MM-DD the change takes effect (see 'status').")
]


@flex_app.command("enable")
def flex_enable(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    plan: PlanOption,
    effective: EffectiveOption = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Enable Flex on an account on a plan (default: from today)."""
    _change("enable", account, plan, effective, format)


@flex_app.command("switch")
def flex_switch(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    plan: PlanOption,
    effective: EffectiveOption = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Switch plan (self-service; default: from the 1st of next month). A switch to User +
    Usage can never be undone."""
    _change("switch", account, plan, effective, format)


@flex_app.command("status")
def flex_status(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """The plan in force, the plan history and the plans the rules allow next."""
    db, settings = open_store()
    try:
        data = flex_service.status(db, account, datetime.now(UTC).date(), settings=settings)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(data)
    else:
        print_status(data)


@workers_app.command("delete")
def workers_delete(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    worker: Annotated[list[str], typer.Option(help="A worker sid (repeat for several).")],
    at: Annotated[str | None, typer.Option(help="When they were deleted (default: now).")] = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Delete TaskRouter workers: their User + Usage seat charge stops from the next month."""
    db, settings = open_store()
    moment = datetime.now(UTC) if at is None else parse_time(at, "--at")
    try:
        outcome = flex_service.delete_workers(db, account, worker, moment, settings=settings)
    except RatecardError as exc:
        fail(str(exc))
    data = {"deleted": worker, "stored": outcome.stored, "duplicates": outcome.duplicates}
    if format is Format.json:
        emit_json(data)
    else:
        out.print(
            f"deleted {len(worker)} worker(s) of {account}: no seat charge for them from "
            f"{Month.of(moment).next()} on",
            highlight=False,
        )


@flex_app.command("compare")
def flex_compare(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    month: Annotated[str, typer.Option(help="The month of usage to price, YYYY-MM.")],
    book: Annotated[
        Path | None, typer.Option(help="Price the account of this book (default: the store).")
    ] = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Price one month under every Flex plan and under standard billing (the plan advisor)."""
    period = parse_month(month)
    if book is None:
        db, settings = open_store()
        try:
            data = flex_service.compare(
                db, account, period, datetime.now(UTC).date(), settings=settings
            )
        except RatecardError as exc:
            fail(str(exc))
        if format is Format.json:
            emit_json(data)
        else:
            print_no_plan(data)
            print_options(
                [option_from_json(o) for o in data["options"]],
                f"Plan advisor {period}  {account}",
                _said_above(data),
            )
        return
    try:
        loaded = load_book(book)
        declared = loaded.account(account)
        options = compare(
            loaded.catalog, loaded.accounts, loaded.events, loaded.flex, account, period
        )
    except RatecardError as exc:
        fail(str(exc))
    assert loaded.catalog.flex is not None  # compare refuses a catalog without Flex
    data = {
        "account": account,
        "month": str(period),
        "options": [option_json(o) for o in options],
        **flex_service.no_plan_json(loaded.catalog.flex, declared),
    }
    if format is Format.json:
        emit_json(data)
    else:
        print_no_plan(data)
        print_options(options, f"Plan advisor {period}  {account}", _said_above(data))
