"""``ratecard price``: price a quantity or a file of events under one price (no database)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from ratecard.cli.common import Format, emit_json, fail, out, parse_day
from ratecard.cli.render import lines_table
from ratecard.errors import Problem, RatecardError
from ratecard.pricing import Quote, price
from ratecard.usage.jsonl import read_jsonl


def price_command(
    quantity: Annotated[
        str | None, typer.Option(help="Units to price, in the category's unit (e.g. minutes).")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(help="JSON lines, one event a line: quantity, amount, id, time (optional)."),
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="The catalog category whose price applies.")
    ] = None,
    catalog: Annotated[str, typer.Option(help="A shipped catalog name or a .toml path.")] = "us",
    country: Annotated[str, typer.Option(help="The usage's country (ISO alpha-2).")] = "US",
    on: Annotated[
        str | None, typer.Option(help="Price by the catalog version of this date (YYYY-MM-DD).")
    ] = None,
    price_file: Annotated[
        Path | None,
        typer.Option(help="A TOML file holding one price entry (instead of --catalog)."),
    ] = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Price a quantity or a list of events under one price and explain each line."""
    if (quantity is None) == (events is None):
        fail("give either --quantity or --events")
    day = parse_day(on, "--on") if on is not None else None
    try:
        quote = price(
            quantity,
            events=None if events is None else _read_events(events),
            category=category,
            using=None if price_file is None else _read_price(price_file),
            catalog=catalog,
            country=None if price_file is not None else country,
            on=day,
        )
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(quote.to_dict())
    else:
        print_quote(quote)


def _read_events(path: Path) -> list[Any]:
    if not path.is_file():
        fail(f"no such events file: {path}")
    events: list[Any] = []
    for _, item in read_jsonl(path):
        if isinstance(item, Problem):
            fail(str(item))
        events.append(item)
    return events


def _read_price(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"no such price file: {path}")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        fail(f"{path}: not valid TOML: {exc}")


def print_quote(quote: Quote) -> None:
    where = f" in {quote.country}" if quote.country else ""
    out.print(
        Text.assemble(
            ("Price ", "bold"),
            (quote.category, "bold cyan"),
            # the lines carry the quantities (a percentage price's are amounts, not units)
            f"{where}  {quote.charge}  {quote.events} event(s)",
        )
    )
    out.print(lines_table(quote.lines, "", f"{quote.total:,}", quote.currency))
    out.print(f"precise total {quote.precise_total} {quote.currency}", highlight=False)
