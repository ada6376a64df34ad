"""Usage records: rated usage per category per period, priced by the rating of invoices.

This is what the vendor-compatible ``/2010-04-01/.../Usage/Records`` endpoints serve. A record
says, for one account scope, one category and one period of whole UTC days, how many units were
used (``usage``, in the category's unit after per-call rounding), how many usage items made them
(``count``: calls, messages, number charges, ...) and what they cost (``price``).

How a period is priced, exactly
-------------------------------
Rating is monthly, pooled and chronological (SPEC section 4): the price of one event depends on
everything before it in its month. So each calendar month a period touches is rated with the
very functions invoices use (:func:`~ratecard.usage.normalize.normalize`,
:func:`~ratecard.rating.engine.rate`, :func:`~ratecard.rating.lines.assemble_lines`) on the
same stored events, and the month is cut into periods by **cumulative rating**: the exact,
unrounded amount of a category up to an instant ``t`` is the rating of the month's usage before
``t``; a period ``[a, b)`` inside the month is charged ``amount(b) - amount(a)``. Because rating
is marginal and nothing already rated is re-priced, this is the cost the period's usage added,
given everything earlier in the month: a call that crossed the voice threshold is charged on
the day it was made, at the split the invoice shows. Month-level charges that are not tied to
one event (a minimum-spend top-up, a volume price that re-prices the whole month) land on the
day whose usage triggered them. Summed over all periods of a month, the amounts telescope to
the month's exact total, so nothing is lost or counted twice.

Rounding follows the invoice: a period that covers a whole calendar month is priced with the
invoice's own rounded line amounts for the category (each line rounded once, half-up), so a
monthly record equals the invoice; a period that covers only part of a month keeps the exact
amount (never rounded: daily records add up to the invoice's precise amounts). A record that
spans several months adds the two. A finalized month is rated from the events its invoice
billed, so its records keep equalling that invoice: events that arrive for it later are billed
as adjustment lines of a later invoice (priced after everything the month billed) and are not
usage of the finalized month's records; an open month counts every event in the month it
happened.

Flex plans apply as on the invoice (:func:`~ratecard.flex.billing.apply_flex`): seats are
usage of the plan's category, voice on Named User / Active User Hours is usage of the unbundled
categories, and ``usage`` is the billable quantity (units included in a plan's quotas or free
hours are the invoice's 0.00 lines and are not counted in it).

Scope: a parent account's records include its subaccounts unless asked not to; a part of the
rating that belongs to no single account (a minimum-spend top-up) belongs to the billing
account, as on the invoice's per-account breakdown.

Rollups: the vendor's summary categories add up families of categories: ``totalprice`` (usage
and price: the sum of every category's price, in the currency), ``calls`` (every ``calls-*``
category), ``sms`` (every ``sms-*`` and ``mms-*`` category) and ``phonenumbers`` (every
``phonenumbers-*`` category), each with count, usage and price summed (the usage unit is the
members' unit, or ``units`` if they differ). A rollup is returned only when asked for by
name, so summing an unfiltered listing never counts anything twice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ratecard.accounts import Account, billing_accounts
from ratecard.billing import coverage
from ratecard.catalog import Catalog
from ratecard.errors import NotFoundError
from ratecard.flex.billing import apply_flex
from ratecard.money import ZERO, add, places, plain, total
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.rating.engine import rate
from ratecard.rating.lines import assemble_lines
from ratecard.service.invoices import load_events, stored_events
from ratecard.service.live import live_months
from ratecard.service.ports import Store, UnitOfWork, load_instances
from ratecard.usage.events import Event
from ratecard.usage.normalize import normalize

TOTAL_PRICE = "totalprice"
#: rollup category -> (description, the category families it adds up: ``root`` or ``root-*``)
ROLLUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "calls": ("Voice minutes, all call categories", ("calls",)),
    "sms": ("Messages, all SMS and MMS categories", ("sms", "mms")),
    "phonenumbers": ("Phone numbers, all number categories", ("phonenumbers",)),
}
#: every category a query may name beyond the catalog's own
SUMMARY_CATEGORIES = frozenset({TOTAL_PRICE, *ROLLUPS})
GRANULARITIES = ("range", "daily", "monthly", "yearly")
#: count units of the vendor, by category prefix (its usage unit comes from the catalog)
COUNT_UNITS = (("calls", "calls"), ("sms", "messages"), ("mms", "messages"))


@dataclass(frozen=True)
class Query:
    """What to list: ``account``'s usage from ``start`` to ``end`` (UTC dates, inclusive)."""

    account: str
    start: date
    end: date
    granularity: str = "range"  # one of GRANULARITIES
    category: str | None = None
    include_subaccounts: bool = True


