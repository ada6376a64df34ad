"""The contract every price model keeps, and the value types their schemas share.

A price model is one module holding its catalog schema (a pydantic model with a ``model``
tag) and its rating function. :meth:`Price.charge` receives one billing account's usage of the
price's category in one month, in chronological order, and returns priced parts. Models never
round: parts carry precise amounts; invoices round each line once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ratecard.money import MAX_RATE_PLACES, ZERO, mul, non_negative, total
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.tiers import check_bounds, tier_label


def _rate(value: object) -> Decimal:
    return non_negative(value, max_places=MAX_RATE_PLACES)


#: A price or money amount in the catalog: a decimal string or integer, >= 0, <= 7 places.
Rate = Annotated[Decimal, BeforeValidator(_rate)]
#: A count of units in the catalog (tier bounds, package sizes, free units), >= 0.
Units = Annotated[Decimal, BeforeValidator(non_negative)]


class Tier(BaseModel):
    """One tier: its upper bound (None on the last), what its units cost, an optional flat fee.

    Units are priced either one by one (``rate`` per unit) or in blocks (Kill Bill's tiered
    blocks): ``block_price`` per started block of ``block_size`` units, a partial block
    rounded up to a whole one. Money in the catalog currency, exact (never rounded here).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: Units | None = None
    rate: Rate | None = None
    block_size: Units | None = None
    block_price: Rate | None = None
    flat_fee: Rate = Decimal(0)

    @model_validator(mode="after")
    def _priced_once(self) -> Tier:
        blocked = self.block_size is not None or self.block_price is not None
        if self.rate is not None and blocked:
            raise ValueError(
                "rate: give either rate (per unit) or block_size + block_price, not both"
            )
        if self.rate is None and not blocked:
            raise ValueError("rate: is required (or block_size + block_price for blocks)")
        if blocked and (self.block_size is None or self.block_price is None):
            missing = "block_price" if self.block_price is None else "block_size"
            raise ValueError(f"{missing}: is required with a block tier")
        if self.block_size is not None and self.block_size <= 0:
            raise ValueError("block_size: must be greater than 0")
        return self

    @property
    def blocked(self) -> bool:
        """Whether this tier bills its units in blocks (else per unit at ``rate``)."""
        return self.block_size is not None


class Tiered(BaseModel):
    """Mixin for schemas with a ``tiers`` list: validates the bounds."""

    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _bounds(self) -> Tiered:
        reasons = check_bounds(self.bounds)
        if reasons:
            raise ValueError("tiers: " + "; ".join(reasons))
        return self

    @property
    def bounds(self) -> list[Decimal | None]:
        return [tier.up_to for tier in self.tiers]

    def label(self, index: int) -> str:
        return tier_label(self.bounds, index)


#: Whose usage shares one counter: the billing account's (parent and subaccounts) or each
#: account's own.
Scope = Literal["billing_account", "account"]


class Chargeable(ABC):
    """What rating asks of any charge, a :class:`Price` or a pool, instead of its type.

    A charge counts a billing account's (or an account's) usage of a month in one counter and
    prices it in order: :meth:`rate_run`. A pool's counter spans catalog versions (it is keyed
    by :attr:`pool_name`); a price's is its own.
    """

    @property
    @abstractmethod
    def counter_scope(self) -> Scope:
        """Whose usage shares this charge's counter."""

    @property
    @abstractmethod
    def pool_name(self) -> str | None:
        """The pool's name (its counter spans catalog versions; its lines show it), or None."""

    @abstractmethod
    def rate_run(
        self, usages: Sequence[Usage], counted: Decimal = ZERO
    ) -> tuple[list[Part], Decimal]:
        """Price ``usages`` (one counter's, in order) after ``counted`` units already in the
        counter; return the parts (exact amounts, catalog currency, never rounded) and the new
        count (units)."""


class Price(BaseModel, Chargeable):
    """A price for one category (in some countries), and how to rate it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1)
    countries: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    description: str | None = None
    minimum_spend: Rate | None = None
    maximum_spend: Rate | None = None

    @model_validator(mode="after")
    def _spend_range(self) -> Price:
        low, high = self.minimum_spend, self.maximum_spend
        if low is not None and high is not None and low > high:
            raise ValueError(f"minimum_spend {low} is above maximum_spend {high}")
        return self

    @abstractmethod
    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        """Price one billing account's month of this category (``usages`` in time order)."""

    # Class attributes, not properties: rating reads them once per usage.
    #: A price rates each billing account's month of its category as a whole.
    counter_scope: ClassVar[Scope] = "billing_account"
    #: A price is no pool.
    pool_name: ClassVar[str | None] = None

    def rate_run(
        self, usages: Sequence[Usage], counted: Decimal = ZERO
    ) -> tuple[list[Part], Decimal]:
        """The month's parts (:meth:`charge`) with its spend limits (:meth:`spend_limits`).

        ``usages`` are the whole month: a price's counter is its own and depends on no count
        before it, so ``counted`` is returned as given."""
        return self.spend_limits(self.charge(usages)), counted

    def spend_limits(self, parts: list[Part]) -> list[Part]:
        """Add the minimum-spend top-up or maximum-spend reduction of this price's month.

        The limits apply to a charge that has usage in the month; the adjustment is a part of
        its own (precise amount = limit - spent, catalog currency, not rounded), so the invoice
        shows it on a line of its own.
        """
        spent = total(part.amount for part in parts)
        low, high = self.minimum_spend, self.maximum_spend
        if low is not None and spent < low:
            return [*parts, fee_part(self.category, Kind.MINIMUM_SPEND, low - spent)]
        if high is not None and spent > high:
            return [*parts, fee_part(self.category, Kind.MAXIMUM_SPEND, high - spent)]
        return parts


def usage_part(
    usage: Usage,
    quantity: Decimal,
    unit_price: Decimal,
    tier: int | None = None,
    label: str | None = None,
    pool: str | None = None,
) -> Part:
    """A part for ``quantity`` units of one usage at ``unit_price`` (amount = exact product)."""
    return Part(
        category=usage.category,
        kind=Kind.USAGE,
        quantity=quantity,
        unit_price=unit_price,
        amount=mul(quantity, unit_price),
        tier=tier,
        tier_label=label,
        pool=pool,
        account=usage.account,
        events=(usage.event_id,),
    )


def fee_part(category: str, kind: Kind, amount: Decimal, **extra: object) -> Part:
    """A part that is a fee or an adjustment of the billing account as a whole."""
    return Part(
        category=category,
        kind=kind,
        quantity=Decimal(1),
        unit_price=amount,
        amount=amount,
        **extra,  # type: ignore[arg-type]
    )
