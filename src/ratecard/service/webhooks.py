"""Delivering trigger webhooks from the durable outbox, signed like the vendor.

The signature is the vendor's: header ``X-Twilio-Signature`` = base64(HMAC-SHA1(key, URL +
each POST parameter's name and value, sorted by name)); a GET callback carries the parameters
in its query string and signs the full URL alone. The key is the account's webhook signing
key (:func:`ratecard.service.triggers.signing_key`), not its auth token: tokens are stored
hashed, so the server cannot sign with them. The vendor's ``RequestValidator`` verifies it
when given that key.

Delivery is at least once: a worker claims a due row by moving its ``next_attempt_at`` forward
by a lease in one conditional UPDATE (several workers or processes never send the same row at
once; a worker that dies mid-attempt leaves the row to be retried when the lease ends), sends
it, and records the attempt. A 2xx answer delivers it; anything else is retried with
exponential backoff (``BASE_DELAY * 2**(attempt-1)``, capped) up to ``MAX_ATTEMPTS``, then
the row is ``failed``. ``IdempotencyToken`` lets a receiver drop a repeat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update

from ratecard.service.triggers import get_trigger
from ratecard.store.database import Database
from ratecard.store.tables import (
    WebhookAttemptRow,
    WebhookKeyRow,
    WebhookOutboxRow,
)

log = logging.getLogger("ratecard.webhooks")

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
LEASE = timedelta(minutes=2)
TIMEOUT_SECONDS = 10.0
BATCH = 50


def signature(key: str, url: str, params: Mapping[str, str]) -> str:
    """The vendor's X-Twilio-Signature of a request to ``url`` with POST ``params``."""
    text = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(key.encode(), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based)."""
    delay: timedelta = BASE_DELAY * (2 ** (attempt - 1))
    return min(delay, MAX_DELAY)


@dataclass(frozen=True)
class Request:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None


def build(url: str, method: str, params: Mapping[str, str], key: str) -> Request:
    """The signed HTTP request of one webhook."""
    headers = {"User-Agent": "ratecard-webhooks", "I-Twilio-Idempotency-Token": ""}
    headers["I-Twilio-Idempotency-Token"] = params.get("IdempotencyToken", "")
    if method == "GET":
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode(params)) if q)
        full = urlunsplit(parts._replace(query=query))
        headers["X-Twilio-Signature"] = signature(key, full, {})
        return Request(full, "GET", headers, None)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = signature(key, url, params)
    return Request(url, "POST", headers, urlencode(params).encode())


def send(request: Request) -> int:
    """Send ``request``; its HTTP status (raises OSError when nothing answered)."""
    sent = urllib.request.Request(
        request.url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(sent, timeout=TIMEOUT_SECONDS) as answer:
            status: int = answer.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


Sender = Callable[[Request], int]


def _claim(db: Database, now: datetime, limit: int) -> list[int]:
    with db.session() as session:
        due = session.execute(
            select(WebhookOutboxRow.id, WebhookOutboxRow.next_attempt_at)
            .where(WebhookOutboxRow.status == "pending", WebhookOutboxRow.next_attempt_at <= now)
            .order_by(WebhookOutboxRow.next_attempt_at, WebhookOutboxRow.id)
            .limit(limit)
        ).all()
        session.rollback()
    claimed = []
    for row_id, seen in due:
        with db.session() as session:
            result = session.execute(
                update(WebhookOutboxRow)
                .where(
                    WebhookOutboxRow.id == row_id,
                    WebhookOutboxRow.status == "pending",
                    WebhookOutboxRow.next_attempt_at == seen,
                )
                .values(next_attempt_at=now + LEASE)
            )
            session.commit()
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(row_id)
    return claimed


def _attempt(db: Database, row_id: int, now: datetime, sender: Sender) -> str:
    with db.session() as session:
        row = session.get(WebhookOutboxRow, row_id)
        assert row is not None
        key = session.get(WebhookKeyRow, row.account_sid)
        url, method, params = row.url, row.method, json.loads(row.params)
    code: int | None = None
    error: str | None = None
    began = time.monotonic()
    try:
        if key is None:
            raise LookupError(f"account {row.account_sid} has no webhook signing key")
        code = sender(build(url, method, params, key.signing_key))
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except (OSError, ValueError, LookupError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finished = now + timedelta(seconds=time.monotonic() - began)
    with db.session() as session:
        row = session.get(WebhookOutboxRow, row_id)
        if row is None:  # the trigger was deleted meanwhile
            return "deleted"
        row.attempts += 1
        session.add(
            WebhookAttemptRow(
                outbox_id=row_id,
                attempt=row.attempts,
                started_at=now,
                finished_at=finished,
                status_code=code,
                error=error,
            )
        )
        if error is None:
            row.status, row.delivered_at, row.last_error = "delivered", now, None
        else:
            row.last_error = error
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = now + backoff(row.attempts)
        session.commit()
        return row.status


@dataclass
class Pass:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_pass(
    db: Database, now: datetime | None = None, sender: Sender = send, limit: int = BATCH
) -> Pass:
    """Send every due outbox row once (at most ``limit``); record each attempt."""
    moment = now or datetime.now(UTC)
    result = Pass()
    for row_id in _claim(db, moment, limit):
        status = _attempt(db, row_id, moment, sender)
        if status == "delivered":
            result.delivered += 1
        elif status == "failed":
            result.failed += 1
        elif status == "pending":
            result.retrying += 1
    return result


class Worker:
    """A daemon thread that runs a delivery pass every ``interval`` seconds."""

    def __init__(self, db: Database, clock: Callable[[], datetime], interval: float = 1.0) -> None:
        self.db, self.clock, self.interval = db, clock, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ratecard-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                deliver_pass(self.db, self.clock())
            except Exception:  # keep delivering; the outbox keeps the rows
                log.exception("webhook delivery pass failed")


def deliveries(db: Database, account: str, trigger_sid: str) -> list[dict[str, Any]]:
    """The delivery log of a trigger: each webhook with its attempts, oldest first."""
    get_trigger(db, account, trigger_sid)  # or NotFoundError
    with db.session() as session:
        rows = session.scalars(
            select(WebhookOutboxRow)
            .where(WebhookOutboxRow.trigger_sid == trigger_sid)
            .order_by(WebhookOutboxRow.id)
        ).all()
        attempts = session.scalars(
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.outbox_id.in_([r.id for r in rows]))
            .order_by(WebhookAttemptRow.outbox_id, WebhookAttemptRow.attempt)
        ).all()
        by_row: dict[int, list[dict[str, Any]]] = {}
        for a in attempts:
            by_row.setdefault(a.outbox_id, []).append(
                {
                    "attempt": a.attempt,
                    "started_at": _iso(a.started_at),
                    "finished_at": _iso(a.finished_at),
                    "status_code": a.status_code,
                    "error": a.error,
                }
            )
        result = []
        for r in rows:
            params = json.loads(r.params)
            result.append(
                {
                    "id": r.id,
                    "idempotency_token": params.get("IdempotencyToken"),
                    "url": r.url,
                    "method": r.method,
                    "status": r.status,
                    "attempts": r.attempts,
                    "created_at": _iso(r.created_at),
                    "next_attempt_at": _iso(r.next_attempt_at) if r.status == "pending" else None,
                    "delivered_at": _iso(r.delivered_at),
                    "last_error": r.last_error,
                    "current_value": params.get("CurrentValue"),
                    "log": by_row.get(r.id, []),
                }
            )
        return result


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
