"""The plan advisor prices one month under every plan and standard billing (hand-computed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from ratecard import Month, load_book
from ratecard.billing.advisor import compare
from ratecard.billing.monthly import bill_month
from ratecard.cli.main import app
from ratecard.flex.history import FlexInstance, PlanPeriod, remove_flex

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NU = "ACf1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0"
UU = "ACf1c0f1c0f1c0f1c0f1c0f1c0f1c0f1c0"


def _options(book: str, account: str) -> dict[str, tuple[Decimal, Decimal, bool, bool]]:
    loaded = load_book(EXAMPLES / book / "book.toml")
    options = compare(
        loaded.catalog, loaded.accounts, loaded.events, loaded.flex, account, Month(2026, 7)
    )
    return {o.plan: (o.flex_fee, o.total, o.allowed, o.irreversible) for o in options}


def test_advisor_prices_a_named_user_month_under_every_option() -> None:
    assert _options("flex-named-user", NU) == {
        # current: 5 seats x 150 + 500 tasks over quota 1.25 + unbundled voice 0.07 + 0.08
        "named-user": (Decimal("750.00"), Decimal("751.40"), True, False),
        # 5 users x 100 h = 500 h x 1.00 (no free hours: the instance did not start on AUH);
        # quota 10 x 500 h = 5,000 tasks, so the same 1.25 overage; same unbundled voice
        "active-user-hours": (Decimal("500.00"), Decimal("501.40"), True, False),
        # 5 logins x 35 + 5,500 tasks 13.75 + 1,200 Studio 1.20 + standard voice 0.12 + 0.04;
        # refused: the account was created with Flex
        "user-usage": (Decimal("175.00"), Decimal("190.11"), False, True),
        # no plan fee: tasks, Studio and standard voice only
        "standard": (Decimal("0.00"), Decimal("15.11"), True, False),
    }


def test_advisor_on_user_usage_refuses_every_way_back() -> None:
    options = _options("flex-user-usage", UU)
    assert {plan: allowed for plan, (_, _, allowed, _) in options.items()} == {
        "named-user": False,
        "active-user-hours": False,
        "user-usage": True,
        "standard": False,
    }
    assert options["user-usage"][1] == Decimal("212.59")


def test_advisor_json_names_the_refusing_rule_and_flags_irreversible_choices() -> None:
    book = str(EXAMPLES / "flex-named-user" / "book.toml")
    result = CliRunner().invoke(
        app, ["flex", "compare", NU, "--month", "2026-07", "--book", book, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    options = {o["plan"]: o for o in json.loads(result.stdout)["options"]}
    assert options["user-usage"]["irreversible"] is True
    assert options["user-usage"]["refusals"][0]["rule"] == (
        "user-usage-needs-account-created-without-flex"
    )
    assert options["active-user-hours"]["difference"] == "-250.00"
    assert options["named-user"]["current"] is True


LEAVING = "ACf1d0f1d0f1d0f1d0f1d0f1d0f1d0f1d0"
DEFLEXIFIED = EXAMPLES / "flex-deflexified" / "book.toml"


def test_the_current_row_of_a_deflexified_month_is_that_months_invoice() -> None:
    loaded = load_book(DEFLEXIFIED)
    (invoice,) = loaded.invoices(Month(2026, 7))
    options = compare(
        loaded.catalog, loaded.accounts, loaded.events, loaded.flex, LEAVING, Month(2026, 7)
    )
    (current,) = [o for o in options if o.current]
    # the book's hand-computed invoice: Named User until Jul 16 (3 seats x 150 = 450.00),
    # standard billing after; 450.00 + 0.50 + 0.30 + 0.04 + 0.05 + 0.09 = 450.98
    assert (current.plan, current.flex_fee, current.total) == (
        "as-invoiced",
        Decimal("450.00"),
        Decimal("450.98"),
    )
    assert current.total == invoice.total
    assert (
        current.name == "As invoiced: Named User, then Standard billing (no Flex) from 2026-07-16"
    )
    assert [(s.plan, s.start.day, s.end.day) for s in current.segments] == [
        ("named-user", 1, 16),
        ("standard", 16, 1),
    ]
    rows = {o.plan: o for o in options if not o.current}
    assert list(rows) == ["named-user", "active-user-hours", "user-usage", "standard"]
    # whole month on Named User: ann, ben, cat and dan (Jul 20) 4 x 150 = 600.00; 300 tasks
    # and 300 engagements within the 4,000 quotas; 20 minutes unbundled 0.08 + 0.09
    assert (rows["named-user"].flex_fee, rows["named-user"].total) == (
        Decimal("600.00"),
        Decimal("600.17"),
    )
    assert rows["named-user"].difference == Decimal("149.19")  # 600.17 - 450.98
    # whole month without Flex: 300 tasks 0.75 + 300 engagements 0.30 + 20 inbound 0.17
    assert rows["standard"].total == Decimal("1.22")
    assert rows["standard"].difference == Decimal("-449.76")  # 1.22 - 450.98
    for row in rows.values():
        assert row.note.startswith(f"The whole month under {row.name}, for comparison")
        assert "the invoice changed on 2026-07-16" in row.note


def test_a_month_on_one_plan_throughout_keeps_that_plans_row_as_current() -> None:
    options = _options("flex-named-user", NU)
    assert "as-invoiced" not in options
    assert options["named-user"][1] == Decimal("751.40")  # the book's invoice


def test_flex_enabled_mid_month_is_invoiced_in_the_current_row() -> None:
    loaded = load_book(EXAMPLES / "flex-named-user" / "book.toml")
    mid = {NU: FlexInstance(NU, (PlanPeriod("named-user", datetime(2026, 7, 20, tzinfo=UTC)),))}
    options = compare(loaded.catalog, loaded.accounts, loaded.events, mid, NU, Month(2026, 7))
    (invoice,) = bill_month(
        loaded.catalog, loaded.accounts, loaded.events, Month(2026, 7), flex=mid
    )
    (current,) = [o for o in options if o.current]
    assert current.plan == "as-invoiced"
    assert (
        current.name == "As invoiced: Standard billing (no Flex), then Named User from 2026-07-20"
    )
    assert current.total == invoice.total
    named = next(o for o in options if o.plan == "named-user")
    assert named.total == Decimal("751.40")  # the whole month on Named User, as the book
    assert named.difference == Decimal("751.40") - invoice.total


def test_the_advisor_command_on_a_book_prints_the_invoice_as_the_current_row() -> None:
    runner = CliRunner()
    args = ["flex", "compare", LEAVING, "--month", "2026-07", "--book", str(DEFLEXIFIED)]
    shown = runner.invoke(app, [*args, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    options = json.loads(shown.stdout)["options"]
    (current,) = [o for o in options if o["current"]]
    assert (current["plan"], current["total"], current["flex_fee"]) == (
        "as-invoiced",
        "450.98",
        "450.00",
    )
    assert current["segments"] == [
        {"plan": "named-user", "start": "2026-07-01T00:00:00Z", "end": "2026-07-16T00:00:00Z"},
        {"plan": "standard", "start": "2026-07-16T00:00:00Z", "end": "2026-08-01T00:00:00Z"},
    ]
    invoiced = runner.invoke(app, ["invoice", str(DEFLEXIFIED), "--month", "2026-07"])
    assert "450.98" in invoiced.stdout
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    first = next(line for line in table.stdout.splitlines() if "As invoiced" in line)
    assert "450.98" in first
    assert "450.00" in first


def test_the_way_out_of_user_usage_names_the_catalogs_seat_basis() -> None:
    loaded = load_book(EXAMPLES / "flex-user-usage" / "book.toml")
    options = compare(
        loaded.catalog, loaded.accounts, loaded.events, loaded.flex, UU, Month(2026, 7)
    )
    standard = next(o for o in options if o.plan == "standard")
    (refusal,) = standard.refusals
    assert refusal.rule == "user-usage-not-deflexifiable"
    # the shipped catalog counts seats by login: deleting Workers would not stop the charge
    assert "counts each user who logs in to Flex in a month (seat basis: login)" in (
        refusal.explanation
    )
    assert "deleting TaskRouter Workers does not stop it" in refusal.explanation


def test_a_removal_during_a_day_is_named_to_the_second() -> None:
    loaded = load_book(EXAMPLES / "flex-named-user" / "book.toml")
    removed = {NU: remove_flex(loaded.flex[NU], datetime(2026, 7, 16, 9, 30, tzinfo=UTC))}
    options = compare(loaded.catalog, loaded.accounts, loaded.events, removed, NU, Month(2026, 7))
    (current,) = [o for o in options if o.current]
    assert current.name == (
        "As invoiced: Named User, then Standard billing (no Flex) from 2026-07-16 09:30:00 UTC"
    )
    (invoice,) = bill_month(
        loaded.catalog, loaded.accounts, loaded.events, Month(2026, 7), flex=removed
    )
    assert current.total == invoice.total
