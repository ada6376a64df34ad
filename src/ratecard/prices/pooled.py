"""``pooled`` tiers: several categories share ONE monthly counter (SPEC section 4).

Each category keeps its own rate per tier. Usage is consumed in time order (ties by event id);
units up to a bound pay each category's rate for that tier, units after it the next tier's
rate for their own category; an event that straddles a bound is split. Nothing already counted
is re-priced. ``scope`` says whose usage shares the counter: the billing account (parent and
subaccounts, the default) or each account on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ratecard.money import ZERO, add
from ratecard.prices.base import Chargeable, Rate, Scope, Units, usage_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.prices.tiers import check_bounds, tier_label, walk


class PoolTier(BaseModel):
    """A pool tier is declared by its upper bound only (none on the last)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: Units | None = None


class Pool(BaseModel, Chargeable):
    """A shared counter over several categories, each with its own rate per tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str | None = None
    unit: str = "units"
    scope: Scope = "billing_account"
    countries: list[str] = Field(min_length=1)
    tiers: list[PoolTier] = Field(min_length=1)
    rates: dict[str, list[Rate]] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Pool:
        reasons = check_bounds(self.bounds)
        for category, rates in self.rates.items():
            if len(rates) != len(self.tiers):
                reasons.append(
                    f"rates.{category}: {len(rates)} rate(s) for {len(self.tiers)} tier(s); "
                    "give one rate per tier"
                )
        if reasons:
            raise ValueError("; ".join(reasons))
        return self

    @property
    def bounds(self) -> list[Decimal | None]:
        return [tier.up_to for tier in self.tiers]

    def label(self, index: int) -> str:
        return tier_label(self.bounds, index)

    @property
    def counter_scope(self) -> Scope:
        return self.scope

    @property
    def pool_name(self) -> str | None:
        return self.name

    def rate_run(
        self, usages: Sequence[Usage], counted: Decimal = ZERO
    ) -> tuple[list[Part], Decimal]:
        """Price ``usages`` from the pool's running count: :meth:`charge`."""
        return self.charge(usages, counted)

    def charge(
        self, usages: Sequence[Usage], counted: Decimal = Decimal(0)
    ) -> tuple[list[Part], Decimal]:
        """Price ``usages`` (time order) after ``counted`` units; return parts and the new count.

        Amounts are exact: quantity x the category's rate for the tier, in catalog currency.
        """
        parts: list[Part] = []
        bounds = self.bounds
        labels = [tier_label(bounds, index) for index in range(len(bounds))]  # once, not per part
        for usage in usages:
            rates = self.rates[usage.category]
            for index, units in walk(bounds, counted, usage.quantity):
                parts.append(
                    usage_part(usage, units, rates[index], index + 1, labels[index], self.name)
                )
                counted = add(counted, units)
        return parts, counted
