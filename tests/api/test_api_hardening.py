"""Hardening of the HTTP layer (issue 12 items 5 and 6): body limits enforced while the body
streams in, short error texts, and unexpected errors answered in the one shape on a
connection that stays usable."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ratecard.service import invoices as invoice_service

from .conftest import Server

CHUNK = b"x" * 65536


def _rss() -> int:
    """This process's resident set size in bytes (the test server runs in it)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _stream(total: int, head: bytes = b"") -> Iterator[bytes]:
    yield head
    for _ in range(total // len(CHUNK)):
        yield CHUNK


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text[:300]
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) <= {"code", "message", "field", "problems"}
    return error


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversized_event_batch_is_refused_while_it_streams(
    server: Server, declared: bool
) -> None:
    """200 MB to /v1/events: 413 without the server holding the body (before: +363 MB RSS)."""
    size = 200 * 1024 * 1024
    before = _rss()
    with server.client(server.other) as client:
        if declared:
            headers = {"Content-Length": str(size), "Content-Type": "application/json"}
            answer = client.post("/v1/events", content=_stream(size), headers=headers)
        else:  # chunked: no length announced, so only counting the bytes can stop it
            answer = client.post("/v1/events", content=_stream(size, b'{"events": ['))
    error = _error(answer, 413)
    assert error["code"] == "payload_too_large"
    assert _rss() - before < 60 * 1024 * 1024


def test_other_routes_have_a_small_body_limit(server: Server) -> None:
    """A 1 MB month string (before: read whole, and a 200 MB one cost +979 MB)."""
    sid = server.other[0]
    month = "9" * (1024 * 1024)
    with server.client(server.other) as client:
        answer = client.post(f"/v1/accounts/{sid}/invoices", json={"month": month})
        assert _error(answer, 413)["code"] == "payload_too_large"
        chunked = client.post(
            f"/v1/accounts/{sid}/invoices", content=_stream(1024 * 1024, b'{"month": "')
        )
        assert _error(chunked, 413)["code"] == "payload_too_large"
        # a body under the limit is read and judged (no side effect: other tests list invoices)
        assert _error(client.post(f"/v1/accounts/{sid}/invoices", json={"month": "May"}), 422)


def test_errors_quote_only_a_short_excerpt_of_the_input(server: Server) -> None:
    sid = server.other[0]
    long = "x" * 60_000
    with server.client(server.other) as client:
        answers = [
            client.post(f"/v1/accounts/{sid}/invoices", json={"month": long}),
            client.post(f"/v1/accounts/{sid}/invoices", json={"month": "2026-07", long: 1}),
            client.post(
                "/v1/events",
                json={"events": [{"type": "usage", "id": long, "account": sid, long: 1}]},
            ),
            client.get(
                f"/2010-04-01/Accounts/{server.other[0]}/Usage/Records.json",
                params={"StartDate": long},
            ),
        ]
    for answer in answers:
        assert 400 <= answer.status_code < 500
        assert len(answer.content) < 6000, answer.text[:300]


def _raw_request(sock: socket.socket, path: str, auth: str) -> tuple[int, bytes, bytes]:
    """One HTTP/1.1 request on ``sock`` (kept alive); its status, head and body."""
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {auth}\r\n\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    return int(head.split(b" ")[1]), head, rest


def test_an_unexpected_error_answers_500_with_a_request_id_and_keeps_the_connection(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(invoice_service, "list_invoices", broken)
    sid, token = server.other
    auth = httpx.BasicAuth(sid, token)._auth_header.split(" ", 1)[1]
    host, port = server.url.removeprefix("http://").split(":")
    with (
        caplog.at_level(logging.ERROR, "ratecard.api"),
        socket.create_connection((host, int(port)), timeout=30) as sock,
    ):
        status, head, content = _raw_request(sock, f"/v1/accounts/{sid}/invoices", auth)
        assert status == 500
        rid = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"x-request-id:")
        )
        assert rid in content.decode()
        assert b'"code": "internal_error"' in content or b'"code":"internal_error"' in content
        # the same connection answers the next request
        status, _, _ = _raw_request(sock, f"/v1/accounts/{sid}", auth)
        assert status == 200
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


def test_every_answer_carries_a_request_id_and_405_says_allow(server: Server) -> None:
    with server.client(server.other) as client:
        answer = client.get(f"/v1/accounts/{server.other[0]}")
        assert answer.headers["x-request-id"]
        wrong = client.delete(f"/v1/accounts/{server.other[0]}")
        assert _error(wrong, 405)["code"] == "method_not_allowed"
        assert "GET" in wrong.headers["allow"]


def test_docs_render_offline_from_local_assets(server: Server) -> None:
    """/docs names no URL outside this server, and every asset it names is served."""
    with server.client() as client:
        page = client.get("/docs").text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page)
        names = [a or b for a, b in urls]
        assert any(n.endswith("swagger-ui-bundle.js") for n in names)
        assert any(n.endswith(".css") for n in names)
        for name in names:
            assert name.startswith("/"), f"/docs loads {name} from elsewhere"
            assert client.get(name).status_code == 200, name
        assert "https://" not in page.replace("https://swagger.io", "")


def test_a_request_id_of_non_ascii_digits_is_404_not_500(server: Server) -> None:
    """Found by schemathesis: "¹" passed str.isdigit() and int() then raised."""
    with server.client(server.support_user) as client:
        assert _error(client.get("/v1/deflex/requests/%C2%B9"), 404)["code"] == "not_found"
