"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings

from ratecard.book import load_book
from ratecard.service.accounts import create_account
from ratecard.service.ports import Store

# CI runs the property tests derandomized (the same examples every run, so a red build always
# reproduces); developers' runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


class Receiver:
    """A webhook receiver on a free loopback port (http.server in a thread).

    It answers 500 to the first ``fail_first`` requests, then 200, and keeps every request
    (method, URL, headers, form parameters) for the test to check."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qsl

        self.requests: list[dict[str, object]] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                receiver.requests.append(
                    {
                        "method": self.command,
                        "url": f"{receiver.url.rsplit('/', 1)[0]}{self.path}",
                        "headers": dict(self.headers),
                        "params": dict(parse_qsl(body, keep_blank_values=True)),
                    }
                )
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = _handle  # noqa: N815
            do_POST = _handle  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def valid(self, key: str, request: dict[str, object]) -> bool:
        """Does ``request`` carry the vendor's signature made with ``key``?"""
        from twilio.request_validator import RequestValidator

        headers = request["headers"]
        assert isinstance(headers, dict)
        return bool(
            RequestValidator(key).validate(
                request["url"], request["params"], headers.get("X-Twilio-Signature", "")
            )
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A :class:`Receiver`, shut down after the test."""
    found = Receiver()
    yield found
    found.close()


def _store_book_accounts(db: Store, book: str) -> None:
    loaded = load_book(EXAMPLES / book / "book.toml")
    for account in sorted(loaded.accounts, key=lambda a: a.parent is not None):
        create_account(
            db,
            account.name,
            account.parent,
            account.created,
            account.created_with_flex,
            sid=account.sid,
        )


@pytest.fixture
def store_book_accounts() -> Callable[[Store, str], None]:
    """Store the accounts of an example book under their own sids (parents first), in the
    ``db`` of the test's folder (a database in tests/storage, in memory in tests/service)."""
    return _store_book_accounts


@pytest.fixture
def account(db: Store) -> str:
    """A stored parent account's sid."""
    created, _ = create_account(db, "Test", None, date(2025, 1, 1))
    return created.sid
