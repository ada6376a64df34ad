"""The ``ratecard`` command line (Typer). Errors print to stderr and exit non-zero."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ratecard.billing.serialize import invoice_to_dict
from ratecard.book import load_book
from ratecard.catalog import load_catalog
from ratecard.cli.book_commands import book_app
from ratecard.cli.common import Format, emit_json, fail, out, parse_month
from ratecard.cli.deflex_commands import register as register_deflex_commands
from ratecard.cli.flex_commands import flex_app
from ratecard.cli.price_command import price_command
from ratecard.cli.render import print_invoices
from ratecard.cli.scale_commands import register as register_scale_commands
from ratecard.cli.serve import serve
from ratecard.cli.store_commands import register as register_store_commands
from ratecard.cli.trigger_commands import triggers_app
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
app.add_typer(flex_app, name="flex")
app.add_typer(book_app, name="book")
app.add_typer(triggers_app, name="triggers")
register_store_commands(app)  # db, accounts, import, invoices
register_deflex_commands(app)  # resources, deflex, support
register_scale_commands(app)  # export, rate
app.command("serve")(serve)
app.command("price")(price_command)


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
