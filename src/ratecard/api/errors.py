"""HTTP errors: the ``ratecard.errors`` hierarchy mapped to statuses and one JSON shape.

Every error answer is ``{"error": {"code", "message", "field", "problems"?}}``: ``code`` is a
stable snake_case name clients can branch on, ``field`` names the offending field (or null),
and ``problems`` lists each bad item (``index``, ``field``, ``reason``) when an answer is about
several. HTTP status codes live only in this package: payload validation 422, a missing record
or another tenant's 404, bad credentials 401, a role that may not act 403, a state conflict
409, a store that cannot be reached 503, every other refusal 400.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ratecard.errors import (
    CatalogError,
    ConfigError,
    ConflictError,
    DeflexRefused,
    EventError,
    MoneyError,
    NoPriceError,
    NotFoundError,
    PermissionDenied,
    PlanChangeRefusedError,
    Problem,
    RatecardError,
    RatingError,
    RequestStateError,
    StateError,
    StoreError,
)

log = logging.getLogger("ratecard.api")
_INDEX = re.compile(r"\[(\d+)\]")
#: the longest quote of the input in an error message, and the longest message or field
EXCERPT = 80
MESSAGE_LIMIT = 1000
FIELD_LIMIT = 100

#: (error class, HTTP status, stable code): the first class an error is an instance of wins.
MAPPING: tuple[tuple[type[RatecardError], int, str], ...] = (
    (ConflictError, 409, "conflicting_events"),
    (EventError, 422, "invalid_events"),
    (NotFoundError, 404, "not_found"),
    (RequestStateError, 409, "request_state"),
    (StateError, 409, "invalid_state"),
    (PermissionDenied, 403, "permission_denied"),
    (DeflexRefused, 400, "deflex_refused"),
    (PlanChangeRefusedError, 400, "plan_change_refused"),
    (NoPriceError, 400, "no_price"),
    (RatingError, 400, "rating_refused"),
    (MoneyError, 400, "invalid_number"),
    (CatalogError, 400, "invalid_catalog"),
    (StoreError, 503, "store_unavailable"),
    (ConfigError, 400, "invalid_setting"),
)


class ProblemModel(BaseModel):
    index: int | None
    field: str | None
    reason: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None
    problems: list[ProblemModel] | None = None


class ErrorBody(BaseModel):
    """The one error shape (for the OpenAPI description)."""

    error: ErrorDetail


#: what each error status means, for the OpenAPI description of every route
_STATUS_TEXT = {
    400: "refused: a query parameter or a rule of the domain",
    401: "missing or invalid credentials",
    403: "these credentials' role may not do this",
    404: "no such record, or another tenant's",
    409: "conflicts with the current state (or a resent event with other content)",
    413: "the request body passes the route's limit",
    422: "the payload or a parameter is invalid",
    429: "too many failed authentications; retry after Retry-After seconds",
    500: "an internal error (logged with the X-Request-Id of the answer)",
    503: "the store cannot be reached",
}
_STATUS_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: {"Retry-After": {"required": True, "schema": {"type": "integer"}}},
}
#: statuses every authenticated route can answer
COMMON_STATUSES = (401, 403, 404, 413, 422, 429, 500, 503)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for ``statuses`` plus the common ones, all in the one error shape."""
    chosen = sorted(set(statuses) | set(COMMON_STATUSES))
    return {
        status: {
            "model": ErrorBody,
            "description": _STATUS_TEXT[status],
            **({"headers": _STATUS_HEADERS[status]} if status in _STATUS_HEADERS else {}),
        }
        for status in chosen
    }


class ApiError(Exception):
    """An error answer raised by the API layer itself (authentication, bad query, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        problems: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.problems = problems
        self.headers = headers


def unauthorized(message: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, headers={"WWW-Authenticate": 'Basic realm="ratecard"'}
    )


def invalid(
    message: str, field: str | None = None, problems: list[dict[str, Any]] | None = None
) -> ApiError:
    """A payload validation error (422)."""
    return ApiError(422, "invalid_request", message, field, problems)


def bad_query(message: str, field: str) -> ApiError:
    """A query parameter the endpoint cannot take (400, as the vendor answers)."""
    return ApiError(400, "invalid_parameter", message, field)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` cut to ``limit`` characters: an answer never echoes a large input back."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def body(
    code: str,
    message: str,
    field: str | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The one error shape. Texts are clipped here, the one place every answer passes, since a
    message or field may quote the input (a bad value, an unknown key) however long it was."""

    def clipped(text: Any, limit: int = MESSAGE_LIMIT) -> str | None:
        return None if text is None else excerpt(str(text), limit)

    error: dict[str, Any] = {
        "code": code,
        "message": clipped(message),
        "field": clipped(field, FIELD_LIMIT),
    }
    if problems:
        error["problems"] = [
            {**p, "field": clipped(p.get("field"), FIELD_LIMIT), "reason": clipped(p.get("reason"))}
            for p in problems
        ]
    return {"error": error}


def problem_json(problem: Problem) -> dict[str, Any]:
    """A :class:`Problem` located as ``events[INDEX]`` -> ``{"index", "field", "reason"}``."""
    match = _INDEX.search(problem.where)
    return {
        "index": int(match.group(1)) if match else None,
        "field": problem.field,
        "reason": problem.reason,
    }


def from_ratecard(error: RatecardError) -> ApiError:
    status, code = next(
        ((s, c) for kind, s, c in MAPPING if isinstance(error, kind)), (400, "refused")
    )
    if isinstance(error, EventError):
        problems = [problem_json(p) for p in error.problems]
        first = error.problems[0] if error.problems else None
        noun = "event" if len(problems) == 1 else "events"
        message = f"{len(problems)} {noun} refused; nothing was stored"
        if first is not None:
            message += f" (first: {first.where}: {first.reason})"
        return ApiError(status, code, message, first.field if first else None, problems)
    if isinstance(error, PlanChangeRefusedError) and len(error.refusals) > 1:
        problems = [
            {"index": None, "field": "plan", "reason": str(getattr(r, "explanation", r))}
            for r in error.refusals
        ]
        return ApiError(status, code, str(error), "plan", problems)
    return ApiError(status, code, str(error))


def _answer(error: ApiError) -> JSONResponse:
    return JSONResponse(
        body(error.code, error.message, error.field, error.problems),
        status_code=error.status,
        headers=error.headers,
    )


def _location(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    """Answer every error in the one JSON shape; nothing escapes as a bare 500 page."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, error: ApiError) -> JSONResponse:
        return _answer(error)

    @app.exception_handler(RatecardError)
    async def _ratecard(_: Request, error: RatecardError) -> JSONResponse:
        return _answer(from_ratecard(error))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"index": None, "field": _location(tuple(e.get("loc", ()))), "reason": str(e["msg"])}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": None, "reason": "invalid request"}
        return _answer(
            invalid(
                f"invalid request: {first['reason']}",
                first["field"],
                problems if len(problems) > 1 else None,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(error.status_code, "http_error")
        # the headers carry what the status promises (a 405's Allow)
        return _answer(
            ApiError(error.status_code, code, str(error.detail), headers=dict(error.headers or {}))
        )

    # Any other exception is a bug: ratecard.api.guard.Guard logs it with the request id and
    # answers 500 in this shape without resetting the connection (an exception handler for
    # Exception here would answer and then re-raise, and the server resets the connection).
