"""What every command shares: consoles, output formats, errors, month parsing, JSON output."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ratecard.errors import RatecardError
from ratecard.periods import Month
from ratecard.service.settings import Settings
from ratecard.store.database import Database

# Wide enough for invoice tables when stdout is a pipe or a file (Rich would assume 80).
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line for scripts


class Format(StrEnum):
    table = "table"
    json = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (non-zero)."""
    # the message is data (it may quote event ids or file text), never Rich markup
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(code)


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None


def emit_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def open_store(require_schema: bool = True) -> tuple[Database, Settings]:
    """The configured store and settings; exit with the reason when they cannot be used."""
    try:
        settings = Settings.from_env()
        db = Database(settings.database_url)
        if require_schema:
            db.require_current()
    except RatecardError as exc:
        fail(str(exc))
    return db, settings


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time with an offset (or a date, taken as midnight UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-07-16T00:00:00Z)", param_hint=option
        ) from None
    if moment.tzinfo is None:
        if "T" in text:
            raise typer.BadParameter(f"{text!r} has no UTC offset (add Z)", param_hint=option)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date YYYY-MM-DD: {text!r}", param_hint=option) from None
