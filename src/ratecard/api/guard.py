"""The outermost layer of every HTTP request: a request id, body limits, and the last resort.

A pure ASGI middleware (no buffering), so it sees bytes as they arrive:

* **Request id.** Every request gets one; every answer carries it as ``X-Request-Id``, and an
  unexpected error is logged with it and its traceback, so a client's report finds the log.
* **Body limits.** A declared ``Content-Length`` over the route's limit is refused before a
  byte is read; a body without one (chunked) is counted as it streams and refused as soon as
  it passes the limit, so an oversized body never costs more memory than the limit. Event
  batches (``POST /v1/events``) get a large limit, every other route a small one (Settings).
* **The last resort.** Any exception that no handler answered becomes a 500 in the one error
  shape, and is not re-raised: re-raising makes the server reset the connection, which a
  keep-alive client sees as a network failure instead of an answer.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ratecard.api.errors import ApiError, body

log = logging.getLogger("ratecard.api")

REQUEST_ID = "x-request-id"
#: a client's own request id is kept only if it is short and plain (it is logged and echoed)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class BodyTooLargeError(ApiError):
    """The request body passed the route's limit (raised while it streams in)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "payload_too_large",
            f"a request body on this route may hold at most {limit} bytes",
            headers={"Connection": "close"},
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID.encode():
            text: str = value.decode("latin-1")
            if _CLIENT_ID.match(text):
                return text
    return str(uuid.uuid4().hex)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 19 else None
    return None


def request_id(scope: Scope) -> str | None:
    """The id :class:`Guard` gave this request (None outside it)."""
    rid: str | None = scope.get("state", {}).get("request_id")
    return rid


class Guard:
    """See the module docstring; ``limit(path)`` is the body limit of a route, in bytes."""

    def __init__(self, app: ASGIApp, limit: Callable[[str], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        limit = self.limit(scope["path"])
        started = False
        too_large: BodyTooLargeError | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", ()), (REQUEST_ID.encode(), rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        async def answer(message: Message) -> None:
            # once the body passed the limit, the app's answer (FastAPI turns a failed body
            # read into a 400 of its own) is replaced by the 413
            if too_large is None:
                await send_with_id(message)
            elif message["type"] == "http.response.start" and not started:
                await _error(send_with_id, too_large)

        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _error(send_with_id, BodyTooLargeError(limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = BodyTooLargeError(limit)
                    raise too_large
            return message

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if started:  # half an answer is out: only closing the connection can say so
                raise
            if too_large is not None:
                await _error(send_with_id, too_large)
                return
            log.exception(
                "unexpected error in %s %s (request id %s)", scope["method"], scope["path"], rid
            )
            await _error(
                send_with_id,
                ApiError(
                    500,
                    "internal_error",
                    f"internal error; it has been logged with request id {rid}",
                ),
            )


async def _error(send: Send, error: ApiError) -> None:
    content = json.dumps(body(error.code, error.message, error.field, error.problems)).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def limits(events_path: str, events_limit: int, other_limit: int) -> Callable[[str], int]:
    """The body limit of each path: ``events_limit`` on the event batch route, else the other."""

    def limit(path: str) -> int:
        return events_limit if path.rstrip("/") == events_path else other_limit

    return limit
