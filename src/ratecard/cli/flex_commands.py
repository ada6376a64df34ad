"""``ratecard flex ...``: Flex plan status, changes and the plan advisor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ratecard.book import load_book
from ratecard.cli.common import Format, emit_json, fail, out, parse_month
from ratecard.errors import RatecardError
from ratecard.flex.advisor import Option, compare

flex_app = typer.Typer(
    help="Flex contact-center plans: status, enable, switch, compare.", no_args_is_help=True
)


def option_to_dict(option: Option) -> dict[str, Any]:
    """An advisor option as JSON-ready data (money as decimal strings)."""
    return {
        "plan": option.plan,
        "name": option.name,
        "total": str(option.total),
        "flex_fee": str(option.flex_fee),
        "difference": str(option.difference),
        "current": option.current,
        "allowed": option.allowed,
        "irreversible": option.irreversible,
        "refusals": [{"rule": r.rule, "explanation": r.explanation} for r in option.refusals],
        "note": option.note,
    }


def print_options(options: list[Option], title: str) -> None:
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
        why = "; ".join(r.explanation for r in option.refusals) or option.note
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


@flex_app.command("compare")
def flex_compare(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    month: Annotated[str, typer.Option(help="The month of usage to price, YYYY-MM.")],
    book: Annotated[Path, typer.Option(help="Price the account of this book.")],
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Price one month under every Flex plan and under standard billing (the plan advisor)."""
    period = parse_month(month)
    try:
        loaded = load_book(book)
        loaded.account(account)
        options = compare(
            loaded.catalog, loaded.accounts, loaded.events, loaded.flex, account, period
        )
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(
            {
                "account": account,
                "month": str(period),
                "options": [option_to_dict(o) for o in options],
            }
        )
    else:
        print_options(options, f"Plan advisor {period}  {account}")
