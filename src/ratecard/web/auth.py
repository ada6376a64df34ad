"""Login and logout of the console, over the API's credentials and its throttle.

The form takes what HTTP Basic takes (an account sid and its auth token, or a support user's
name and token) and checks it with the API's own :func:`~ratecard.api.deps.authenticate`.
Failed attempts count in the API's throttle (:mod:`ratecard.api.throttle`), per sid and per
client address: once throttled the form answers 429 and the token is not hashed at all, as the
API does, so the form is no way around the limit.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ratecard.api.deps import Ctx, authenticate
from ratecard.web.deps import ConsoleRoute, Form, current_session, render, sessions, stored_hash
from ratecard.web.session import credential_digest, fresh

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def home_of(kind: str) -> str:
    return "/console/support" if kind == "support" else "/console/overview"


def _safe_next(target: str | None) -> str | None:
    """Only a console path may be a redirect target (no open redirect to another site)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    return target


@router.get("", response_model=None)
@router.get("/", response_model=None)
def root(request: Request) -> Response:
    session = current_session(request)
    if session.logged_in:
        return RedirectResponse(home_of(session.kind), status_code=303)
    return RedirectResponse("/console/login", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"next": _safe_next(next) or "", "error": None})


@router.post("/login", response_model=None)
def login(request: Request, fields: Form, ctx: Ctx) -> Response:
    user = fields.get("user", "").strip()
    secret = fields.get("token", "").strip()
    target = _safe_next(fields.get("next"))
    if not user or not secret:
        missing = "account SID" if not user else "auth token"
        return _refused(request, f"{missing} is required", 400, user, target)
    client = request.client.host if request.client else "unknown"
    wait = ctx.throttle.retry_after(user, client)
    found = authenticate(ctx, user, secret, check=wait is None)
    if found is None:
        if wait is not None:
            message = f"too many failed logins; try again in {wait} seconds"
            refused = _refused(request, message, 429, user, target)
            refused.headers["Retry-After"] = str(wait)
            return refused
        ctx.throttle.failed(user, client)
        return _refused(request, "the account SID or auth token is not right", 401, user, target)
    stored = stored_hash(ctx, found.kind, found.name)
    assert stored is not None, "credentials just matched a stored hash"
    session = fresh(found.kind, found.name, credential_digest(stored))
    response = RedirectResponse(target or home_of(found.kind), status_code=303)
    sessions(request).write(request, response, session)
    return response


def _refused(
    request: Request, message: str, status: int, user: str, target: str | None
) -> HTMLResponse:
    values = {"next": target or "", "error": message, "user": user}
    return render(request, "login.html", values, status)


@router.post("/logout", response_model=None)
def logout(request: Request, fields: Form) -> Response:
    """End the session (the form's CSRF check has just read it) and forget the cookie."""
    store = sessions(request)
    session = store.read(request)
    if session is not None:
        store.revoke(session)
    response = RedirectResponse("/console/login", status_code=303)
    store.clear(response)
    return response
