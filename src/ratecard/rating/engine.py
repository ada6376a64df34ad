"""The reference rating kernel: metered usage -> priced parts, per billing account.

Pure and readable: it is the definition of correct that faster kernels are tested against.
Each usage is priced by the catalog version in force at its time. Usage priced by a pool shares
the pool's monthly counter (per billing account, or per account when the pool's scope says so)
across catalog versions; usage priced by a price model is grouped per billing account,
category and version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from ratecard.catalog.model import Catalog, Charge
from ratecard.errors import NoPriceError
from ratecard.prices.base import Price
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.rating.grouping import (
    CounterKey,
    counter_key,
    in_rating_order,
    invoice_owner,
    order_key,
)


@dataclass(frozen=True)
class Unpriced:
    """Usage the catalog has no price for: reported together, never silently free."""

    category: str
    country: str | None
    first_event: str
    count: int


def rate(
    catalog: Catalog, usages: Iterable[Usage], billing_account_of: Mapping[str, str]
) -> dict[str, list[Part]]:
    """Price ``usages`` (one month); return parts per billing account.

    Each usage counts in its charge's counter (:func:`ratecard.rating.grouping.counter_key`).
    Raise NoPriceError listing every category/country without a price.
    """
    counters: dict[CounterKey, list[tuple[Usage, Charge]]] = defaultdict(list)
    missing: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for usage in usages:
        owner = billing_account_of[usage.account]
        charge = catalog.at(usage.time).charge_for(usage.category, usage.country)
        if charge is None:
            missing[(usage.category, usage.country)].append(usage.event_id)
        else:
            counters[counter_key(charge, owner, usage.account)].append((usage, charge))
    if missing:
        raise NoPriceError(
            [Unpriced(cat, country, ids[0], len(ids)) for (cat, country), ids in missing.items()]
        )
    parts: dict[str, list[Part]] = defaultdict(list)
    for key in in_rating_order(counters):
        parts[invoice_owner(key, billing_account_of)].extend(rate_counter(counters[key]))
    return dict(parts)


def rate_counter(members: list[tuple[Usage, Charge]]) -> list[Part]:
    """One counter's month, in order (sorted here); where the charge changes (a pool's
    counter spans catalog revisions) the next run keeps the count."""
    members.sort(key=lambda pair: order_key(pair[0]))
    parts: list[Part] = []
    counted = Decimal(0)
    run: list[Usage] = []
    charge = members[0][1]
    for usage, version_charge in members:
        if version_charge is not charge:
            new_parts, counted = charge.rate_run(run, counted)
            parts.extend(new_parts)
            run, charge = [], version_charge
        run.append(usage)
    new_parts, counted = charge.rate_run(run, counted)
    parts.extend(new_parts)
    return parts


def spend_limits(price: Price, parts: list[Part]) -> list[Part]:
    """Add the minimum-spend top-up or maximum-spend reduction of a price's month
    (:meth:`Price.spend_limits`: exact amounts, catalog currency)."""
    return price.spend_limits(parts)
