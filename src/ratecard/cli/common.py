"""What every command shares: consoles, output formats, errors, month parsing, JSON output."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from ratecard.billing.periods import Month

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
