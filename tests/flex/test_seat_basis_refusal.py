"""The User + Usage deflexification refusal projects next cycle's seats with the catalog's
seat basis (SPEC sections 2 and 5), through the service, the CLI and the API.

The flex-user-usage book (parent Usage Co, filing on Jul 10, 2026): alice, bob, carol and dave
logged in to Flex in July (erin only in June), so under the shipped ``login`` basis 4 x $35.00
= $140.00 is due next cycle if they log in again, whatever Workers exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ratecard import Month
from ratecard.catalog.load import resolve
from ratecard.cli.main import app
from ratecard.errors import DeflexRefused
from ratecard.service import deflex
from ratecard.service.ingest import ingest_batch

from .conftest import Store, call_api

UU = "ACf1c0f1c0f1c0f1c0f1c0f1c0f1c0f1c0"
FIXTURE = Path(__file__).resolve().parents[1] / "deflex" / "fixtures" / "acme_flex_resources.json"
FILED = datetime(2026, 7, 10, 9, tzinfo=UTC)
WK1, WK2, WK3 = ("WK" + f"{b:02x}" * 16 for b in (0xF1, 0xF2, 0xF3))


def _with_resources(store: Store) -> Store:
    """Import the three-Worker resource export (alice, bob, carla) re-homed to ``UU``."""
    data = json.loads(re.sub(r"AC[0-9a-f]{32}", UU, FIXTURE.read_text()))
    deflex.import_resources(store.db, UU, data)
    return store


def _refusal(store: Store) -> DeflexRefused:
    with pytest.raises(DeflexRefused) as caught:
        deflex.file_request(store.db, UU, "stop_billing", UU, True, FILED, settings=store.settings)
    return caught.value


def test_login_basis_projects_the_users_who_logged_in_this_month(
    stored_book: Callable[[str], Store],
) -> None:
    store = _with_resources(stored_book("flex-user-usage"))
    refused = _refusal(store)
    assert refused.seat_basis == "login"
    assert refused.users == ("alice", "bob", "carol", "dave")
    assert refused.workers == ()  # three Workers exist, but they are not seats by login
    assert refused.projected_charge == Decimal("140.00")  # 4 x 35.00
    assert refused.command is None  # deleting Workers would not stop it
    assert "deleting TaskRouter Workers does not stop it" in refused.reason
    assert refused.stops_charge is not None
    assert "users who do not log in again" in refused.stops_charge


def test_login_basis_refusal_on_the_cli_and_the_api(stored_book: Callable[[str], Store]) -> None:
    store = _with_resources(stored_book("flex-user-usage"))
    # the CLI files at the real "now": two users log in at the start of the current month
    this_month = Month.of(datetime.now(UTC)).start.isoformat()
    logins = [
        {
            "type": "flex_login",
            "id": f"now-{user}",
            "account": UU,
            "time": this_month,
            "user": user,
            "role": "agent",
        }
        for user in ("zoe", "yan")
    ]
    ingest_batch(store.db, logins, store.settings)
    shown = CliRunner().invoke(
        app, ["deflex", "request", UU, "--intent", "stop_billing", "--accept-billing-change"]
    )
    assert shown.exit_code == 1
    assert "Projected seat charge next cycle: 2 x 35.00 USD = 70.00 USD" in shown.stderr
    assert "  - yan\n  - zoe\n" in shown.stderr
    assert "ratecard flex workers delete" not in shown.stderr

    body = {"intent": "stop_billing", "accept_billing_change": True}
    answer = call_api(store, "POST", f"/v1/accounts/{UU}/deflex/requests", UU, FILED, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "deflex_refused"
    assert "Projected seat charge next cycle: 4 x 35.00 USD = 140.00 USD" in error["message"]
    assert "  - alice" in error["message"]


@pytest.fixture
def by_worker(store: Store, tmp_path: Path) -> Store:
    """The same store priced with a catalog counting User + Usage seats by worker."""
    text = resolve("us").read_text()
    catalog = tmp_path / "workers.toml"
    catalog.write_text(text.replace('seat_basis = "login"', 'seat_basis = "worker_exists"'))
    return replace(store, settings=replace(store.settings, catalog=str(catalog)))


def test_worker_basis_projects_the_workers_that_will_still_exist(
    stored_book: Callable[[str], Store], by_worker: Store
) -> None:
    store = _with_resources(stored_book("flex-user-usage"))
    workers = [
        {
            "type": "worker_created",
            "id": "wc-1",
            "account": UU,
            "time": "2026-06-01T09:00:00Z",
            "worker": WK1,
        },
        {
            "type": "worker_created",
            "id": "wc-2",
            "account": UU,
            "time": "2026-06-01T09:00:00Z",
            "worker": WK2,
        },
        {
            "type": "worker_created",
            "id": "wc-9",
            "account": UU,
            "time": "2026-06-02T09:00:00Z",
            "worker": "WK-unlisted",
        },
        # deleted this month: still a seat in July, not from August
        {
            "type": "worker_deleted",
            "id": "wd-1",
            "account": UU,
            "time": "2026-07-05T09:00:00Z",
            "worker": WK1,
        },
    ]
    ingest_batch(store.db, workers, store.settings)
    refused = _refusal(by_worker)
    assert refused.seat_basis == "worker_exists"
    assert refused.users == ()  # logins are not seats by worker
    # WK2 (bob, in the resources) and WK-unlisted (events only); WK3 (carla) has no
    # worker_created event, so no invoice would charge it: 2 x 35.00 = 70.00
    assert [(w.sid, w.friendly_name) for w in refused.workers] == [
        ("WK-unlisted", "not in the imported resources"),
        (WK2, "bob@example.com"),
    ]
    assert refused.projected_charge == Decimal("70.00")
    assert (
        refused.command == f"ratecard flex workers delete {UU} --worker WK-unlisted --worker {WK2}"
    )
    assert "delete the Workers and the seat charge stops from the next billing cycle" in (
        refused.reason
    )