@dataclass(frozen=True)
class Record:
    """One usage record. ``price`` is exact (see the module docstring for its rounding)."""

    account: str
    category: str
    description: str
    start: date
    end: date
    count: int | None
    count_unit: str
    usage: Decimal
    usage_unit: str
    price: Decimal
    price_unit: str


@dataclass
class _Totals:
    count: int = 0
    usage: Decimal = ZERO
    price: Decimal = ZERO


def money_text(value: Decimal) -> str:
    """A price as the vendor writes it: a decimal string with at least two places."""
    value = plain(value)
    return f"{value:.2f}" if places(value) < 2 else f"{value:f}"


def periods(query: Query) -> list[tuple[date, date]]:
    """The periods of ``query`` (inclusive dates), in order, clipped to its range."""
    if query.granularity == "range":
        return [(query.start, query.end)]
    result = []
    day = query.start
    while day <= query.end:
        if query.granularity == "daily":
            last = day
        elif query.granularity == "monthly":
            last = date(day.year, day.month, Month(day.year, day.month).days)
        else:
            last = date(day.year, 12, 31)
        last = min(last, query.end)
        result.append((day, last))
        day = last + timedelta(days=1)
    return result


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


class _MonthRating:
    """One month of a billing account rated once, then cut at any instant (cumulatively)."""

    def __init__(
        self,
        catalog: Catalog,
        accounts: Sequence[Account],
        usages: list[Usage],
        owner: str,
        scope: frozenset[str],
        included: Sequence[Part] = (),
        whole: Sequence[Part] | None = None,
    ) -> None:
        self.catalog = catalog
        self.owners = billing_accounts(accounts)
        self.usages = sorted(usages, key=lambda u: u.order_key)
        self.times = [u.time for u in self.usages]
        self.owner = owner
        self.scope = scope
        self._cut: dict[int, dict[str, Decimal]] = {0: {}}
        self.included = [p for p in included if (p.account or owner) in scope]
        # ``whole``: the month's parts already rated (live), else rated here
        rated = (
            self._parts(len(self.usages))
            if whole is None
            else [p for p in whole if (p.account or owner) in scope]
        )
        whole = rated + self.included
        self.rounded: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in assemble_lines(whole, catalog):
            self.rounded[line.category] = add(self.rounded[line.category], line.amount)

    def _parts(self, count: int) -> list[Part]:
        parts = rate(self.catalog, self.usages[:count], self.owners).get(self.owner, [])
        return [p for p in parts if (p.account or self.owner) in self.scope]

    def amounts_before(self, moment: datetime) -> dict[str, Decimal]:
        """Exact amount per category of the month's usage before ``moment``."""
        count = bisect_left(self.times, moment)
        if count not in self._cut:
            sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for part in self._parts(count):
                sums[part.category] = add(sums[part.category], part.amount)
            self._cut[count] = dict(sums)
        return self._cut[count]

    def usage_between(self, a: datetime, b: datetime) -> list[Usage]:
        low, high = bisect_left(self.times, a), bisect_left(self.times, b)
        return [u for u in self.usages[low:high] if u.account in self.scope]


def _scope(accounts: Sequence[Account], query: Query) -> tuple[str, frozenset[str]]:
    """The billing account to rate and the accounts whose usage the records show."""
    account = next((a for a in accounts if a.sid == query.account), None)
    if account is None:
        raise NotFoundError(f"account {query.account} does not exist")
    if account.parent is not None:
        return account.parent, frozenset({account.sid})
    members = {account.sid}
    if query.include_subaccounts:
        members |= {a.sid for a in accounts if a.parent == account.sid}
    return account.sid, frozenset(members)


def _month_events(uow: UnitOfWork, owner: str, members: Sequence[str], month: Month) -> list[Event]:
    """The stored events a past month's records are rated from: all of them, or, once the
    month is finalized, the events its invoice billed (late events are billed, and shown, as
    adjustment lines of a later invoice), so its monthly records equal its invoice."""
    final = uow.invoices.current(owner, str(month))
    if final is None or final.status != "finalized":
        return load_events(uow, members, month)
    billed = final.coverage.get(str(month), ())
    return [
        event for seq, event in stored_events(uow, members, month) if coverage.contains(billed, seq)
    ]


