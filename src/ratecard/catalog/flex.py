"""The ``[flex]`` section of a catalog: plans (prices, seat basis, quotas) and eligibility rules.

Everything the vendor leaves open (quota sizes, hour rounding, free hours, the seat basis of
User + Usage) is data here, not code (SPEC section 2, Decisions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ratecard.prices.base import Units

PlanId = Literal["named-user", "active-user-hours", "user-usage"]
PLAN_IDS: tuple[str, ...] = ("named-user", "active-user-hours", "user-usage")

#: How a plan counts its seats in a month.
#: ``peak_provisioned``: most users provisioned at any moment (Named User);
#: ``active_hours``: hours in any activity but the logout activity (Active User Hours);
#: ``login``: unique users with a login (User + Usage, default basis);
#: ``worker_exists``: workers that existed at any moment (User + Usage, other basis).
SeatBasis = Literal["peak_provisioned", "active_hours", "login", "worker_exists"]


class Quota(BaseModel):
    """Units of a standard product included in the plan's price, per seat or per account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    quantity: Units
    per: Literal["seat", "account"] = "account"


class Plan(BaseModel):
    """One Flex plan: its fee category (priced by the catalog's prices), seats and quotas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    category: str
    seat_basis: SeatBasis
    unbundled_voice: bool = False
    quotas: list[Quota] = Field(default_factory=list)
    free_hours: Units = Decimal(0)
    hour_rounding: Literal["exact", "up"] = "up"

    @model_validator(mode="after")
    def _hours_only_for_hours(self) -> Plan:
        if self.free_hours and self.seat_basis != "active_hours":
            raise ValueError("free_hours applies only to a plan with seat_basis = 'active_hours'")
        return self


#: Facts a rule can test, and the values they take.
FACTS = {
    "action": "enable | switch",
    "from": "the current plan id, or none",
    "to": "the requested plan id",
    "created_with_flex": "true when the account was created with Flex",
    "subaccount": "true when the account is a subaccount",
    "same_plan": "true when the requested plan is the current plan",
    "effective_month_start": "true when the change takes effect on the 1st of a month",
    "effective_in_past": "true when the change would take effect before today",
}


class Rule(BaseModel):
    """An eligibility rule: when every condition in ``when`` holds, the change is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    when: dict[str, bool | str | list[str]] = Field(min_length=1)
    explanation: str = Field(min_length=1)

    @model_validator(mode="after")
    def _known_facts(self) -> Rule:
        unknown = sorted(set(self.when) - set(FACTS))
        if unknown:
            raise ValueError(f"unknown fact(s) {unknown}; known: {', '.join(FACTS)}")
        return self


class FlexSettings(BaseModel):
    """The catalog's Flex section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    logout_activity: str = "Offline"
    #: Under a plan with unbundled voice, each call minute is billed in these categories
    #: instead of the standard voice category (SPEC section 2).
    unbundled_voice_categories: list[str] = Field(
        default_factory=lambda: ["programmablevoice-platform", "pstnconnectivity"], min_length=1
    )
    plans: dict[str, Plan]
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _all_plans(self) -> FlexSettings:
        unknown = sorted(set(self.plans) - set(PLAN_IDS))
        if unknown:
            raise ValueError(f"unknown plan id(s) {unknown}; plans: {', '.join(PLAN_IDS)}")
        missing = [p for p in PLAN_IDS if p not in self.plans]
        if missing:
            raise ValueError(f"plans {missing} are missing; every plan needs prices and quotas")
        return self
