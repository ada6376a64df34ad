"""Catalog load: every problem reported at once with its place; versions in force over time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from ratecard.catalog import Catalog, load_catalog, parse_catalog
from ratecard.errors import CatalogError, Problem, RatingError
from ratecard.prices.metered import Usage
from ratecard.prices.pooled import Pool
from ratecard.rating.engine import rate

ACCOUNT = "AC" + "f" * 32


def base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "version": "1",
        "currency": "USD",
        "effective": "2026-01-01",
        "categories": {
            "in": {"description": "inbound", "unit": "minutes"},
            "out": {"description": "outbound", "unit": "minutes"},
            "fee": {"description": "fee", "unit": "units"},
        },
        "pools": [
            {
                "name": "voice",
                "countries": ["US"],
                "tiers": [{"up_to": "100"}, {}],
                "rates": {"in": ["0.01", "0.008"], "out": ["0.02", "0.015"]},
            }
        ],
        "prices": [{"category": "fee", "model": "per_unit", "rate": "1"}],
    }
    data.update(changes)
    return data


def problems_of(data: dict[str, Any]) -> list[Problem]:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data, source="t.toml")
    assert caught.value.source == "t.toml"
    return caught.value.problems


def test_a_valid_small_catalog_loads() -> None:
    catalog = parse_catalog(base())
    assert (catalog.name, catalog.currency, len(catalog.versions)) == ("t", "USD", 1)


def test_the_shipped_us_catalog_loads() -> None:
    catalog = load_catalog("us")
    pool = catalog.at(date(2026, 7, 1)).charge_for("calls-inbound-local", "US")
    assert isinstance(pool, Pool)
    assert pool.rates["calls-inbound-local"] == [Decimal("0.0085"), Decimal("0.0080")]


def test_every_problem_in_a_catalog_is_reported_at_once_with_its_place() -> None:
    data = base(
        pools=[
            {
                "name": "voice",
                "countries": ["US"],
                "tiers": [{"up_to": "100"}, {}],
                "rates": {"in": ["0.01", "0.008"]},
            },
            {  # "in" again: a category belongs to one pool
                "name": "more",
                "countries": ["US"],
                "tiers": [{"up_to": "5"}, {}],
                "rates": {"in": ["1", "1"]},
            },
        ],
        prices=[
            {
                "category": "fee",
                "model": "graduated",
                "tiers": [
                    {"up_to": "10", "rate": "1"},
                    {"up_to": "10", "rate": "1"},
                    {"rate": "1"},
                ],
            },
            {"category": "fee", "countries": ["CA"], "model": "per_unit", "rate": "0.00000001"},
            {"category": "fees", "countries": ["DE"], "model": "per_unit", "rate": "1"},
            {"category": "fee", "countries": ["FR"], "model": "per_unit", "rate": 0.5},
            {"category": "fee", "countries": ["IT"], "model": "tiered", "rate": "1"},
            {"category": "in", "countries": ["US"], "model": "per_unit", "rate": "1"},
        ],
    )
    assert problems_of(data) == [
        Problem("prices[0] (fee)", "tiers: tier 2: up_to 10 does not increase (previous bound 10)"),
        Problem(
            "prices[1] (fee)", "0.00000001 has 8 decimal places; at most 7 are allowed", "rate"
        ),
        Problem(
            "prices[3] (fee)",
            "float 0.5 refused: give money and quantities as decimal strings or integers",
            "rate",
        ),
        Problem(
            "prices[4] (fee)",
            "unknown price model; expected one of: per_unit, graduated, volume, package, "
            "percentage, graduated_percentage",
            "model",
        ),
        Problem(
            "pools[1] (more)",
            "category 'in' is already in pool 'voice'; a category belongs to one pool",
            "rates.in",
        ),
        Problem("prices[2] (fees)", "unknown category 'fees'", "category"),
        Problem(
            "prices[5] (in)",
            "category 'in' in country 'US' is already priced by pool 'voice'",
            "countries",
        ),
    ]


def test_a_pool_tier_bound_that_does_not_increase_names_the_pool_and_tier() -> None:
    data = base()
    data["pools"][0]["tiers"] = [{"up_to": "100"}, {"up_to": "50"}, {}]
    data["pools"][0]["rates"] = {"in": ["1", "1", "1"]}
    assert problems_of(data) == [
        Problem("pools[0] (voice)", "tier 2: up_to 50 does not increase (previous bound 100)")
    ]


def test_a_last_tier_with_an_upper_bound_is_refused() -> None:
    data = base(
        prices=[{"category": "fee", "model": "graduated", "tiers": [{"up_to": "1", "rate": "1"}]}]
    )
    (problem,) = problems_of(data)
    assert problem.reason == "tiers: the last tier must have no up_to (it is unbounded)"


def test_two_prices_for_one_category_and_country_are_refused() -> None:
    data = base(
        prices=[
            {"category": "fee", "countries": ["US", "CA"], "model": "per_unit", "rate": "1"},
            {"category": "fee", "countries": ["CA"], "model": "per_unit", "rate": "2"},
        ]
    )
    assert problems_of(data) == [
        Problem(
            "prices[1] (fee)",
            "category 'fee' in country 'CA' is already priced by prices[0]",
            "countries",
        )
    ]


def test_a_country_that_is_not_an_iso_code_is_refused() -> None:
    data = base(
        prices=[{"category": "fee", "countries": ["usa"], "model": "per_unit", "rate": "1"}]
    )
    (problem,) = problems_of(data)
    assert (problem.where, problem.field) == ("prices[0] (fee)", "countries")


def test_an_unknown_currency_is_refused() -> None:
    (problem,) = problems_of(base(currency="XXX"))
    assert (problem.where, problem.reason.split(";")[0]) == ("currency", "unknown currency 'XXX'")


def test_a_missing_catalog_file_names_the_shipped_catalogs() -> None:
    with pytest.raises(CatalogError, match=r"no such catalog file \(shipped catalogs: us\)"):
        load_catalog("nowhere")


# revisions --------------------------------------------------------------------------------

REVISED_POOL = {
    "name": "voice",
    "countries": ["US"],
    "tiers": [{"up_to": "100"}, {}],
    "rates": {"in": ["0.005", "0.004"], "out": ["0.02", "0.015"]},
}


def revised() -> Catalog:
    revision = {"effective": "2026-07-16", "note": "cheaper inbound", "pools": [REVISED_POOL]}
    return parse_catalog(base(revisions=[revision]))


def minutes(event_id: str, when: datetime, quantity: int, category: str = "in") -> Usage:
    return Usage(event_id, ACCOUNT, when, category, Decimal(quantity), "US")


def test_a_revision_replaces_a_pools_rates_from_its_effective_date() -> None:
    catalog = revised()
    before = catalog.at(date(2026, 7, 15)).charge_for("in", "US")
    after = catalog.at(date(2026, 7, 16)).charge_for("in", "US")
    assert isinstance(before, Pool)
    assert isinstance(after, Pool)
    assert (before.rates["in"][0], after.rates["in"][0]) == (Decimal("0.01"), Decimal("0.005"))


def test_a_revision_keeps_the_prices_it_does_not_replace() -> None:
    catalog = revised()
    first = catalog.at(date(2026, 1, 1)).charge_for("fee", "US")
    assert first is not None
    assert catalog.at(date(2026, 8, 1)).charge_for("fee", "US") is first


def test_events_before_and_after_a_revision_are_rated_by_the_version_in_force() -> None:
    usages = [
        minutes("e1", datetime(2026, 7, 15, 23, 59, tzinfo=UTC), 10),
        minutes("e2", datetime(2026, 7, 16, 0, 0, tzinfo=UTC), 10),
    ]
    parts = rate(revised(), usages, {ACCOUNT: ACCOUNT})[ACCOUNT]
    # e1 on July 15: 10 x 0.01 = 0.10; e2 from July 16: 10 x 0.005 = 0.050
    assert [(p.events, p.unit_price, p.amount) for p in parts] == [
        (("e1",), Decimal("0.01"), Decimal("0.10")),
        (("e2",), Decimal("0.005"), Decimal("0.050")),
    ]


def test_a_pool_counter_continues_across_a_mid_month_revision() -> None:
    usages = [
        minutes("e1", datetime(2026, 7, 10, tzinfo=UTC), 90),
        minutes("e2", datetime(2026, 7, 20, tzinfo=UTC), 20),
    ]
    parts = rate(revised(), usages, {ACCOUNT: ACCOUNT})[ACCOUNT]
    # e1: 90 x 0.01 = 0.90 (version 1). e2 (revised rates) goes 90 -> 110: the counter is not
    # reset, so 10 x 0.005 = 0.050 in tier 1 and 10 x 0.004 = 0.040 in tier 2
    assert [(p.events, p.tier, p.quantity, p.amount) for p in parts] == [
        (("e1",), 1, Decimal(90), Decimal("0.90")),
        (("e2",), 1, Decimal(10), Decimal("0.050")),
        (("e2",), 2, Decimal(10), Decimal("0.040")),
    ]


def test_a_revision_labels_the_version_it_makes() -> None:
    catalog = revised()
    assert [v.label for v in catalog.versions] == ["1", "1+2026-07-16"]
    assert catalog.label(date(2026, 7, 20)) == "t 1+2026-07-16"


def test_a_revision_must_take_effect_after_the_catalog() -> None:
    data = base(revisions=[{"effective": "2025-12-31", "pools": [REVISED_POOL]}])
    assert problems_of(data) == [
        Problem("revisions[0]", "effective 2025-12-31 must be after 2026-01-01", "effective")
    ]


def test_a_revision_cannot_bring_a_pool_the_base_catalog_lacks() -> None:
    data = base(revisions=[{"effective": "2026-07-16", "pools": [{**REVISED_POOL, "name": "x"}]}])
    (problem,) = problems_of(data)
    assert (problem.where, problem.field) == ("revisions[0]", "pools")
    assert problem.reason.startswith("pool 'x' is not in the base catalog")


def test_usage_before_the_catalog_takes_effect_cannot_be_priced() -> None:
    with pytest.raises(RatingError, match="takes effect on 2026-01-01; nothing is priced on"):
        parse_catalog(base()).at(date(2025, 12, 31))


def test_a_revision_price_for_one_country_wins_over_an_earlier_price_naming_it() -> None:
    catalog = parse_catalog(
        {
            "name": "t",
            "version": "1",
            "currency": "USD",
            "effective": "2026-01-01",
            "categories": {"fax": {"description": "Fax pages", "unit": "pages"}},
            "prices": [
                {"category": "fax", "countries": ["US", "CA"], "model": "per_unit", "rate": "0.10"}
            ],
            "revisions": [
                {
                    "effective": "2026-07-01",
                    "prices": [
                        {
                            "category": "fax",
                            "countries": ["US"],
                            "model": "per_unit",
                            "rate": "0.07",
                        }
                    ],
                }
            ],
        }
    )
    july = catalog.at(date(2026, 7, 2))
    rates = {c: getattr(july.charge_for("fax", c), "rate", None) for c in ("US", "CA")}
    assert rates == {"US": Decimal("0.07"), "CA": Decimal("0.10")}
    assert getattr(catalog.at(date(2026, 6, 30)).charge_for("fax", "US"), "rate", None) == (
        Decimal("0.10")
    )


def test_a_revision_price_under_a_pool_is_refused_instead_of_ignored() -> None:
    data = {
        "name": "t",
        "version": "1",
        "currency": "USD",
        "effective": "2026-01-01",
        "categories": {"min": {"description": "Minutes", "unit": "minutes"}},
        "pools": [
            {
                "name": "voice",
                "countries": ["US"],
                "tiers": [{"up_to": "10"}, {}],
                "rates": {"min": ["0.02", "0.01"]},
            }
        ],
        "revisions": [
            {
                "effective": "2026-07-01",
                "prices": [
                    {"category": "min", "countries": ["US"], "model": "per_unit", "rate": "0.05"}
                ],
            }
        ],
    }
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    assert caught.value.problems == [
        Problem(
            "revisions[0].prices[0] (min)",
            "category 'min' in ['US'] is priced by pool 'voice'; revise the pool's rates instead",
            "countries",
        )
    ]
