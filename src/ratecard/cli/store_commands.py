"""Commands of the system of record: ``db``, ``accounts``, ``import`` and ``invoices``.

Registered on the main app by :func:`register`. Errors print to stderr and exit non-zero.
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from ratecard.billing.serialize import invoices_to_csv
from ratecard.cli.common import Format, emit_json, err, fail, open_store, out, parse_month
from ratecard.errors import RatecardError
from ratecard.service import accounts as account_service
from ratecard.service import close as close_service
from ratecard.service import invoices as invoice_service
from ratecard.service.close import Closed
from ratecard.service.importer import file_format, import_file

db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Create and list accounts; rotate tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Manage accounts' auth tokens.", no_args_is_help=True)
accounts_app.add_typer(token_app, name="token")
invoices_app = typer.Typer(help="Generate, finalize, show and void invoices.", no_args_is_help=True)


class ShowFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[Format, typer.Option(help="table or json.")]
MonthOption = Annotated[str, typer.Option(help="The month, YYYY-MM.")]


# -- db ------------------------------------------------------------------------------------


@db_app.command("init")
def db_init() -> None:
    """Create the database (SQLite file or PostgreSQL schema) at the newest revision."""
    _migrate("initialized")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database does not have yet."""
    _migrate("upgraded")


def _migrate(verb: str) -> None:
    db, _ = open_store(require_schema=False)
    try:
        revision = db.upgrade()
    except RatecardError as exc:
        fail(str(exc))
    # one line however long the store's path: scripts (and the README's test) read it
    out.print(
        f"database {db.safe_url} {verb}: schema revision {revision}",
        highlight=False,
        soft_wrap=True,
    )


# -- accounts ------------------------------------------------------------------------------


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="The account's name.")],
    parent: Annotated[str | None, typer.Option(help="Parent account sid (a subaccount).")] = None,
    created: Annotated[
        str | None, typer.Option(help="Creation date, YYYY-MM-DD (default: today).")
    ] = None,
    created_with_flex: Annotated[
        bool, typer.Option("--created-with-flex", help="Flex was provisioned at creation.")
    ] = False,
    format: FormatOption = Format.table,
    sid: Annotated[
        str | None, typer.Option(help="Use this sid (AC + 32 hex) instead of a new one.")
    ] = None,
) -> None:
    """Create an account and print its auth token (shown this once only)."""
    try:
        day = None if created is None else date.fromisoformat(created)
    except ValueError:
        fail(f"--created: not a date YYYY-MM-DD: {created!r}")
    try:
        account, token = account_service.create_account(
            open_store()[0], name, parent, day, created_with_flex, sid=sid
        )
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json({"sid": account.sid, "auth_token": token})
        return
    out.print(f"account {account.sid} ({account.name}) created", highlight=False)
    out.print(f"auth token: {token}  (shown once; only its hash is stored)", highlight=False)


@accounts_app.command("list")
def accounts_list(format: FormatOption = Format.table) -> None:
    """List the stored accounts."""
    try:
        found = account_service.list_accounts(open_store()[0])
    except RatecardError as exc:
        fail(str(exc))
    rows: list[dict[str, Any]] = [
        {
            "sid": a.sid,
            "name": a.name,
            "parent": a.parent,
            "created": a.created.isoformat(),
            "created_with_flex": a.created_with_flex,
        }
        for a in found
    ]
    if format is Format.json:
        emit_json({"accounts": rows})
        return
    table = Table("sid", "name", "parent", "created", "created with Flex")
    for a in found:
        flex = "yes" if a.created_with_flex else "no"
        table.add_row(a.sid, a.name, a.parent or "", a.created.isoformat(), flex)
    out.print(table)


@token_app.command("rotate")
def token_rotate(
    sid: Annotated[str, typer.Argument(help="The account sid.")],
    format: FormatOption = Format.table,
) -> None:
    """Issue a new auth token (printed this once); the old token stops working at once."""
    try:
        token = account_service.rotate_token(open_store()[0], sid)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json({"sid": sid, "auth_token": token})
        return
    out.print(f"new auth token of {sid}: {token}  (shown once; only its hash is stored)")


# -- import --------------------------------------------------------------------------------


