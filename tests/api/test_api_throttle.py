"""Brute force (issue 12 item 7): failed authentications are throttled per sid and per client
address with 429 and Retry-After, without running the scrypt check while throttled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from ratecard.api import create_app, deps

from .conftest import NOW, Server, running

PER_SID, PER_CLIENT, WINDOW = 3, 5, 60


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttled(server: Server) -> Iterator[tuple[str, FakeTimer]]:
    """A second server on the same store with small limits and a fake timer."""
    timer = FakeTimer()
    settings = replace(
        server.settings,
        auth_failures_per_sid=PER_SID,
        auth_failures_per_client=PER_CLIENT,
        auth_window_seconds=WINDOW,
    )
    with running(create_app(settings, clock=lambda: NOW, timer=timer)) as url:
        yield url, timer


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = deps.token_matches

    def counted(token: str, stored: str) -> bool:
        calls.append(token)
        return real(token, stored)

    monkeypatch.setattr(deps, "token_matches", counted)
    return calls


def _get(url: str, sid: str, token: str) -> httpx.Response:
    with httpx.Client(base_url=url, auth=(sid, token), timeout=30) as client:
        return client.get(f"/v1/accounts/{sid}")


def test_failures_on_a_sid_are_throttled_then_allowed_after_the_window(
    server: Server, throttled: tuple[str, FakeTimer], scrypt_calls: list[str]
) -> None:
    url, timer = throttled
    sid, token = server.other
    for n in range(PER_SID):
        assert _get(url, sid, f"wrong-{n}").status_code == 401
    assert len(scrypt_calls) == PER_SID
    blocked = _get(url, sid, "wrong-again")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(blocked.headers["Retry-After"]) <= WINDOW
    # the right token, never verified on this server, is not hashed while throttled either
    assert _get(url, sid, token).status_code == 429
    assert len(scrypt_calls) == PER_SID
    # another sid from the same client is not throttled by these failures
    assert _get(url, *server.marketing).status_code == 200
    timer.now += WINDOW + 1
    assert _get(url, sid, token).status_code == 200


def test_a_verified_token_still_passes_while_its_sid_is_throttled(
    server: Server, throttled: tuple[str, FakeTimer], scrypt_calls: list[str]
) -> None:
    url, _ = throttled
    sid, token = server.flex
    assert _get(url, sid, token).status_code == 200  # verified once, remembered
    for n in range(PER_SID):
        assert _get(url, sid, f"wrong-{n}").status_code == 401
    assert _get(url, sid, "wrong").status_code == 429
    before = len(scrypt_calls)
    assert _get(url, sid, token).status_code == 200
    assert len(scrypt_calls) == before


def test_failures_from_one_client_across_sids_are_throttled_per_client(
    server: Server, throttled: tuple[str, FakeTimer]
) -> None:
    url, timer = throttled
    sids = [f"AC{n:032x}" for n in range(PER_CLIENT)]
    for sid in sids:
        assert _get(url, sid, "guess").status_code == 401
    answer = _get(url, f"AC{99:032x}", "guess")
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) == WINDOW
    timer.now += 30
    assert int(_get(url, sid, "guess").headers["Retry-After"]) == WINDOW - 30
    timer.now += 31
    assert _get(url, f"AC{99:032x}", "guess").status_code == 401
