"""The ``ratecard`` command line (Typer). Errors print to stderr and exit non-zero."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from ratecard.billing.periods import Month
from ratecard.billing.serialize import invoice_to_dict
from ratecard.book import load_book
from ratecard.catalog import load_catalog
from ratecard.cli.render import print_invoices
from ratecard.cli.store_commands import register as register_store_commands
from ratecard.errors import RatecardError

app = typer.Typer(
    name="ratecard",
    help="Usage billing and rating for communications platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Inspect and validate catalogs.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
register_store_commands(app)  # db, accounts, import, invoices

# Wide enough for invoice tables when stdout is a pipe or a file (Rich would assume 80).
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def emit_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@app.command()
def invoice(
    book: Annotated[Path, typer.Argument(help="The book file (TOML).")],
    month: Annotated[str, typer.Option(help="The month to bill, YYYY-MM.")],
    account: Annotated[
        str | None, typer.Option(help="Only this billing account's invoice.")
    ] = None,
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
    explain: Annotated[bool, typer.Option(help="List each line's event ids (JSON).")] = False,
) -> None:
    """Price a book for one month and print its invoices (no database needed)."""
    period = parse_month(month)
    try:
        loaded = load_book(book)
        invoices = loaded.invoices(period, only=account)
    except RatecardError as exc:
        fail(str(exc))
    if account is not None and not invoices:
        fail(f"account {account} is not a billing account of {book}")
    if format is Format.json:
        emit_json({"invoices": [invoice_to_dict(inv, explain) for inv in invoices]})
    else:
        print_invoices(out, invoices)


@catalog_app.command("check")
def catalog_check(
    catalog: Annotated[
        str, typer.Argument(help="A shipped catalog name (us) or a .toml path.")
    ] = "us",
) -> None:
    """Validate a catalog and list every problem in it."""
    try:
        loaded = load_catalog(catalog)
    except RatecardError as exc:
        fail(str(exc))
    versions = ", ".join(f"{v.label} from {v.effective}" for v in loaded.versions)
    out.print(
        f"catalog {loaded.name} ({loaded.source}): {len(loaded.categories)} categories, "
        f"currency {loaded.currency}, versions: {versions}",
        highlight=False,
    )


def main() -> None:  # pragma: no cover - console entry point
    app()
