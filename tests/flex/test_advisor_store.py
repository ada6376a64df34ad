"""The plan advisor on a stored account (service, CLI and API): in a month with a mid-month
deflexification the current row is the month's invoice (hand-computed in the book: 450.98)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from typer.testing import CliRunner

from ratecard import Month
from ratecard.cli.main import app
from ratecard.service import deflex, invoices
from ratecard.service import flex as flex_service
from ratecard.service.support import add_support_user

from .conftest import Store, call_api

LEAVING = "ACf1d0f1d0f1d0f1d0f1d0f1d0f1d0f1d0"
JULY = Month(2026, 7)
AUG_3 = datetime(2026, 8, 3, tzinfo=UTC)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _deflexified(stored_book: Callable[[str], Store]) -> Store:
    """The flex-deflexified book, its removal filed, accepted and processed for Jul 16."""
    store = stored_book("flex-deflexified")
    filed = deflex.file_request(
        store.db,
        LEAVING,
        "stop_billing",
        LEAVING,
        True,
        _at("2026-07-10T09:00:00Z"),
        settings=store.settings,
    )
    add_support_user(store.db, "sam")
    deflex.process(
        store.db, filed["request"], "sam", _at("2026-07-12T10:00:00Z"), _at("2026-07-16T00:00:00Z")
    )
    return store


def _current(options: list[dict[str, object]]) -> dict[str, object]:
    (current,) = [o for o in options if o["current"]]
    return current


def test_service_cli_and_api_advisors_show_the_months_invoice_as_current(
    stored_book: Callable[[str], Store],
) -> None:
    store = _deflexified(stored_book)
    (july,) = invoices.generate(store.db, JULY, store.settings)
    assert july.total == "450.98"

    data = flex_service.compare(store.db, LEAVING, JULY, settings=store.settings)
    current = _current(data["options"])
    assert (current["plan"], current["total"], current["flex_fee"]) == (
        "as-invoiced",
        "450.98",
        "450.00",
    )
    # then the whole-month rows, as the book advisor: Named User 4 seats 600.00 + voice 0.17
    assert [(o["plan"], o["total"]) for o in data["options"]] == [
        ("as-invoiced", "450.98"),
        ("named-user", "600.17"),
        ("active-user-hours", "1.22"),
        ("user-usage", "1.22"),
        ("standard", "1.22"),
    ]

    shown = CliRunner().invoke(
        app, ["flex", "compare", LEAVING, "--month", "2026-07", "--format", "json"]
    )
    assert shown.exit_code == 0, shown.output
    assert _current(json.loads(shown.stdout)["options"])["total"] == "450.98"

    answer = call_api(
        store, "GET", f"/v1/accounts/{LEAVING}/flex/compare?month=2026-07", LEAVING, AUG_3
    )
    assert answer.status_code == 200, answer.text
    assert _current(answer.json()["options"])["total"] == "450.98"
