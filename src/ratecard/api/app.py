"""The app factory: one FastAPI app over one configured store (the composition root)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from ratecard import __version__
from ratecard.api import accounts, deflex, events, flex, invoices, triggers, usage_records
from ratecard.api.deps import Context
from ratecard.api.errors import install
from ratecard.api.guard import Guard, limits
from ratecard.api.throttle import AuthThrottle
from ratecard.catalog import load_catalog
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.web import install as install_console

DESCRIPTION = """\
ratecard as a service: usage ingestion, exact invoices, Flex plans and deflexification under
`/v1`, and the vendor-compatible Usage Records API under `/2010-04-01`.

Authenticate with HTTP Basic: an account sid and its auth token (`ratecard accounts token
rotate SID` issues a new one), or a support user's name and token. Decimals are strings;
every error is `{"error": {"code", "message", "field", "problems"?}}`.
"""


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """A ratecard API app over ``settings``' store; ``clock`` fixes "now" (tests, demos) and
    ``timer`` measures the authentication throttle's windows (seconds; tests fake it)."""
    settings = settings or Settings.from_env()
    # the docs page and its Swagger UI assets are served from the installed package, never a
    # CDN, so /docs works offline
    app = FastAPIOffline(
        title="ratecard", version=__version__, description=DESCRIPTION, redoc_url=None
    )
    app.state.ratecard = Context(
        db=Database(settings.database_url),
        settings=settings,
        catalog=load_catalog(settings.catalog),
        clock=clock or _now,
        verified={},
        lock=threading.Lock(),
        throttle=AuthThrottle(
            settings.auth_failures_per_sid,
            settings.auth_failures_per_client,
            settings.auth_window_seconds,
            timer,
        ),
    )
    install(app)
    app.add_middleware(
        Guard,
        limit=limits("/v1/events", settings.max_events_body_bytes, settings.max_body_bytes),
    )
    for router in (
        accounts.router,
        events.router,
        invoices.router,
        flex.router,
        deflex.account_router,
        deflex.router,
        usage_records.router,
    ):
        app.include_router(router)
    triggers.install(app)  # the Usage Triggers routes and the webhook delivery worker
    install_console(app)  # the web console's pages under /console
    _document(app)
    return app


def _document(app: FastAPI) -> None:
    """Add to the generated OpenAPI what routes that read their own body cannot declare."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(events.SCHEMAS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_served_app(
    settings: Settings | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """:func:`create_app` for a server process (``ratecard serve``; each worker calls it).

    Everything built so far (modules, models, the catalog) lives as long as the process, so
    it is moved out of the garbage collector's sight (:func:`gc.freeze`): the collections that
    request handling triggers then scan only the request's own objects. Measured on
    ``POST /v1/events`` batches, the full collections otherwise took about a tenth of a
    worker's time.
    """
    app = create_app(settings, clock)
    gc.collect()
    gc.freeze()
    return app