def import_command(
    file: Annotated[Path, typer.Argument(help="Events: .jsonl, .csv or .parquet.")],
    format: FormatOption = Format.table,
) -> None:
    """Import an event file; refused lines go to FILE.rejects.jsonl. Safe to re-run."""
    db, settings = open_store()
    try:
        file_format(file)
        with Progress(
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            DownloadColumn() if file_format(file) != "parquet" else TextColumn(""),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            # a bar is for a person watching; piped, it would leave a blank line behind
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(file.name, total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = import_file(db, file, settings, progress)
    except RatecardError as exc:
        fail(str(exc))
    except (SQLAlchemyError, psycopg.Error, OSError) as exc:
        # the store or the file system failed, not a line: earlier batches are stored
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        fail(
            f"import of {file} stopped: {first}; the batches before it are stored, and "
            "running the import again is safe"
        )
    counts = {"stored": result.stored, "duplicates": result.duplicates, "refused": result.refused}
    if format is Format.json:
        emit_json(counts)
    else:
        out.print(
            f"{file}: stored {result.stored}, duplicates {result.duplicates}, "
            f"refused {result.refused}",
            highlight=False,
        )
    if result.stale_rejects is not None:
        err.print(f"removed {result.stale_rejects} of an earlier run", highlight=False)
    if result.rejects is not None:
        err.print(f"refused lines and their reasons: {result.rejects}", highlight=False)
        raise typer.Exit(1)


# -- invoices ------------------------------------------------------------------------------


@invoices_app.command("generate")
def invoices_generate(
    month: MonthOption,
    account: Annotated[str | None, typer.Option(help="Only this billing account.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Compute draft invoices from stored events (finalized invoices are left alone).

    A whole month close (no --account) takes the columnar fast path, which stores the same
    documents as the per-account path (tested) and hands it the accounts it cannot rate.
    """
    period = parse_month(month)
    db, settings = open_store()
    try:
        if account is None:
            closed = close_service.generate(db, period, settings)
        else:
            closed = Closed(invoice_service.generate(db, period, settings, account))
    except RatecardError as exc:
        fail(str(exc))
    rows = [
        {
            "account": r.account,
            "month": r.month,
            "action": r.action,
            "total": r.total,
            "currency": r.currency,
        }
        for r in closed.generated
    ]
    failed = [{"account": f.account, "month": f.month, "reason": f.reason} for f in closed.failed]
    if format is Format.json:
        emit_json({"invoices": rows, "failed": failed})
    else:
        table = Table("account", "month", "draft", "total")
        for row in rows:
            table.add_row(
                row["account"], row["month"], row["action"], f"{row['total']} {row['currency']}"
            )
        out.print(table)
        if failed:
            refused = Table("account", "month", "not rated because", title="not rated")
            for item in failed:
                refused.add_row(item["account"], item["month"], item["reason"])
            out.print(refused)
    if failed:
        # the other accounts' drafts are stored; scripts still learn that the month is not whole
        err.print(
            f"{len(failed)} billing account(s) could not be rated for {period}; their drafts "
            "are unchanged",
            highlight=False,
        )
        raise typer.Exit(1)


@invoices_app.command("finalize")
def invoices_finalize(
    month: MonthOption,
    account: Annotated[str, typer.Option(help="The billing account.")],
) -> None:
    """Finalize a draft invoice: from now on it never changes."""
    period = parse_month(month)
    try:
        db, settings = open_store()
        doc = invoice_service.finalize(db, period, account, policy=settings.late_policy)
    except RatecardError as exc:
        fail(str(exc))
    out.print(f"finalized the {period} invoice of {account}: {doc['total']} {doc['currency']}")


@invoices_app.command("void")
def invoices_void(
    month: MonthOption,
    account: Annotated[str, typer.Option(help="The billing account.")],
) -> None:
    """Void the month's invoice (a draft, or a finalized one); it is kept, marked void."""
    period = parse_month(month)
    try:
        previous = invoice_service.void(open_store()[0], period, account)
    except RatecardError as exc:
        fail(str(exc))
    out.print(f"voided the {period} invoice of {account} (it was {previous})", highlight=False)


@invoices_app.command("show")
def invoices_show(
    month: MonthOption,
    account: Annotated[str | None, typer.Option(help="Only this billing account.")] = None,
    format: Annotated[ShowFormat, typer.Option(help="table, json or csv.")] = ShowFormat.table,
) -> None:
    """Print stored invoices of a month with their status."""
    period = parse_month(month)
    try:
        docs = invoice_service.show(open_store()[0], period, account)
    except RatecardError as exc:
        fail(str(exc))
    if format is ShowFormat.json:
        emit_json(docs[0] if account is not None else {"invoices": docs})
    elif format is ShowFormat.csv:
        _write_csv(docs)
    else:
        for doc in docs:
            _print_doc(doc)


def _write_csv(docs: list[dict[str, Any]]) -> None:
    sys.stdout.write(invoices_to_csv(docs))


def _print_doc(doc: dict[str, Any]) -> None:
    out.print(
        f"[bold]Invoice {doc['month']}[/]  {doc['name']} ({doc['account']})  "
        f"catalog {doc['catalog']}  [bold]{doc['status']}[/]",
        highlight=False,
    )
    sections = [("", doc["lines"], doc["total"])]
    sections += [
        (f"  of which {p['name']} ({p['account']})", p["lines"], p["total"])
        for p in doc["subaccounts"]
        if p["lines"]
    ]
    for title, lines, total in sections:
        table = Table(title=title or None, title_justify="left", show_footer=True)
        table.add_column("category", footer="total")
        table.add_column("tier")
        table.add_column("quantity", justify="right")
        table.add_column("unit price", justify="right")
        table.add_column(f"amount ({doc['currency']})", justify="right", footer=total)
        for line in lines:
            label = line["tier"] or ""
            if line["kind"] == "adjustment":
                label = f"adjustment for {line['original_month']}" + (
                    f" ({label})" if label else ""
                )
            elif line["kind"] != "usage":
                label = line["kind"].replace("_", " ") + (f" ({label})" if label else "")
            table.add_row(
                line["category"], label, line["quantity"], line["unit_price"] or "", line["amount"]
            )
        out.print(table)
    out.print()


def register(app: typer.Typer) -> None:
    """Add the store's commands to the main ``ratecard`` app."""
    app.add_typer(db_app, name="db")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(invoices_app, name="invoices")
    app.command("import")(import_command)
