"""Tiers billed in blocks (Kill Bill's tiered blocks): ``block_size`` + ``block_price``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from catalog_data import catalog_of

from ratecard.billing.adjustments import adjustment_lines
from ratecard.billing.serialize import line_to_dict
from ratecard.catalog.load import parse_catalog
from ratecard.errors import CatalogError, Problem
from ratecard.prices.graduated import GraduatedPrice
from ratecard.prices.graduated_percentage import GraduatedPercentagePrice
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.tiers import blocks
from ratecard.prices.volume import VolumePrice
from ratecard.rating.engine import rate
from ratecard.rating.lines import assemble_lines

ACCOUNT = "AC" + "3" * 32
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def usage(event_id: str, quantity: str | int, minute: int = 0, amount: str | None = None) -> Usage:
    carried = None if amount is None else Decimal(amount)
    moment = T0 + timedelta(minutes=minute)
    return Usage(event_id, ACCOUNT, moment, "c", Decimal(quantity), amount=carried)


def pieces(parts: list[Part]) -> list[tuple[Kind, int | None, Decimal, Decimal | None, Decimal]]:
    return [(p.kind, p.tier, p.quantity, p.unit_price, p.amount) for p in parts]


def graduated(*tiers: dict[str, str]) -> GraduatedPrice:
    return GraduatedPrice.model_validate({"model": "graduated", "category": "c", "tiers": tiers})


def volume(*tiers: dict[str, str]) -> VolumePrice:
    return VolumePrice.model_validate({"model": "volume", "category": "c", "tiers": tiers})


BLOCKS_THEN_RATE = (
    {"up_to": "1000", "block_size": "100", "block_price": "5.00"},
    {"rate": "0.01"},
)


@pytest.mark.parametrize(
    ("units", "size", "expected"),
    [("0", "100", 0), ("1", "100", 1), ("200", "100", 2), ("250", "100", 3), ("2.5", "0.5", 5)],
)
def test_a_started_block_counts_as_a_whole_block(units: str, size: str, expected: int) -> None:
    assert blocks(Decimal(units), Decimal(size)) == expected


def test_graduated_block_tier_bills_the_months_units_in_whole_blocks() -> None:
    parts = graduated(*BLOCKS_THEN_RATE).charge([usage("e1", 120), usage("e2", 130, 1)])
    # 120 + 130 = 250 units in tier 1: ceil(250 / 100) = 3 blocks x 5.00 = 15.00 (not per event:
    # per event it would be 2 + 2 = 4 blocks)
    assert pieces(parts) == [(Kind.USAGE, 1, Decimal(3), Decimal("5.00"), Decimal("15.00"))]
    assert parts[0].events == ("e1", "e2")
    assert parts[0].tier_label == "first 1,000, blocks of 100"


def test_graduated_block_tier_fills_by_units_then_the_next_tier_pays_its_rate() -> None:
    parts = graduated(*BLOCKS_THEN_RATE).charge([usage("e1", 950), usage("e2", 300, 1)])
    # tier 1 holds units 1..1,000: 950 + 50 of e2 = 1,000 = 10 blocks x 5.00 = 50.00;
    # e2's other 250 units pay 0.01: 2.50. Total 52.50
    assert pieces(parts) == [
        (Kind.USAGE, 2, Decimal(250), Decimal("0.01"), Decimal("2.50")),
        (Kind.USAGE, 1, Decimal(10), Decimal("5.00"), Decimal("50.00")),
    ]


def test_graduated_tiers_may_all_be_blocks_with_their_own_sizes() -> None:
    price = graduated(
        {"up_to": "100", "block_size": "50", "block_price": "2"},
        {"block_size": "1000", "block_price": "30", "flat_fee": "1"},
    )
    parts = price.charge([usage("e1", 1101)])
    # tier 1: 100 units = 2 blocks x 2 = 4; tier 2: 1,001 units = 2 blocks of 1,000 x 30 = 60,
    # plus its flat fee 1 when entered: 65
    assert sorted(pieces(parts), key=repr) == sorted(
        [
            (Kind.FLAT_FEE, 2, Decimal(1), Decimal(1), Decimal(1)),
            (Kind.USAGE, 1, Decimal(2), Decimal(2), Decimal(4)),
            (Kind.USAGE, 2, Decimal(2), Decimal(30), Decimal(60)),
        ],
        key=repr,
    )


def test_volume_block_tier_bills_every_unit_in_blocks_of_the_chosen_tier() -> None:
    price = volume(
        {"up_to": "1000", "block_size": "100", "block_price": "6"},
        {"block_size": "500", "block_price": "20"},
    )
    # 1,200 units: tier 2 for all; ceil(1,200 / 500) = 3 blocks x 20 = 60
    parts = price.charge([usage("e1", 700), usage("e2", 500, 1)])
    assert pieces(parts) == [(Kind.USAGE, 2, Decimal(3), Decimal(20), Decimal(60))]
    # 1,000 units: tier 1 for all; 10 blocks x 6 = 60
    assert pieces(price.charge([usage("e1", 1000)])) == [
        (Kind.USAGE, 1, Decimal(10), Decimal(6), Decimal(60))
    ]


def test_graduated_percentage_tiers_can_bill_blocks_of_amount() -> None:
    price = GraduatedPercentagePrice.model_validate(
        {
            "model": "graduated_percentage",
            "category": "c",
            "tiers": [{"up_to": "1000", "block_size": "250", "block_price": "1.50"}, {"rate": "0"}],
        }
    )
    # 600.00 carried: ceil(600 / 250) = 3 blocks x 1.50 = 4.50
    parts = price.charge([usage("e1", 1, amount="600.00")])
    assert pieces(parts) == [(Kind.USAGE, 1, Decimal(3), Decimal("1.50"), Decimal("4.50"))]


def test_bad_block_tiers_are_all_reported_with_their_place_and_field() -> None:
    tiers = [
        {"up_to": "10", "rate": "1", "block_size": "5", "block_price": "2"},
        {"up_to": "20", "block_size": "5"},
        {"up_to": "30", "block_size": "0", "block_price": "1"},
        {},
    ]
    data = catalog_of({"category": "c", "model": "graduated", "tiers": tiers})
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    assert caught.value.problems == [
        Problem(
            "prices[0] (c).tiers[0]",
            "rate: give either rate (per unit) or block_size + block_price, not both",
        ),
        Problem("prices[0] (c).tiers[1]", "block_price: is required with a block tier"),
        Problem("prices[0] (c).tiers[2]", "block_size: must be greater than 0"),
        Problem(
            "prices[0] (c).tiers[3]", "rate: is required (or block_size + block_price for blocks)"
        ),
    ]


def test_bad_new_settings_of_several_prices_are_reported_together() -> None:
    data = catalog_of(
        {"category": "c", "countries": ["US"], "model": "volume", "tiers": [{}], "tier_by": "x"},
        {"category": "c", "countries": ["CA"], "model": "percentage", "rate": "0.01"}
        | {"free_allowance": "combined"},
        {"category": "c", "model": "graduated", "tiers": [{"block_price": "1"}]},
    )
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    assert [(p.where, p.field, p.reason.split(":")[0]) for p in caught.value.problems] == [
        ("prices[0] (c).tiers[0]", None, "rate"),
        ("prices[0] (c)", "tier_by", "Input should be 'quantity', 'peak', 'events' or 'amount'"),
        ("prices[1] (c)", None, "free_allowance"),
        ("prices[2] (c).tiers[0]", None, "block_size"),
    ]


def test_a_catalog_with_block_tiers_prices_a_billing_accounts_month() -> None:
    tiers = [{"up_to": "1000", "block_size": "100", "block_price": "5.00"}, {"rate": "0.01"}]
    catalog = parse_catalog(catalog_of({"category": "c", "model": "graduated", "tiers": tiers}))
    sub = "AC" + "5" * 32
    usages = [usage("e1", 120), Usage("e2", sub, T0 + timedelta(minutes=1), "c", Decimal(130))]
    parts = rate(catalog, usages, {ACCOUNT: ACCOUNT, sub: ACCOUNT})[ACCOUNT]
    # parent and subaccount share the billing account's month: 250 units = 3 blocks = 15.00,
    # on one line of the billing account as a whole (account None: the parent's share)
    (line,) = assemble_lines(parts, catalog)
    assert (line.quantity, line.amount, line.events) == (Decimal(3), Decimal("15.00"), ("e1", "e2"))
    assert [p.account for p in parts] == [None]


def test_a_block_line_counts_blocks_not_the_categorys_units() -> None:
    """A block line's quantity is blocks (10 blocks at 5.00 a block): it was shown in the
    category's unit ("10 messages" at 5.00), on the invoice, its CSV and the CLI."""
    catalog = parse_catalog(
        catalog_of(
            {
                "category": "c",
                "model": "graduated",
                "tiers": [
                    {"up_to": "1000", "block_size": "100", "block_price": "5.00"},
                    {"rate": "0.01"},
                ],
            },
            unit="messages",
        )
    )
    usages = [usage("e1", 250), usage("e2", 800, 1)]  # 1,000 in tier 1, 50 in tier 2
    lines = assemble_lines(rate(catalog, usages, {ACCOUNT: ACCOUNT})[ACCOUNT], catalog)
    shown = [(ln.tier, ln.quantity, ln.unit, ln.unit_price, ln.amount) for ln in lines]
    assert shown == [
        (1, Decimal(10), "blocks", Decimal("5.00"), Decimal("50.00")),
        (2, Decimal(50), "messages", Decimal("0.01"), Decimal("0.50")),
    ]


def test_late_usage_in_a_block_tier_adjusts_by_its_extra_blocks_on_the_same_line() -> None:
    tiers = [{"up_to": "1000", "block_size": "100", "block_price": "5.00"}, {"rate": "0.01"}]
    catalog = parse_catalog(catalog_of({"category": "c", "model": "graduated", "tiers": tiers}))
    owners = {ACCOUNT: ACCOUNT}
    billed = [usage("e1", 120), usage("e2", 130, 1)]
    late = replace(usage("late", 70, 2), phase=1)  # rated after what the month billed

    def lines(usages: list[Usage]) -> list[dict[str, Any]]:
        return [
            line_to_dict(ln)
            for ln in assemble_lines(rate(catalog, usages, owners)[ACCOUNT], catalog)
        ]

    (adjustment,) = adjustment_lines(lines([*billed, late]), lines(billed), "2026-07", "USD")
    # billed: 250 units = 3 blocks (15.00); with the late 70: 320 units = 4 blocks (20.00);
    # the adjustment is 1 block x 5.00 on the tier's line
    assert (adjustment["tier"], adjustment["quantity"], adjustment["amount"]) == (
        "first 1,000, blocks of 100",
        "1",
        "5.00",
    )
