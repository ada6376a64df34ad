"""One-call pricing: ``ratecard.price(...)`` and ``ratecard price`` (hand-computed values)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ratecard
from ratecard.cli.main import app
from ratecard.errors import CatalogError, EventError, RatingError

BLOCKS = {
    "model": "graduated",
    "category": "storage",
    "unit": "GB",
    "tiers": [
        {"up_to": "1000", "block_size": "100", "block_price": "5.00"},
        {"rate": "0.01"},
    ],
}


def test_a_quantity_is_priced_by_the_catalogs_pool_from_an_empty_counter() -> None:
    quote = ratecard.price(600_000, category="calls-outbound")
    # the us-canada-voice pool: 500,000 x 0.013 = 6,500.000, then 100,000 x 0.012 = 1,200.000
    assert [(ln.tier_label, ln.quantity, ln.unit_price, ln.amount) for ln in quote.lines] == [
        ("first 500,000", Decimal(500_000), Decimal("0.013"), Decimal("6500.00")),
        ("over 500,000", Decimal(100_000), Decimal("0.012"), Decimal("1200.00")),
    ]
    assert (quote.charge, quote.unit, quote.total) == (
        "pool us-canada-voice",
        "minutes",
        Decimal("7700.00"),
    )


def test_a_quote_keeps_the_precise_amount_beside_the_rounded_one() -> None:
    quote = ratecard.price("1037", category="calls-outbound")
    # 1,037 x 0.013 = 13.481, rounded half-up once: 13.48
    (line,) = quote.lines
    assert (line.precise_amount, line.amount) == (Decimal("13.481"), Decimal("13.48"))
    assert (quote.precise_total, quote.total) == (Decimal("13.481"), Decimal("13.48"))


def test_events_are_priced_under_a_price_entry_in_time_order() -> None:
    events = [
        {"id": "b", "time": "2026-07-02T00:00:00Z", "quantity": "300"},
        {"id": "a", "time": "2026-07-01T00:00:00Z", "quantity": "950"},
    ]
    quote = ratecard.price(events=events, using=BLOCKS)
    # a (950) then b (300): tier 1 holds 1,000 units = 10 blocks x 5.00 = 50.00; b's other
    # 250 units x 0.01 = 2.50; total 52.50
    assert [(ln.tier, ln.quantity, ln.amount, ln.events) for ln in quote.lines] == [
        (1, Decimal(10), Decimal("50.00"), ("a", "b")),
        (2, Decimal(250), Decimal("2.50"), ("b",)),
    ]
    assert (quote.quantity, quote.unit, quote.total) == (Decimal(1250), "GB", Decimal("52.50"))


def test_percentage_events_carry_their_amounts() -> None:
    using = {"model": "percentage", "rate": "0.029", "fixed_fee": "0.30"}
    quote = ratecard.price(events=[{"amount": "100.00"}, {"amount": "10.00"}], using=using)
    # 110.00 x 0.029 = 3.19000; 2 x 0.30 fixed = 0.60; total 3.79
    assert quote.total == Decimal("3.79")


def test_a_bad_price_entry_is_refused_with_every_problem_and_its_field() -> None:
    with pytest.raises(CatalogError) as caught:
        ratecard.price(1, using={"model": "volume", "tiers": [{"rate": "1", "block_size": "2"}]})
    assert [str(p) for p in caught.value.problems] == [
        "prices[0] (usage).tiers[0]: rate: give either rate (per unit) or block_size + "
        "block_price, not both"
    ]


def test_bad_events_are_refused_naming_each_event_and_field() -> None:
    with pytest.raises(EventError) as caught:
        ratecard.price(events=[{"quantity": 1.5}, {"time": "2026-07-01"}], using=BLOCKS)
    assert [(p.where, p.field) for p in caught.value.problems] == [
        ("events[0]", "quantity"),
        ("events[1]", "time"),
    ]


def test_a_category_without_a_price_in_the_country_is_refused() -> None:
    with pytest.raises(RatingError, match="no price for 'sms-outbound' in FR"):
        ratecard.price(1, category="sms-outbound", country="FR")


def test_a_quantity_and_events_together_are_refused() -> None:
    with pytest.raises(RatingError, match="either a quantity or events"):
        ratecard.price(1, events=[], category="calls-outbound")


# the CLI -----------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_prices_a_catalog_category_as_a_table() -> None:
    result = runner.invoke(app, ["price", "--category", "calls-outbound", "--quantity", "600000"])
    assert result.exit_code == 0, result.output
    assert "first 500,000" in result.output
    assert "over 500,000" in result.output
    assert "7,700.00" in result.output
    assert "precise total 7700.000 USD" in result.output


def test_cli_prices_events_under_a_price_file_as_json(tmp_path: Path) -> None:
    price_file = tmp_path / "price.toml"
    price_file.write_text(
        'model = "graduated"\ncategory = "storage"\nunit = "GB"\n'
        '[[tiers]]\nup_to = "1000"\nblock_size = "100"\nblock_price = "5.00"\n'
        '[[tiers]]\nrate = "0.01"\n',
        encoding="utf-8",
    )
    events = tmp_path / "events.jsonl"
    events.write_text('{"id": "a", "quantity": "950"}\n{"id": "b", "quantity": "300"}\n')
    result = runner.invoke(
        app,
        ["price", "--price-file", str(price_file), "--events", str(events), "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == "52.50"
    assert data["precise_total"] == "52.50"
    lines = [(ln["tier"], ln["quantity"], ln["unit_price"], ln["amount"]) for ln in data["lines"]]
    assert lines == [
        ("first 1,000, blocks of 100", "10", "5.00", "50.00"),
        ("over 1,000", "250", "0.01", "2.50"),
    ]


def test_cli_needs_exactly_one_of_quantity_and_events() -> None:
    result = runner.invoke(app, ["price", "--category", "calls-outbound"])
    assert result.exit_code == 1
    assert "give either --quantity or --events" in result.output


EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@pytest.mark.parametrize(
    ("price_file", "events", "total"),
    [
        # 10 blocks x 5.00 + 250 x 0.01
        ("storage-blocks.toml", "storage-blocks.jsonl", "52.50"),
        # combined: 40, 60 free; 30 x 0.029 + 0.30 = 1.17; 20 x 0.029 + 0.30 = 0.88
        ("payments-combined.toml", "payments.jsonl", "2.05"),
        # peak 120 -> tier 2: 290 x 0.0030
        ("storage-peak.toml", "storage-days.jsonl", "0.87"),
    ],
)
def test_the_catalog_references_worked_examples_print_their_totals(
    price_file: str, events: str, total: str
) -> None:
    args = ["price", "--price-file", str(EXAMPLES / price_file), "--events", str(EXAMPLES / events)]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] == total


def test_a_price_entry_applies_whatever_countries_it_names() -> None:
    using = {"model": "per_unit", "countries": ["CA"], "rate": "0.25"}
    # 3 x 0.25 = 0.75: a quote of one price has no country to match
    assert ratecard.price(3, using=using).total == Decimal("0.75")


def test_a_float_quantity_is_refused_naming_the_quantity() -> None:
    with pytest.raises(EventError) as caught:
        ratecard.price(1.5, category="calls-outbound")
    assert [(p.where, p.field) for p in caught.value.problems] == [("quantity", "quantity")]
