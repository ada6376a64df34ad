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

from ratecard.catalog.model import Catalog
from ratecard.errors import NoPriceError
from ratecard.money import total
from ratecard.prices.base import Price, fee_part
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind, Part
from ratecard.prices.pooled import Pool


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

    Raise NoPriceError listing every category/country without a price.
    """
    pooled: dict[tuple[str, str], list[tuple[Usage, Pool]]] = defaultdict(list)
    priced: dict[tuple[str, int], tuple[Price, list[Usage]]] = {}
    missing: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for usage in usages:
        owner = billing_account_of[usage.account]
        charge = catalog.at(usage.time).charge_for(usage.category, usage.country)
        if charge is None:
            missing[(usage.category, usage.country)].append(usage.event_id)
        elif isinstance(charge, Pool):
            counter = owner if charge.scope == "billing_account" else usage.account
            pooled[(charge.name, counter)].append((usage, charge))
        else:
            priced.setdefault((owner, id(charge)), (charge, []))[1].append(usage)
    if missing:
        raise NoPriceError(
            [Unpriced(cat, country, ids[0], len(ids)) for (cat, country), ids in missing.items()]
        )
    parts: dict[str, list[Part]] = defaultdict(list)
    for (_, counter), members in pooled.items():
        owner = billing_account_of[counter]
        parts[owner].extend(_rate_pool(members))
    for (owner, _), (price, group) in priced.items():
        group.sort(key=lambda u: u.order_key)
        parts[owner].extend(spend_limits(price, price.charge(group)))
    return dict(parts)


def _rate_pool(members: list[tuple[Usage, Pool]]) -> list[Part]:
    """One pool counter's month, in time order; a catalog revision mid-month keeps the count."""
    members.sort(key=lambda pair: pair[0].order_key)
    parts: list[Part] = []
    counted = Decimal(0)
    run: list[Usage] = []
    pool = members[0][1]
    for usage, version_pool in members:
        if version_pool is not pool:
            new_parts, counted = pool.charge(run, counted)
            parts.extend(new_parts)
            run, pool = [], version_pool
        run.append(usage)
    new_parts, counted = pool.charge(run, counted)
    parts.extend(new_parts)
    return parts


def spend_limits(price: Price, parts: list[Part]) -> list[Part]:
    """Add the minimum-spend top-up or maximum-spend reduction of a price's month.

    The limits apply to a charge that has usage in the month; the adjustment is a part of its
    own (precise amount = limit - spent), so the invoice shows it on a line of its own.
    """
    spent = total(part.amount for part in parts)
    low, high = price.minimum_spend, price.maximum_spend
    if low is not None and spent < low:
        return [*parts, fee_part(price.category, Kind.MINIMUM_SPEND, low - spent)]
    if high is not None and spent > high:
        return [*parts, fee_part(price.category, Kind.MAXIMUM_SPEND, high - spent)]
    return parts