def _rated_months(
    db: Store, catalog: Catalog, query: Query, today: date
) -> tuple[str, list[tuple[Month, _MonthRating]]]:
    current = Month.of(today)
    read: dict[Month, list[Event]] = {}
    with db.unit_of_work() as uow:
        accounts = uow.accounts.list()
        owner, scope = _scope(accounts, query)
        members = [a.sid for a in accounts if a.sid == owner or a.parent == owner]
        span = uow.events.time_span(members)
        if span is None:
            return owner, []
        # number charges recur after the last event, so the span runs to this month at least
        first = Month.of(span[0])
        last = max(Month.of(span[1]), Month.of(today))
        start = max(first, Month.of(query.start))
        stop = min(last, Month.of(query.end))
        instances = load_instances(uow)
        month = start
        while month <= stop:
            if month != current:
                read[month] = _month_events(uow, owner, members, month)
            month = month.next()
    flex = bool(instances) and catalog.flex is not None
    rated = []
    month = start
    while month <= stop:
        whole: list[Part] | None = None
        if month in read:
            events = read[month]
            usages = normalize(events, catalog.categories, month.start, month.end)
        else:  # the current month: live (caught up with the store, rated incrementally)
            live = live_months(db).month(db, catalog, owner, members, month, not flex)
            events = live.events
            if live.usages is not None and live.parts is not None:
                usages, whole = live.usages, live.parts
            else:
                usages = normalize(events, catalog.categories, month.start, month.end)
        included: list[Part] = []
        if flex:  # exactly as bill_month does
            assert catalog.flex is not None
            usages, included = apply_flex(catalog.flex, instances, events, usages, month)
        rating = _MonthRating(catalog, accounts, usages, owner, scope, included, whole)
        rated.append((month, rating))
        month = month.next()
    return owner, rated


def usage_records(db: Store, catalog: Catalog, query: Query, today: date) -> list[Record]:
    """The records of ``query``, ordered by period then category name."""
    _, rated = _rated_months(db, catalog, query, today)
    wanted = [query.category] if query.category else None
    records: list[Record] = []
    for first_day, last_day in periods(query):
        totals: dict[str, _Totals] = defaultdict(_Totals)
        a, b = _instant(first_day), _instant(last_day + timedelta(days=1))
        for month, rating in rated:
            if b <= month.start or a >= month.end:
                continue
            _add_month(totals, month, rating, max(a, month.start), min(b, month.end))
        records.extend(_records(catalog, query, first_day, last_day, totals, wanted))
    return records


def _add_month(
    totals: dict[str, _Totals], month: Month, rating: _MonthRating, a: datetime, b: datetime
) -> None:
    for usage in rating.usage_between(a, b):
        slot = totals[usage.category]
        slot.count += 1
        slot.usage = add(slot.usage, usage.quantity)
    if a == month.start and b == month.end:
        prices = dict(rating.rounded)
    else:
        before, through = rating.amounts_before(a), rating.amounts_before(b)
        prices = {c: through[c] - before.get(c, ZERO) for c in through}
    for category, price in prices.items():
        totals[category].price = add(totals[category].price, price)


def _records(
    catalog: Catalog,
    query: Query,
    first_day: date,
    last_day: date,
    totals: dict[str, _Totals],
    wanted: list[str] | None,
) -> list[Record]:
    unit = catalog.currency.lower()
    result = []
    if wanted == [TOTAL_PRICE]:
        price = total(t.price for t in totals.values())
        fields = (None, "", price, unit, price, unit)
        return [Record(query.account, TOTAL_PRICE, "Total Price", first_day, last_day, *fields)]
    if wanted is not None and wanted[0] in ROLLUPS:
        return [_rollup(catalog, query, first_day, last_day, totals, wanted[0])]
    names = wanted or sorted(totals)
    for name in names:
        slot = totals.get(name, _Totals())
        if wanted is None and not (slot.count or slot.usage or slot.price):
            continue
        category = catalog.categories.get(name)
        result.append(
            Record(
                account=query.account,
                category=name,
                description=category.description if category else name,
                start=first_day,
                end=last_day,
                count=slot.count,
                count_unit=_count_unit(name),
                usage=plain(slot.usage),
                usage_unit=category.unit if category else "units",
                price=slot.price,
                price_unit=unit,
            )
        )
    return result


def _count_unit(category: str) -> str:
    return next((u for prefix, u in COUNT_UNITS if category.startswith(prefix)), "")


def _rollup(
    catalog: Catalog,
    query: Query,
    first_day: date,
    last_day: date,
    totals: dict[str, _Totals],
    name: str,
) -> Record:
    """The record of rollup ``name``: its member categories' counts, usages and prices summed
    (the prices as each member's record has them, so a whole month is the invoice's)."""
    description, roots = ROLLUPS[name]

    def member(category: str) -> bool:
        return any(category == root or category.startswith(f"{root}-") for root in roots)

    slots = [t for c, t in totals.items() if member(c)]
    units = {c.unit for n, c in catalog.categories.items() if member(n)}
    return Record(
        account=query.account,
        category=name,
        description=description,
        start=first_day,
        end=last_day,
        count=sum(t.count for t in slots),
        count_unit=_count_unit(name),
        usage=plain(total(t.usage for t in slots)),
        usage_unit=units.pop() if len(units) == 1 else "units",
        price=total(t.price for t in slots),
        price_unit=catalog.currency.lower(),
    )
