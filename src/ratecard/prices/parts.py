"""Rated parts: the smallest priced pieces, which invoices add up into lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    """What a part charges for."""

    USAGE = "usage"  # units x unit price
    FLAT_FEE = "flat_fee"  # a tier's flat fee, charged once when the tier is entered
    FIXED_FEE = "fixed_fee"  # a fee per event (percentage prices)
    TRANSACTION_MINIMUM = "transaction_minimum"  # top-up of one event's fee to its minimum
    TRANSACTION_MAXIMUM = "transaction_maximum"  # reduction of one event's fee to its maximum
    MINIMUM_SPEND = "minimum_spend"  # top-up of a charge's month to its minimum spend
    MAXIMUM_SPEND = "maximum_spend"  # reduction of a charge's month to its maximum spend
    INCLUDED = "included"  # units included in a plan's price (Flex quotas, free hours): 0.00


@dataclass(frozen=True, slots=True)
class Part:
    """A priced piece of usage, before rounding.

    Money: ``amount`` is the precise amount in the catalog currency (not rounded);
    ``unit_price`` is the price per unit of ``quantity`` (None where the part is not
    units x price, e.g. a minimum-spend top-up). ``account`` is whose usage it is (None: the
    billing account as a whole); ``events`` are the ids of the events it came from.
    ``unit`` names what ``quantity`` counts when it is not the category's unit (``blocks``
    for a block tier: quantity is whole blocks, unit price a block's price).
    """

    category: str
    kind: Kind
    quantity: Decimal
    unit_price: Decimal | None
    amount: Decimal
    tier: int | None = None
    tier_label: str | None = None
    pool: str | None = None
    account: str | None = None
    events: tuple[str, ...] = ()
    unit: str | None = None
