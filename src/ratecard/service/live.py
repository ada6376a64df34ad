"""Live rating in the service: the current month's stored usage, kept rated in memory.

A usage query (:mod:`ratecard.service.usage_records`) or a draft invoice of one billing account
(:func:`ratecard.service.invoices.generate`) used to read, parse, meter and rate the whole month
on every call. :class:`LiveMonths` keeps, per (billing account's members, month) and catalog
(compared by value, so a catalog loaded again keeps the entry), the month's parsed events,
their metered usage and a :class:`~ratecard.rating.live.LiveRater` fed with that usage, plus
the highest event ``seq`` read. Each use first catches up from the store: under
:meth:`~ratecard.store.repositories.EventRepository.freeze` (no ingestion in flight, so no
smaller ``seq`` can still commit), only the events stored after that ``seq`` are read and
added, whichever process stored them. An event is therefore reflected the moment it is stored,
and a late (out-of-order) event re-rates only the tail of its own pool counter.

The incremental path is used only where metering is per event: a month with number events
(anniversary charges come from the number's whole history) or with Flex plans to apply, or
with usage that has no price, answers ``rater=None`` and the caller rates the month as before.
Everything here is an optimisation: the answers equal a fresh month close (tested).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ratecard.catalog import Catalog
from ratecard.errors import NoPriceError
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Part
from ratecard.rating.live import LiveRater
from ratecard.service.ports import Store, UnitOfWork
from ratecard.usage.events import Event, NumberPurchased, NumberReleased, parse_event
from ratecard.usage.normalize import normalize

_LIMIT = 256  # (members, month) entries kept per database; the least recently used go first


@dataclass
class LiveMonth:
    """One month of one billing account's members, as of event ``seq``."""

    catalog: Catalog
    seq: int = 0
    events: list[Event] = field(default_factory=list)  # in storage order, as for_billing
    usages: list[Usage] = field(default_factory=list)  # metered, when ``rater`` is kept
    rater: LiveRater | None = None


@dataclass(frozen=True)
class Snapshot:
    """What a reader gets: copies, consistent with each other, safe from later catch-ups.
    ``usages`` and ``parts`` are None where the month is not rated incrementally."""

    events: list[Event]
    usages: list[Usage] | None
    parts: list[Part] | None


class LiveMonths:
    """The live months of one database (thread-safe; one lock, held while catching up).

    Lock order: this cache's lock first, then the store's ingestion freeze (:meth:`month` and
    :meth:`frozen` both take them so), never the other way round: a thread holding the freeze
    while waiting for the lock could wait forever on one that waits, behind a queued
    ingestion, for the freeze.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[tuple[str, ...], Month], LiveMonth] = OrderedDict()

    def month(
        self,
        db: Store,
        catalog: Catalog,
        owner: str,
        members: Sequence[str],
        month: Month,
        incremental: bool,
    ) -> Snapshot:
        """The month caught up with the store; ``owner``'s parts of it when rated live.
        ``incremental`` False (Flex applies): events only, no rater."""
        key = (tuple(sorted(members)), month)
        with self._lock:
            with db.unit_of_work() as uow:  # the freeze is held only while reading
                uow.events.freeze()
                entry, last, rows = self._pending(uow, key, catalog, owner)
            return self._advance(key, entry, last, rows, owner, incremental)

    @contextmanager
    def frozen(self, db: Store) -> Iterator[UnitOfWork]:
        """This cache's lock, then a unit of work holding the ingestion freeze: for
        :meth:`catch_up` and writes that must reflect exactly the events it read (a draft
        invoice and its ``through_seq``). Nothing is committed unless the caller commits."""
        with self._lock, db.unit_of_work() as uow:
            uow.events.freeze()
            yield uow

    def catch_up(
        self,
        uow: UnitOfWork,
        catalog: Catalog,
        owner: str,
        members: Sequence[str],
        month: Month,
    ) -> Snapshot:
        """:meth:`month` (rated live where it can be) inside :meth:`frozen`: the month as of
        ``uow``'s transaction, whose ``uow.events.last_seq()`` is the snapshot's high-water
        mark."""
        assert self._lock.locked(), "catch_up runs inside LiveMonths.frozen"
        key = (tuple(sorted(members)), month)
        entry, last, rows = self._pending(uow, key, catalog, owner)
        return self._advance(key, entry, last, rows, owner, True)

    def _pending(
        self,
        uow: UnitOfWork,
        key: tuple[tuple[str, ...], Month],
        catalog: Catalog,
        owner: str,
    ) -> tuple[LiveMonth, int, list[tuple[int, str]]]:
        """The cached entry (or a new one), the store's last ``seq`` and the rows the entry
        lacks, read in ``uow`` (which holds the freeze)."""
        members, month = key
        entry = self._entries.get(key)
        if entry is not None and entry.catalog != catalog:  # equal: loaded again, same prices
            entry = None
        last = uow.events.last_seq()
        if entry is not None and entry.seq > last:  # the store was emptied: rebuild
            entry = None
        if entry is None:
            entry = LiveMonth(catalog)
            entry.rater = LiveRater(catalog, dict.fromkeys(members, owner))
        rows = (
            uow.events.for_billing_after(list(members), entry.seq, month.start, month.end)
            if last > entry.seq
            else []
        )
        return entry, last, rows

    def _advance(
        self,
        key: tuple[tuple[str, ...], Month],
        entry: LiveMonth,
        last: int,
        rows: list[tuple[int, str]],
        owner: str,
        incremental: bool,
    ) -> Snapshot:
        """Add ``rows`` to ``entry``, keep it (least recently used last) and answer with a
        snapshot. An error half-way forgets the entry: the next use rebuilds it."""
        month = key[1]
        try:
            fresh = [parse_event(json.loads(body), "stored event") for _, body in rows]
            if rows:
                entry.seq = rows[-1][0]
            entry.seq = max(entry.seq, last)
            entry.events.extend(fresh)
            if not incremental:
                entry.rater = None
            if entry.rater is not None:
                _feed(entry, fresh, entry.catalog, month)
        except BaseException:
            self._entries.pop(key, None)
            raise
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > _LIMIT:
            self._entries.popitem(last=False)
        if entry.rater is None:
            return Snapshot(list(entry.events), None, None)
        parts = entry.rater.parts(owner, month)
        return Snapshot(list(entry.events), list(entry.usages), parts)

    def rater(self, members: Sequence[str], month: Month) -> LiveRater | None:
        """The live rater of ``members``' ``month`` as last caught up (None: not kept or not
        rated live). For diagnostics and tests: read it, do not feed it."""
        with self._lock:
            entry = self._entries.get((tuple(sorted(members)), month))
            return None if entry is None else entry.rater


def _feed(entry: LiveMonth, events: list[Event], catalog: Catalog, month: Month) -> None:
    """Meter and rate ``events`` into ``entry``; drop the rater where it cannot be exact."""
    assert entry.rater is not None
    if any(isinstance(e, NumberPurchased | NumberReleased) for e in events):
        entry.rater = None
        entry.usages = []
        return
    usages = normalize(events, catalog.categories, month.start, month.end)
    try:
        entry.rater.add_all(usages)
    except NoPriceError:  # the reference path reports every unpriced usage
        entry.rater = None
        entry.usages = []
        return
    entry.usages.extend(usages)


_REGISTRY: weakref.WeakKeyDictionary[Store, LiveMonths] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def live_months(db: Store) -> LiveMonths:
    """The live months of ``db`` (one cache per Database object in this process)."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(db)
        if found is None:
            found = _REGISTRY[db] = LiveMonths()
        return found
