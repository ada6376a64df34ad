"""``per_unit``: every unit at one rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ratecard.prices.base import Price, Rate, usage_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part


class PerUnitPrice(Price):
    """Each usage costs ``quantity x rate``."""

    model: Literal["per_unit"]
    rate: Rate

    def charge(self, usages: Sequence[Usage]) -> list[Part]:
        return [usage_part(usage, usage.quantity, self.rate) for usage in usages]
