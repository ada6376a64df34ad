"""The web console under test: one uvicorn server on a free loopback port, and chromium.

The store is a SQLite file seeded with the demo tenant (a parent, two subaccounts, a month of
usage up to a fixed "now"), whose June invoice is finalized and July draft generated; three
accounts created with Flex on Named User (one to switch plans, one whose deflexification
request support rejects, one whose request support processes), the first with the Flex
resources of the deflexification fixture; and the support user "ana".

Chromium is Debian's (``make test`` installs it); without it these tests fail, never skip.
Screenshots go to ``build/screenshots/`` (git-ignored), one per page.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from ratecard.api import create_app
from ratecard.periods import Month
from ratecard.service import flex as flex_service
from ratecard.service import invoices as invoice_service
from ratecard.service.accounts import create_account
from ratecard.service.deflex import import_resources
from ratecard.service.demo import ensure_demo
from ratecard.service.settings import Settings
from ratecard.service.support import add_support_user
from ratecard.store.database import Database

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
RESOURCES = ROOT / "tests" / "deflex" / "fixtures" / "acme_flex_resources.json"

Login = tuple[str, str]


@dataclass(frozen=True)
class Console:
    url: str
    parent: Login
    subaccount: Login
    flex: Login
    reject_flex: Login
    process_flex: Login
    support: Login

    def api(self, login: Login) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=login, timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def flex_account(db: Database, settings: Settings, name: str) -> Login:
    """A new account created with Flex, on Named User since 2026-01-01."""
    account, token = create_account(db, name, None, date(2025, 1, 1), True)
    flex_service.change_plan(
        db,
        account.sid,
        "enable",
        "named-user",
        date(2026, 1, 1),
        date(2026, 1, 1),
        settings=settings,
    )
    return account.sid, token


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    path = tmp_path_factory.mktemp("console") / "console.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    db = Database(settings.database_url)
    db.upgrade()
    parent, subaccount, _ = ensure_demo(db, settings, NOW)
    june, july = Month.parse("2026-06"), Month.parse("2026-07")
    invoice_service.generate(db, june, settings, parent.sid, NOW)
    invoice_service.finalize(db, june, parent.sid, NOW)
    invoice_service.generate(db, july, settings, parent.sid, NOW)
    flex = flex_account(db, settings, "Flex Co")
    text = re.sub(
        r'"account_sid": "AC[0-9a-f]{32}"', f'"account_sid": "{flex[0]}"', RESOURCES.read_text()
    )
    import_resources(db, flex[0], json.loads(text), NOW)
    reject_flex = flex_account(db, settings, "Flex Reject Co")
    process_flex = flex_account(db, settings, "Flex Process Co")
    support = ("ana", add_support_user(db, "ana"))
    app = create_app(settings, clock=lambda: NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the console's server did not start"
        time.sleep(0.02)
    try:
        yield Console(
            url=f"http://127.0.0.1:{port}",
            parent=(parent.sid, parent.token),
            subaccount=(subaccount.sid, subaccount.token),
            flex=flex,
            reject_flex=reject_flex,
            process_flex=process_flex,
            support=support,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium for this package's tests only: Playwright's sync API runs an event loop in
    this thread while it is open, which the rest of the suite's ``asyncio.run`` refuses."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make test' (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = browser.new_context(base_url=console.url, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page: Page, login: Login, target: str = "") -> None:
    """Log in through the form (by mouse: the keyboard path has a test of its own), landing
    on ``target`` (else the login's home page)."""
    page.goto("/console/login" + (f"?next={target}" if target else ""))
    page.get_by_label("Account SID or support user name").fill(login[0])
    page.get_by_label("Auth token").fill(login[1])
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
