"""``graduated_percentage``: marginal tiers over the month's carried amounts.

The amounts events carry are counted in time order; the part of the running total inside
each tier pays that tier's rate (a fraction), and a tier's flat fee is charged once when it is
entered, like ``graduated`` but over money instead of units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ratecard.prices.base import Price, Tiered
from ratecard.prices.graduated import graduated_parts
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.prices.percentage import carried_amount


class GraduatedPercentagePrice(Tiered, Price):
    """Percentage rates in marginal tiers of the month's carried amount."""

    model: Literal["graduated_percentage"]

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        return graduated_parts(self, usages, carried_amount)
