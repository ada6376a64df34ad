"""Generated usage for the scale-out tests: straddles, ties, several pools and months.

Six billing accounts (two with subaccounts), three months (2026-01 to 2026-03), two pools
with bounds at 10 and 20 units (one per billing account, one per account), a per-unit price
and a graduated price (rated by the reference model: a delegated category). Events are at
few distinct whole seconds, so many share an instant (ties broken by event id), and carry
1 to 6 units, so the running totals cross the bounds inside single events (straddles).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from ratecard.catalog.load import parse_catalog
from ratecard.catalog.model import Catalog
from ratecard.prices.metered import Usage
from ratecard.rating.columns import usages_to_frame

OWNERS = {
    "ACP0": "ACP0",
    "ACP0a": "ACP0",
    "ACP0b": "ACP0",
    "ACP1": "ACP1",
    "ACP2": "ACP2",
    "ACP2a": "ACP2",
    "ACP3": "ACP3",
    "ACP4": "ACP4",
    "ACP5": "ACP5",
}
MONTHS = ["2026-01", "2026-02", "2026-03"]


def catalog() -> Catalog:
    return parse_catalog(
        {
            "name": "scale",
            "version": "1",
            "currency": "USD",
            "effective": "2025-01-01",
            "categories": {
                c: {"description": c, "unit": "units"} for c in ("a", "b", "m", "t", "g")
            },
            "pools": [
                {
                    "name": "voice",
                    "scope": "billing_account",
                    "countries": ["*"],
                    "tiers": [{"up_to": "10"}, {"up_to": "20"}, {}],
                    "rates": {"a": ["1", "0.5", "0.1"], "b": ["2", "0.25", "0.05"]},
                },
                {
                    "name": "messages",
                    "scope": "account",
                    "countries": ["*"],
                    "tiers": [{"up_to": "10"}, {}],
                    "rates": {"m": ["0.0075", "0.0025"]},
                },
            ],
            "prices": [
                {"category": "t", "model": "per_unit", "rate": "0.005"},
                {
                    "category": "g",
                    "model": "graduated",
                    "tiers": [{"up_to": "5", "rate": "0.30"}, {"rate": "0.10"}],
                },
            ],
        }
    )


def usages(count: int = 1500, seed: int = 13) -> list[Usage]:
    rng = random.Random(seed)
    accounts = sorted(OWNERS)
    result = []
    for number in rng.sample(range(100_000), count):
        year, month = 2026, rng.randint(1, 3)
        moment = datetime(year, month, rng.randint(1, 28), tzinfo=UTC)
        moment += timedelta(seconds=rng.randint(0, 3))  # few instants: ties
        result.append(
            Usage(
                event_id=f"ev{number:05d}",
                account=rng.choice(accounts),
                time=moment,
                category=rng.choice(["a", "a", "b", "m", "m", "t", "g"]),
                quantity=Decimal(rng.randint(1, 6)),
                country=rng.choice(["US", "CA"]),
            )
        )
    return result


def frame(count: int = 1500, seed: int = 13) -> pl.DataFrame:
    """The usage columns of :func:`usages`, in generation order (not time order)."""
    return usages_to_frame(usages(count, seed), OWNERS)
