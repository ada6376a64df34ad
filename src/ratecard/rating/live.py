"""Live rating: keep each month's counters current as usage arrives (no I/O, in memory).

A :class:`LiveRater` is fed usage one at a time (:meth:`LiveRater.add`), in any order, and at
any moment answers with the parts and invoice lines of a billing account's month, equal to
what the reference kernel (:func:`ratecard.rating.engine.rate`) gives for the same usage.

* Pooled usage lives in a counter per (counter owner, pool name, month), holding its usages in
  (time, event id, account) order with the count before each one and its priced parts. An
  event in order is appended and priced from the running count: O(1) amortized. A late event
  is inserted at its place and only the tail after it is re-rated (its own counter only):
  each later usage's count moves, but its parts are priced again only where its tier split
  moved (a usage wholly inside one tier before and after keeps them). Usages added together
  (:meth:`LiveRater.add_all`, one catch-up) walk each counter's tail once.
* Other prices are grouped per (billing account, price, month) as the reference groups them;
  their parts are recomputed with the reference model when read after a change (volume,
  package and spend limits depend on the whole month anyway).

Money: parts carry precise amounts (never rounded); lines are rounded once each by
:func:`ratecard.rating.lines.assemble_lines`. Deduplication of event ids is the store's
job: adding the same usage twice counts it twice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ratecard.catalog.model import Catalog
from ratecard.errors import NoPriceError
from ratecard.money import EXACT, ZERO, add
from ratecard.periods import Month
from ratecard.prices.base import Price
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.prices.pooled import Pool
from ratecard.prices.tiers import tier_of
from ratecard.rating.engine import Unpriced
from ratecard.rating.grouping import CounterKey, OrderKey, counter_key, invoice_owner, order_key
from ratecard.rating.lines import Line, assemble_lines


@dataclass
class PoolCounter:
    """One pool's monthly counter: usages in order, the count before each, their parts."""

    keys: list[OrderKey] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)  # the catalog version's pool per usage
    before: list[Decimal] = field(default_factory=list)
    parts: list[list[Part]] = field(default_factory=list)
    counted: Decimal = ZERO
    # diagnostics: usages whose count moved because a late one came before them, and those of
    # them priced again because their tier split moved
    rerated: int = 0
    repriced: int = 0

    def add(self, usage: Usage, pool: Pool) -> None:
        """Insert ``usage`` at its place; price it and re-price only the usages after it."""
        self.add_all([(usage, pool)])

    def add_all(self, items: Sequence[tuple[Usage, Pool]]) -> None:
        """Insert each usage at its place (after equal keys, in the given order), then walk
        the tail after the earliest one once: the new usages are priced, and of the ones
        already there only those whose tier split moved are priced again. A usage that lies
        wholly in one tier before and after the shift keeps its parts (a part's quantity,
        rate and amount do not depend on the count before it, only its tier does), so the
        parts are those of pricing the whole counter again in order (the reference's)."""
        if not items:
            return
        first = len(self.usages)
        for usage, pool in sorted(items, key=lambda item: order_key(item[0])):
            key = order_key(usage)
            position = bisect_right(self.keys, key)
            self.keys.insert(position, key)
            self.usages.insert(position, usage)
            self.pools.insert(position, pool)
            self.before.insert(position, ZERO)
            self.parts.insert(position, [])  # not priced yet (a priced usage has a part)
            first = min(first, position)
        self.rerated += len(self.usages) - first - len(items)
        counted = add(self.before[first - 1], self.usages[first - 1].quantity) if first else ZERO
        bounds: dict[int, list[Decimal | None]] = {}
        for index in range(first, len(self.usages)):
            usage, pool, parts = self.usages[index], self.pools[index], self.parts[index]
            self.before[index] = counted
            edges = bounds.get(id(pool))
            if edges is None:
                edges = bounds[id(pool)] = pool.bounds
            if parts and _same_tier(edges, parts, counted, usage.quantity):
                counted = add(counted, usage.quantity)  # as Pool.charge counts a whole piece
                continue
            if parts:
                self.repriced += 1
            self.parts[index], counted = pool.charge([usage], counted)
        self.counted = counted

    def all_parts(self) -> list[Part]:
        return [part for parts in self.parts for part in parts]


