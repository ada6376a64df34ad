"""``package``: units are sold in packages of ``size`` at ``price`` each.

The month's units beyond ``free_units`` are divided into packages, rounded ``up`` (a started
package is paid in full, the default) or ``down`` (only complete packages are paid).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from pydantic import field_validator

from ratecard.money import EXACT_QUANTIZE, mul, plain, total
from ratecard.prices.base import Price, Rate, Units
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part


class PackagePrice(Price):
    """Packages of ``size`` units at ``price`` per package, after ``free_units``."""

    model: Literal["package"]
    size: Units
    price: Rate
    free_units: Units = Decimal(0)
    rounding: Literal["up", "down"] = "up"

    @field_validator("size")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    def packages(self, units: Decimal) -> Decimal:
        """Number of packages charged for ``units`` units in a month."""
        billable = max(Decimal(0), units - self.free_units)
        mode = ROUND_CEILING if self.rounding == "up" else ROUND_FLOOR
        return EXACT_QUANTIZE.divide(billable, self.size).to_integral_value(rounding=mode)

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        if not usages:
            return []
        units = total(usage.quantity for usage in usages)
        count = self.packages(units)
        free = f", {plain(self.free_units):,} free" if self.free_units else ""
        return [
            Part(
                category=self.category,
                kind=Kind.USAGE,
                quantity=count,
                unit_price=self.price,
                amount=mul(count, self.price),
                tier_label=(
                    # plain: the label reads the same whatever scale the quantities came in with
                    f"packages of {plain(self.size):,} ({plain(units):,} units{free}, "
                    f"rounded {self.rounding})"
                ),
                events=tuple(usage.event_id for usage in usages),
                unit="packages",  # quantity counts packages, priced each
            )
        ]
