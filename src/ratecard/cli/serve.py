"""``ratecard serve``: the HTTP API (uvicorn) on the configured store."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ratecard.cli.common import fail, out, parse_time
from ratecard.errors import RatecardError
from ratecard.service.demo import ensure_demo
from ratecard.service.settings import Settings
from ratecard.store.database import Database


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each with its own connection pool).", min=1)
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="On an empty database, create a demo account tree with a month of usage "
            "(on one holding the demo, issue its parent a new token); print the credentials.",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            envvar="RATECARD_NOW",
            help="Fix the server's clock (and the demo's usage) at this time, e.g. "
            "2026-11-22T00:41:18Z: figures that reproduce, for docs and tests.",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API: /v1, the vendor-compatible Usage Records, docs at /docs."""
    import uvicorn

    from ratecard.api.app import create_served_app

    fixed = None if now is None else parse_time(now, "--now")
    if fixed is not None and workers != 1:
        # worker processes build their app from the environment, without this clock
        fail("--now works with one worker only (--workers 1)")

    def clock() -> datetime:
        assert fixed is not None
        return fixed

    try:
        settings = Settings.from_env()
        db = Database(settings.database_url)
        db.require_current()
        issued = ensure_demo(db, settings, fixed) if demo else []
        app = create_served_app(settings, None if fixed is None else clock)
    except RatecardError as exc:
        fail(str(exc))
    url = f"http://{host}:{port}"
    out.print(
        f"ratecard API on {url}  (docs {url}/docs, store {db.safe_url})",
        highlight=False,
        soft_wrap=True,  # one line whatever the store's path: scripts and the README read it
    )
    for cred in issued:
        out.print(f"  {cred.name}: {cred.sid}  auth token {cred.token}", highlight=False)
    if issued:
        parent = issued[0]
        out.print(
            f"  try: curl -u {parent.sid}:{parent.token} "
            f"{url}/2010-04-01/Accounts/{parent.sid}/Usage/Records/ThisMonth.json",
            highlight=False,
            soft_wrap=True,
        )
    db.dispose()
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info")
    else:
        # several processes need an import string; each builds its app from the environment
        factory = "ratecard.api.app:create_served_app"
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="warning"
        )
