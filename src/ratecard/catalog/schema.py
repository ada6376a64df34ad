"""The catalog file format (TOML), validated with pydantic.

A catalog names its currency and the date it takes effect, declares categories (what is
metered, in which unit, with which billing increment), pools (shared tiered counters) and
prices (one price model per entry), and optional revisions: later versions that replace some
pools or prices from their effective date on. See ``catalogs/us.toml`` for a full example.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ratecard.catalog.flex import FlexSettings
from ratecard.prices.graduated import GraduatedPrice
from ratecard.prices.graduated_percentage import GraduatedPercentagePrice
from ratecard.prices.package import PackagePrice
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.percentage import PercentagePrice
from ratecard.prices.pooled import Pool
from ratecard.prices.volume import VolumePrice

#: Every non-pooled price model, by its ``model`` tag: one module each, one contract.
PriceEntry = Annotated[
    PerUnitPrice
    | GraduatedPrice
    | VolumePrice
    | PackagePrice
    | PercentagePrice
    | GraduatedPercentagePrice,
    Field(discriminator="model"),
]

PRICE_MODELS = ("per_unit", "graduated", "volume", "package", "percentage", "graduated_percentage")


class Category(BaseModel):
    """A metered category (vendor usage-record names such as ``calls-inbound-local``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    #: For call categories: each call is billed in multiples of this many seconds, rounded up
    #: (60 = whole minutes, SPEC section 4; 1 = per-second billing). Quantities are minutes.
    increment_seconds: int | None = Field(default=None, ge=1, le=3600)


class Revision(BaseModel):
    """A later catalog version: pools and prices that replace earlier ones from ``effective``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    effective: date
    note: str = ""
    pools: list[Pool] = Field(default_factory=list)
    prices: list[PriceEntry] = Field(default_factory=list)


class CatalogFile(BaseModel):
    """The whole catalog file as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    currency: str
    effective: date
    categories: dict[str, Category] = Field(min_length=1)
    pools: list[Pool] = Field(default_factory=list)
    prices: list[PriceEntry] = Field(default_factory=list)
    revisions: list[Revision] = Field(default_factory=list)
    flex: FlexSettings | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        from ratecard.money import MINOR_UNITS

        if value not in MINOR_UNITS:
            raise ValueError(f"unknown currency {value!r}; known: {', '.join(sorted(MINOR_UNITS))}")
        return value
