"""What console routes depend on: the viewer (who is logged in), checked forms, rendering.

A page needs a logged-in session whose credential is still current (a rotated token ends it);
otherwise :class:`LoginRequired` redirects to the login page. A POST form must carry the
session's CSRF token; otherwise :class:`CsrfRefused` answers 403 before the handler runs, so
a refused form changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from ratecard.api.deps import Context, context
from ratecard.errors import NotFoundError, RatecardError, StateError
from ratecard.service.support import NAME
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.web.session import Session, Sessions, credential_digest, csrf_matches, fresh

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class LoginRequired(Exception):  # noqa: N818  # a redirect, not a failure
    """The page needs a logged-in session; ``next`` is where to come back to."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfRefused(Exception):  # noqa: N818  # the refusal's name, as the page says it
    """A POST form without the session's CSRF token."""


class WrongRole(Exception):  # noqa: N818
    """The page belongs to the other role (an account on the support queue, or back)."""

    def __init__(self, role: str) -> None:
        self.role = role


@dataclass(frozen=True)
class Viewer:
    """The logged-in visitor: an account (by sid) or a support user (by name)."""

    session: Session
    ctx: Context

    @property
    def kind(self) -> Literal["", "account", "support"]:
        return self.session.kind

    @property
    def name(self) -> str:
        return self.session.name


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.console_sessions
    return found


def stored_hash(ctx: Context, kind: str, name: str) -> str | None:
    """The stored token hash of an account or support user (None: it does not exist)."""
    with UnitOfWork(ctx.db) as uow:
        if kind == "account":
            return uow.accounts.token_hash(name) if len(name) <= 34 else None
        return uow.support.token_hash(name) if NAME.match(name) else None


def current_session(request: Request) -> Session:
    """The request's session, or a fresh anonymous one (written back by :func:`render`)."""
    return sessions(request).read(request) or fresh()


def viewer(request: Request, ctx: Annotated[Context, Depends(context)]) -> Viewer:
    session = current_session(request)
    if session.logged_in:
        stored = stored_hash(ctx, session.kind, session.name)
        if stored is not None and credential_digest(stored) == session.credential:
            return Viewer(session, ctx)
    if request.method != "GET":  # a form's target is no page to come back to
        raise LoginRequired("")
    path = request.url.path
    raise LoginRequired(path + (f"?{request.url.query}" if request.url.query else ""))


def account_viewer(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    if who.kind != "account":
        raise WrongRole("account")
    return who


def support_viewer(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    if who.kind != "support":
        raise WrongRole("support")
    return who


AccountViewer = Annotated[Viewer, Depends(account_viewer)]
SupportViewer = Annotated[Viewer, Depends(support_viewer)]


async def form(request: Request) -> dict[str, str]:
    """The POST form's fields, once its CSRF token has been checked against the session."""
    data = await request.form()
    fields = {key: value for key, value in data.items() if isinstance(value, str)}
    session = sessions(request).read(request)
    if session is None or not csrf_matches(session, fields.get("csrf_token")):
        raise CsrfRefused
    return fields


Form = Annotated[dict[str, str], Depends(form)]


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    status_code: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    """``template`` rendered with ``values`` (plus the session's CSRF token and the viewer);
    the session cookie is (re)written so an anonymous visitor keeps one token."""
    active = session or current_session(request)
    context_values = {
        "csrf_token": active.csrf,
        "viewer": active if active.logged_in else None,
        "path": request.url.path,
        **values,
    }
    response = TEMPLATES.TemplateResponse(request, template, context_values, status_code)
    sessions(request).write(request, response, active)
    return response


class ConsoleRoute(APIRoute):
    """A console route: its refusals answer pages, not the API's JSON errors.

    Not logged in: a redirect to the login page (coming back afterwards). A form without its
    CSRF token: 403. The other role's page: 403. A service refusal (RatecardError) that the
    route did not show itself: an error page with the API's status for it.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                query = "?" + urlencode({"next": exc.next_path}) if exc.next_path else ""
                return RedirectResponse("/console/login" + query, status_code=303)
            except RequestValidationError as exc:  # e.g. /console/requests/abc
                wrong = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return _error(request, 404, "Not found", f"no such page ({wrong})")
            except CsrfRefused:
                message = (
                    "This form's security token is missing or out of date (it belongs to "
                    "another session). Nothing was changed: reload the page and try again."
                )
                return _error(request, 403, "Form refused", message)
            except WrongRole as exc:
                message = f"This page is for {exc.role} logins only."
                return _error(request, 403, "Not for this login", message)
            except RatecardError as exc:
                return _error(request, _status(exc), "Not possible", str(exc))

        return route


def _status(error: RatecardError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, StateError):
        return 409
    return 400


def _error(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status)
