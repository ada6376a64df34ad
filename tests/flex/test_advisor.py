"""The plan advisor prices one month under every plan and standard billing (hand-computed)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from ratecard import Month, load_book
from ratecard.cli.main import app
from ratecard.flex.advisor import compare

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
