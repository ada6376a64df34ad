"""SPEC section 4's worked examples, priced from books through the public API and the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from ratecard import Month, load_book
from ratecard.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _lines(book: str, month: str) -> dict[tuple[str, str | None], tuple[Decimal, Decimal]]:
    (invoice,) = load_book(EXAMPLES / book / "book.toml").invoices(Month.parse(month))
    return {(ln.category, ln.tier_label): (ln.quantity, ln.amount) for ln in invoice.lines}


def test_voice_pool_total_is_6508_not_the_articles_6580() -> None:
    # 200,000 x 0.0085 + 200,000 x 0.013 + 100,000 x 0.022 = 1,700 + 2,600 + 2,200 = 6,500.00
    # for the first 500,000 pooled minutes, then 1,000 inbound local minutes at the volume rate
    # 0.0080 = 8.00. 6,500 + 8 = 6,508.00: the article's "$6,580" transposes two digits.
    (invoice,) = load_book(EXAMPLES / "voice-volume" / "book.toml").invoices(Month(2026, 7))
    assert invoice.total == Decimal("6508.00")
    assert str(invoice.total) == "6508.00"


def test_voice_pool_lines_split_at_the_500000_minute_threshold() -> None:
    assert _lines("voice-volume", "2026-07") == {
        ("calls-inbound-local", "first 500,000"): (Decimal(200000), Decimal("1700.00")),
        ("calls-outbound", "first 500,000"): (Decimal(200000), Decimal("2600.00")),
        ("calls-inbound-tollfree", "first 500,000"): (Decimal(100000), Decimal("2200.00")),
        ("calls-inbound-local", "over 500,000"): (Decimal(1000), Decimal("8.00")),
    }


def test_number_pool_total_is_1250() -> None:
    # 800 x 1.00 + 200 x 2.00 = 1,200.00 fill the 1,000-charge threshold; 100 x 0.50 = 50.00.
    assert _lines("number-volume", "2026-07") == {
        ("phonenumbers-local", "first 1,000"): (Decimal(800), Decimal("800.00")),
        ("phonenumbers-tollfree", "first 1,000"): (Decimal(200), Decimal("400.00")),
        ("phonenumbers-local", "over 1,000"): (Decimal(100), Decimal("50.00")),
    }


def test_number_anniversaries_next_month_repeat_the_same_pool_order() -> None:
    # In August every number is charged again on its anniversary day: the 1,000 numbers bought
    # July 1-10 come first (1,200.00), the 100 bought July 20 pay the volume price (50.00).
    (invoice,) = load_book(EXAMPLES / "number-volume" / "book.toml").invoices(Month(2026, 8))
    assert invoice.total == Decimal("1250.00")


def test_cli_json_prints_every_number_as_a_decimal_string() -> None:
    book = str(EXAMPLES / "voice-volume" / "book.toml")
    result = CliRunner().invoke(app, ["invoice", book, "--month", "2026-07", "--format", "json"])
    assert result.exit_code == 0, result.output
    (invoice,) = json.loads(result.stdout)["invoices"]
    assert invoice["total"] == "6508.00"
    assert invoice["month"] == "2026-07"
    assert invoice["currency"] == "USD"
    over = [ln for ln in invoice["lines"] if ln["tier"] == "over 500,000"]
    assert over == [
        {
            "category": "calls-inbound-local",
            "description": "Inbound voice minutes to local numbers",
            "kind": "usage",
            "pool": "us-canada-voice",
            "tier": "over 500,000",
            "quantity": "1000",
            "unit": "minutes",
            "unit_price": "0.0080",
            "precise_amount": "8.0000",
            "amount": "8.00",
            "event_count": 10,
        }
    ]
