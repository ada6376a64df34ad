"""A loaded catalog: versions in force over time, and price lookup for a category in a country."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from ratecard.catalog.flex import FlexSettings
from ratecard.catalog.schema import Category
from ratecard.errors import RatingError
from ratecard.prices.base import Price
from ratecard.prices.pooled import Pool

#: What prices a category in a country: a pool (shared counter) or a price model.
Charge = Pool | Price

ANY_COUNTRY = "*"


@dataclass(frozen=True)
class CatalogVersion:
    """The pools and prices in force from ``effective`` (UTC date) until the next version."""

    effective: date
    label: str
    pools: tuple[Pool, ...]
    prices: tuple[Price, ...]
    _lookup: dict[tuple[str, str | None], Charge | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def charge_for(self, category: str, country: str | None) -> Charge | None:
        """The pool or price for ``category`` in ``country`` (None: no price).

        Order: a pool covering the country, a price naming the country, a fallback price
        (``countries = ["*"]``). Results are cached: this is on the rating hot path.
        """
        key = (category, country)
        if key not in self._lookup:
            self._lookup[key] = self._find(category, country)
        return self._lookup[key]

    def _find(self, category: str, country: str | None) -> Charge | None:
        for pool in self.pools:
            if category in pool.rates and _covers(pool.countries, country):
                return pool
        fallback: Price | None = None
        for price in self.prices:
            if price.category != category:
                continue
            if country is not None and country in price.countries:
                return price
            if ANY_COUNTRY in price.countries:
                fallback = price
        return fallback


def _covers(countries: list[str], country: str | None) -> bool:
    return ANY_COUNTRY in countries or (country is not None and country in countries)


@dataclass(frozen=True)
class Catalog:
    """A validated catalog: currency, categories, and its versions ordered by effective date."""

    name: str
    currency: str
    description: str
    categories: dict[str, Category]
    versions: tuple[CatalogVersion, ...]
    source: str = ""
    flex: FlexSettings | None = None

    def at(self, moment: datetime | date) -> CatalogVersion:
        """The version in force at ``moment`` (UTC); raise RatingError before the first one."""
        day = moment.date() if isinstance(moment, datetime) else moment
        if len(self.versions) == 1 and day >= self.versions[0].effective:
            return self.versions[0]  # the common case, on the rating hot path
        index = bisect_right(self._effective_dates, day) - 1
        if index < 0:
            raise RatingError(
                f"catalog '{self.name}' takes effect on {self.versions[0].effective}; "
                f"nothing is priced on {day}"
            )
        return self.versions[index]

    @cached_property
    def _effective_dates(self) -> list[date]:
        return [v.effective for v in self.versions]

    def label(self, moment: datetime | date) -> str:
        """``name version`` in force at ``moment`` (the first version before it takes effect)."""
        day = moment.date() if isinstance(moment, datetime) else moment
        index = bisect_right(self._effective_dates, day) - 1
        return f"{self.name} {self.versions[max(index, 0)].label}"
