"""Live rating: keep each month's counters current as usage arrives (no I/O, in memory).

A :class:`LiveRater` is fed usage one at a time (:meth:`LiveRater.add`), in any order, and at
any moment answers with the parts and invoice lines of a billing account's month, equal to
what the reference kernel (:func:`ratecard.rating.engine.rate`) gives for the same usage.

* Pooled usage lives in a counter per (counter owner, pool name, month), holding its usages in
  (time, event id, account) order with the count before each one and its priced parts. An
  event in order is appended and priced from the running count: O(1) amortized. A late event
  is inserted at its place and only the tail after it is re-rated (its own counter only).
* Other prices are grouped per (billing account, price, month) as the reference groups them;
  their parts are recomputed with the reference model when read after a change (volume,
  package and spend limits depend on the whole month anyway).

Money: parts carry precise amounts (never rounded); lines are rounded once each by
:func:`ratecard.billing.invoice.assemble_lines`. Deduplication of event ids is the store's
job: adding the same usage twice counts it twice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ratecard.billing.invoice import Line, assemble_lines
from ratecard.billing.periods import Month
from ratecard.catalog.model import Catalog
from ratecard.errors import NoPriceError
from ratecard.money import ZERO
from ratecard.rating.engine import Unpriced, spend_limits
from ratecard.rating.models.base import Price
from ratecard.rating.models.pooled import Pool
from ratecard.rating.parts import Part
from ratecard.usage.metered import Usage

OrderKey = tuple[datetime, str, str]


@dataclass
class PoolCounter:
    """One pool's monthly counter: usages in order, the count before each, their parts."""

    keys: list[OrderKey] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)  # the catalog version's pool per usage
    before: list[Decimal] = field(default_factory=list)
    parts: list[list[Part]] = field(default_factory=list)
    counted: Decimal = ZERO
    rerated: int = 0  # usages priced again because a late one came before them (diagnostics)

    def add(self, usage: Usage, pool: Pool) -> None:
        """Insert ``usage`` at its place; price it and re-price only the usages after it."""
        position = bisect_right(self.keys, usage.order_key)
        self.keys.insert(position, usage.order_key)
        self.usages.insert(position, usage)
        self.pools.insert(position, pool)
        self.before.insert(position, ZERO)
        self.parts.insert(position, [])
        counted = (
            self.before[position - 1] + self.usages[position - 1].quantity if position else ZERO
        )
        self.rerated += len(self.usages) - position - 1
        for index in range(position, len(self.usages)):
            self.before[index] = counted
            self.parts[index], counted = self.pools[index].charge([self.usages[index]], counted)
        self.counted = counted

    def all_parts(self) -> list[Part]:
        return [part for parts in self.parts for part in parts]


@dataclass
class PricedGroup:
    """One billing account's month of one price: usages in order, parts cached until a change."""

    price: Price
    keys: list[OrderKey] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)
    _parts: list[Part] | None = None

    def add(self, usage: Usage) -> None:
        position = bisect_right(self.keys, usage.order_key)
        self.keys.insert(position, usage.order_key)
        self.usages.insert(position, usage)
        self._parts = None

    def all_parts(self) -> list[Part]:
        if self._parts is None:
            self._parts = spend_limits(self.price, self.price.charge(self.usages))
        return self._parts


class LiveRater:
    """Incremental rating of a stream of usage; answers equal the reference kernel's."""

    def __init__(self, catalog: Catalog, billing_account_of: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.billing_account_of = billing_account_of
        self.counters: dict[tuple[str, str, Month], PoolCounter] = {}
        self.groups: dict[tuple[str, int, Month], PricedGroup] = {}
        # What each (billing account, month) is made of, for reads.
        self._members: dict[tuple[str, Month], list[PoolCounter | PricedGroup]] = defaultdict(list)

    def add(self, usage: Usage) -> None:
        """Rate ``usage`` now; raise NoPriceError (and keep nothing) if it has no price."""
        owner = self.billing_account_of[usage.account]
        month = Month.of(usage.time)
        charge = self.catalog.at(usage.time).charge_for(usage.category, usage.country)
        if charge is None:
            raise NoPriceError([Unpriced(usage.category, usage.country, usage.event_id, 1)])
        if isinstance(charge, Pool):
            counter = owner if charge.scope == "billing_account" else usage.account
            # The counter's invoice is its billing account's, as in the reference kernel.
            key = (counter, charge.name, month)
            if key not in self.counters:
                self.counters[key] = PoolCounter()
                self._members[(self.billing_account_of[counter], month)].append(self.counters[key])
            self.counters[key].add(usage, charge)
            return
        group_key = (owner, id(charge), month)
        if group_key not in self.groups:
            self.groups[group_key] = PricedGroup(charge)
            self._members[(owner, month)].append(self.groups[group_key])
        self.groups[group_key].add(usage)

    def parts(self, billing_account: str, month: Month) -> list[Part]:
        """Current parts of ``billing_account``'s ``month`` (precise amounts)."""
        return [
            part
            for member in self._members.get((billing_account, month), [])
            for part in member.all_parts()
        ]

    def lines(self, billing_account: str, month: Month) -> tuple[Line, ...]:
        """Current draft invoice lines of ``billing_account``'s ``month``, rounded once each."""
        return assemble_lines(self.parts(billing_account, month), self.catalog)

    def billing_months(self) -> list[tuple[str, Month]]:
        """Every (billing account, month) with usage so far."""
        return list(self._members)
