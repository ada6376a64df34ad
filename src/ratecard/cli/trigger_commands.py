"""``ratecard triggers``: evaluate usage triggers, deliver their webhooks, show the log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ratecard.catalog import load_catalog
from ratecard.cli.common import Format, emit_json, fail, open_store, out, parse_time
from ratecard.errors import RatecardError
from ratecard.service import triggers as service
from ratecard.service import webhooks

triggers_app = typer.Typer(
    help="Usage triggers: evaluate, deliver webhooks, delivery log, signing key.",
    no_args_is_help=True,
)
NowOption = Annotated[
    str | None, typer.Option("--now", help="The time to act at (default: now), e.g. 2026-12-03Z.")
]


def _now(text: str | None) -> object:
    from datetime import UTC, datetime

    return datetime.now(UTC) if text is None else parse_time(text, "--now")


@triggers_app.command("deliver")
def deliver(now: NowOption = None) -> None:
    """One delivery pass: send every due webhook of the outbox once, log each attempt."""
    from datetime import datetime

    db, _ = open_store()
    moment = _now(now)
    assert isinstance(moment, datetime)
    result = webhooks.deliver_pass(db, moment)
    out.print(
        f"webhooks: delivered {result.delivered}, to retry {result.retrying}, "
        f"failed {result.failed}",
        highlight=False,
    )


@triggers_app.command("evaluate")
def evaluate(now: NowOption = None) -> None:
    """Evaluate every account's triggers (after an import from another process)."""
    from datetime import datetime

    db, settings = open_store()
    moment = _now(now)
    assert isinstance(moment, datetime)
    try:
        fired = service.evaluate(
            db, load_catalog(settings.catalog), service.all_trigger_accounts(db), moment
        )
    except RatecardError as exc:
        fail(str(exc))
    out.print(f"triggers fired: {fired}", highlight=False)


@triggers_app.command("deliveries")
def show_deliveries(
    account: Annotated[str, typer.Argument(help="The trigger's account sid.")],
    trigger: Annotated[str, typer.Argument(help="The trigger's sid (UT...).")],
    format: Annotated[Format, typer.Option(help="table or json.")] = Format.table,
) -> None:
    """A trigger's webhooks with every delivery attempt."""
    db, _ = open_store()
    try:
        rows = webhooks.deliveries(db, account, trigger)
    except RatecardError as exc:
        fail(str(exc))
    if format is Format.json:
        emit_json({"trigger": trigger, "deliveries": rows})
        return
    table = Table("webhook", "status", "attempt", "at", "HTTP", "error")
    for row in rows:
        for entry in row["log"] or [{}]:
            table.add_row(
                str(row["id"]),
                row["status"],
                str(entry.get("attempt", "")),
                entry.get("started_at") or "",
                str(entry.get("status_code") or ""),
                entry.get("error") or "",
            )
    out.print(table)


@triggers_app.command("signing-key")
def signing_key(
    account: Annotated[str, typer.Argument(help="The account sid.")],
    rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new key.")] = False,
) -> None:
    """The key the account's webhooks are signed with (X-Twilio-Signature)."""
    from datetime import UTC, datetime

    db, _ = open_store()
    try:
        key = service.signing_key(db, account, datetime.now(UTC), rotate)
    except RatecardError as exc:
        fail(str(exc))
    out.print(f"{account}: webhook signing key {key}", highlight=False)
