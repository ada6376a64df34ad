"""The web console: server-rendered pages over the same services and credentials as the API.

``install(app)`` mounts it at ``/console`` in the API's app (see :mod:`ratecard.api.app`):

* ``/console/login``, ``/console/logout``: an account sid and auth token (or a support user's
  name and token), checked and throttled as the API checks HTTP Basic (:mod:`.auth`);
  a signed session cookie and a CSRF token on every form (:mod:`.session`, :mod:`.deps`).
* ``/console/overview``: this month's spend, pool progress with a forecast, daily usage.
* ``/console/invoices[/{month}[/csv|/pdf]]``: the invoices, one invoice, its downloads.
* ``/console/flex``, ``/console/deflex``, ``/console/requests/{id}``: plans, the advisor,
  the switch; deflexification checklist, request, status.
* ``/console/support``: support users' queue of deflexification requests.

HTTP statuses of the console live here and in its routes, as the API's live in ``api/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ratecard.web import account_pages, auth, flex_pages, support_pages
from ratecard.web.session import Sessions

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, secret: str | None = None) -> None:
    """Mount the console's routes and stylesheet on ``app`` (signing sessions with
    ``secret``, else :data:`~ratecard.web.session.SECRET_VARIABLE` or a random one)."""
    app.state.console_sessions = Sessions(secret)
    for module in (auth, account_pages, flex_pages, support_pages):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
