"""``ratecard resources``, ``ratecard deflex`` and ``ratecard support``: removing Flex from an
account (SPEC section 5) through a request that support processes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ratecard.cli.common import Format, emit_json, fail, open_store, out, parse_time
from ratecard.deflex.workflow import BILLING_ACKNOWLEDGMENT
from ratecard.errors import RatecardError
from ratecard.service import deflex as deflex_service
from ratecard.service.support import add_support_user, list_support_users

resources_app = typer.Typer(help="Import an account's resources.", no_args_is_help=True)
deflex_app = typer.Typer(
    help="Remove Flex from an account: checklist, request, acknowledgment, processing.",
    no_args_is_help=True,
)
support_app = typer.Typer(help="Support users (they process deflexification requests).")

FormatOption = Annotated[Format, typer.Option(help="table or json.")]
RequestId = Annotated[int, typer.Argument(help="The request id.")]


def _now() -> datetime:
    return datetime.now(UTC)


@resources_app.command("import")
def resources_import(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    file: Annotated[Path, typer.Argument(help="JSON in the vendor's REST shapes.")],
    format: FormatOption = Format.table,
) -> None:
    """Replace the account's resources (Studio flows, TaskRouter, TwiML apps, workers,
    numbers) with the content of FILE."""
    db, _ = open_store()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"{file}: cannot read JSON: {exc}")
    try:
        counts = deflex_service.import_resources(db, account, data, _now())
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(counts)
    else:
        summary = ", ".join(
            f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if k != "account"
        )
        out.print(f"imported resources of {account}: {summary}", highlight=False)


def print_findings(findings: list[dict[str, str]]) -> None:
    if not findings:
        out.print("nothing in this account depends on Flex")
        return
    table = Table(title="before removing Flex", title_justify="left")
    for column in ("kind", "resource", "problem", "what to do"):
        table.add_column(column, max_width=60)
    for f in findings:
        table.add_row(f["kind"], f"{f['name']} ({f['sid']})", f["problem"], f["action"])
    out.print(table)


@deflex_app.command("checklist")
def deflex_checklist(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    format: FormatOption = Format.table,
) -> None:
    """What would break if Flex were removed, and what to do first."""
    db, _ = open_store()
    try:
        data = deflex_service.checklist(db, account)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json(data)
    else:
        print_findings(data["findings"])


@deflex_app.command("request")
def deflex_request(
    account: Annotated[str, typer.Argument(help="The account sid (AC...).")],
    intent: Annotated[str, typer.Option(help="stop_billing or decommission.")],
    accept_billing_change: Annotated[
        bool,
        typer.Option("--accept-billing-change", help="Accept the billing change and submit."),
    ] = False,
    format: FormatOption = Format.table,
) -> None:
    """File a deflexification request. Without --accept-billing-change it stays a draft and
    the command exits non-zero, showing the billing change to accept."""
    db, settings = open_store()
    try:
        data = deflex_service.file_request(
            db, account, intent, account, accept_billing_change, _now(), settings=settings
        )
    except RatecardError as exc:
        fail(str(exc))
    if data["status"] != "submitted":
        print_findings(data["checklist"])
        fail(
            f"request {data['request']} is a draft: it cannot be submitted until the billing "
            f"change is accepted.\n\n{BILLING_ACKNOWLEDGMENT}\n\nAccept it with 'ratecard deflex "
            f"acknowledge {data['request']}' or file again with --accept-billing-change."
        )
    if format is Format.json:
        emit_json({"request": data["request"], "status": data["status"]})
    else:
        out.print(
            f"request {data['request']} submitted: support will process it "
            "('ratecard deflex show' follows it)",
            highlight=False,
        )


@deflex_app.command("acknowledge")
def deflex_acknowledge(request: RequestId, format: FormatOption = Format.table) -> None:
    """Accept the billing change of a draft request, which submits it."""
    db, _ = open_store()
    try:
        account = deflex_service.account_of(db, request)
        data = deflex_service.acknowledge(db, request, account, _now())
    except RatecardError as exc:
        fail(str(exc))
    _print_request(data, format)


@deflex_app.command("process")
def deflex_process(
    request: RequestId,
    support_user: Annotated[str, typer.Option(help="A registered support user.")],
    effective: Annotated[
        str | None, typer.Option(help="When Flex billing stops (ISO 8601; default: now).")
    ] = None,
    format: FormatOption = Format.table,
) -> None:
    """Process a submitted request (support only): Flex billing stops at the effective time."""
    db, _ = open_store()
    when = None if effective is None else parse_time(effective, "--effective")
    try:
        data = deflex_service.process(db, request, support_user, _now(), when)
    except RatecardError as exc:
        fail(str(exc))
    _print_request(data, format)


@deflex_app.command("reject")
def deflex_reject(
    request: RequestId,
    support_user: Annotated[str, typer.Option(help="A registered support user.")],
    reason: Annotated[str, typer.Option(help="Why, in words the account understands.")],
    format: FormatOption = Format.table,
) -> None:
    """Reject a submitted request (support only)."""
    db, _ = open_store()
    try:
        data = deflex_service.reject(db, request, support_user, _now(), reason)
    except RatecardError as exc:
        fail(str(exc))
    _print_request(data, format)


@deflex_app.command("withdraw")
def deflex_withdraw(request: RequestId, format: FormatOption = Format.table) -> None:
    """Withdraw a draft or submitted request (the account's own decision)."""
    db, _ = open_store()
    try:
        account = deflex_service.account_of(db, request)
        data = deflex_service.withdraw(db, request, account, _now())
    except RatecardError as exc:
        fail(str(exc))
    _print_request(data, format)


@deflex_app.command("show")
def deflex_show(request: RequestId, format: FormatOption = Format.table) -> None:
    """A request: state, effective time, acknowledgment, checklist and audit trail."""
    db, _ = open_store()
    try:
        data = deflex_service.show(db, request)
    except RatecardError as exc:
        fail(str(exc))
    _print_request(data, format)


def _print_request(data: dict[str, Any], format: Format) -> None:
    if format is Format.json:
        emit_json(data)
        return
    out.print(
        f"request {data['request']}: {data['status']} ({data['intent']}, account "
        f"{data['account']}, plan {data['plan']})"
        + (f", Flex billing stops {data['effective']}" if data["effective"] else ""),
        highlight=False,
    )
    table = Table(title="audit trail", title_justify="left")
    for column in ("at", "action", "from", "to", "by", "note"):
        table.add_column(column)
    for e in data["audit"]:
        by = f"{e['actor']} ({e['role']})"
        table.add_row(e["at"], e["action"], e["from_state"] or "", e["to_state"], by, e["note"])
    out.print(table)


@support_app.command("add")
def support_add(
    name: Annotated[str, typer.Argument(help="The support user's name.")],
    format: FormatOption = Format.table,
) -> None:
    """Register a support user and print its token (shown this once only)."""
    db, _ = open_store()
    try:
        token = add_support_user(db, name)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json({"name": name, "token": token})
    else:
        out.print(f"support user {name} registered; token (shown once): {token}", highlight=False)


@support_app.command("list")
def support_list() -> None:
    """The registered support users."""
    db, _ = open_store()
    for name in list_support_users(db):
        out.print(name, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(resources_app, name="resources")
    app.add_typer(deflex_app, name="deflex")
    app.add_typer(support_app, name="support")
