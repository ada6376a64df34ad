"""``ratecard book load BOOK``: a book's accounts, plans, resources and events into the store.

(``ratecard invoice BOOK`` prices a book with no database; this puts one in the store, where
``invoices generate`` and the API see it.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ratecard.book import load_book
from ratecard.cli.common import Format, emit_json, fail, open_store, out
from ratecard.errors import RatecardError
from ratecard.service import books as book_service

book_app = typer.Typer(help="Load books into the store.", no_args_is_help=True)


def say(text: str) -> None:
    # names and paths are data, not markup; one line per item, however long
    out.print(text, highlight=False, markup=False, soft_wrap=True)


@book_app.command("load")
def book_load(
    book: Annotated[Path, typer.Argument(help="The book file (TOML).")],
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """Store a book's accounts, Flex plan history, deflexifications, resources and events
    (one transaction). Safe to re-run: what is stored already is reported, never doubled; a
    stored account, plan history or event that differs from the book refuses the load."""
    db, settings = open_store()
    try:
        report = book_service.load(db, load_book(book), settings)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(report.to_json())
        return
    say(f"{book}: loaded into {db.safe_url}")
    for account in report.accounts:
        token = f", auth token {account.token} (shown once)" if account.token else ""
        say(f"  account {account.sid} ({account.name}): {account.action}{token}")
    for kind, items in (
        ("flex", report.flex),
        ("deflexification", report.deflexifications),
        ("resources", report.resources),
    ):
        for sid, action in items.items():
            say(f"  {kind} {sid}: {action}")
    say(f"  events {report.events}: stored {report.stored}, duplicates {report.duplicates}")