def _same_tier(
    bounds: list[Decimal | None], parts: list[Part], counted: Decimal, quantity: Decimal
) -> bool:
    """Whether a usage priced as the single part ``parts`` is still wholly in that tier when
    ``counted`` units come before it (``walk`` would give the same one piece)."""
    if len(parts) != 1:
        return False
    index = tier_of(bounds, counted)
    bound = bounds[index]
    fits = bound is None or quantity <= EXACT.subtract(bound, counted)
    return fits and parts[0].tier == index + 1


@dataclass
class PricedGroup:
    """One billing account's month of one price: usages in order, parts cached until a change."""

    price: Price
    keys: list[OrderKey] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)
    _parts: list[Part] | None = None

    def add(self, usage: Usage) -> None:
        key = order_key(usage)
        position = bisect_right(self.keys, key)
        self.keys.insert(position, key)
        self.usages.insert(position, usage)
        self._parts = None

    def all_parts(self) -> list[Part]:
        if self._parts is None:
            self._parts, _ = self.price.rate_run(self.usages)
        return self._parts


class LiveRater:
    """Incremental rating of a stream of usage; answers equal the reference kernel's."""

    def __init__(self, catalog: Catalog, billing_account_of: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.billing_account_of = billing_account_of
        # keyed by (counter sid, pool name or price id, month): the counter key of
        # ratecard.rating.grouping.counter_key and the month
        self.counters: dict[tuple[str, str | int, Month], PoolCounter] = {}
        self.groups: dict[tuple[str, str | int, Month], PricedGroup] = {}
        # What each (billing account, month) is made of, for reads.
        self._members: dict[tuple[str, Month], list[PoolCounter | PricedGroup]] = defaultdict(list)

    def add(self, usage: Usage) -> None:
        """Rate ``usage`` now; raise NoPriceError (and keep nothing) if it has no price."""
        self.add_all([usage])

    def add_all(self, usages: Iterable[Usage]) -> None:
        """Rate ``usages`` now, in any order, walking each pool counter's tail once for them
        all; raise NoPriceError naming every usage without a price (and keep nothing)."""
        pooled: dict[tuple[CounterKey, Month], list[tuple[Usage, Pool]]] = {}
        priced: dict[tuple[CounterKey, Month], tuple[Price, list[Usage]]] = {}
        missing: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for usage in usages:
            owner = self.billing_account_of[usage.account]
            month = Month.of(usage.time)
            charge = self.catalog.at(usage.time).charge_for(usage.category, usage.country)
            if charge is None:
                missing[(usage.category, usage.country)].append(usage.event_id)
                continue
            key = (counter_key(charge, owner, usage.account), month)
            if isinstance(charge, Pool):  # an incremental counter (PoolCounter)
                pooled.setdefault(key, []).append((usage, charge))
            else:  # the month rated again when read (PricedGroup)
                priced.setdefault(key, (charge, []))[1].append(usage)
        if missing:
            raise NoPriceError(
                [Unpriced(c, country, ids[0], len(ids)) for (c, country), ids in missing.items()]
            )
        for (counter, month), items in pooled.items():
            slot = (counter[0], counter[1], month)
            found = self.counters.get(slot)
            if found is None:
                found = self.counters[slot] = PoolCounter()
                # The counter's invoice is its billing account's, as in the reference kernel.
                owner = invoice_owner(counter, self.billing_account_of)
                self._members[(owner, month)].append(found)
            found.add_all(items)
        for (counter, month), (price, group) in priced.items():
            slot = (counter[0], counter[1], month)
            known = self.groups.get(slot)
            if known is None:
                known = self.groups[slot] = PricedGroup(price)
                owner = invoice_owner(counter, self.billing_account_of)
                self._members[(owner, month)].append(known)
            for usage in group:
                known.add(usage)

    def parts(self, billing_account: str, month: Month) -> list[Part]:
        """Current parts of ``billing_account``'s ``month`` (precise amounts)."""
        members = self._members.get((billing_account, month), [])
        # pool counters, then priced groups, each in order of first usage (as rate() orders)
        ordered = sorted(members, key=lambda member: isinstance(member, PricedGroup))
        return [part for member in ordered for part in member.all_parts()]

    def lines(self, billing_account: str, month: Month) -> tuple[Line, ...]:
        """Current draft invoice lines of ``billing_account``'s ``month``, rounded once each."""
        return assemble_lines(self.parts(billing_account, month), self.catalog)

    def billing_months(self) -> list[tuple[str, Month]]:
        """Every (billing account, month) with usage so far."""
        return list(self._members)
