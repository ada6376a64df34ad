"""Idempotent ingestion of usage events (SPEC section 7).

An event is identified by (account, id). Storing it is one ``INSERT ... ON CONFLICT DO
NOTHING`` under the unique constraint on that pair; an event that was not inserted already
exists, and comparing canonical JSON tells an exact resend (a *duplicate*, a no-op) from a
reuse of the id with different content (a *conflict*, refused). The constraint, not a prior
read, decides, so concurrent writers of overlapping batches store every event exactly once.

* :func:`ingest_batch`: all or nothing. Any invalid, unknown-account, conflicting or (under
  the ``reject`` policy) late event refuses the whole batch; the error lists every one.
* :func:`store_events`: the per-event form used by file imports: refused events are
  returned with their problems and everything else in the batch is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import ConflictError, EventError, Problem
from ratecard.periods import Month
from ratecard.service import triggers
from ratecard.service.ports import Store, UnitOfWork
from ratecard.service.settings import LatePolicy, Settings
from ratecard.store.database import retrying
from ratecard.usage.billable import billable
from ratecard.usage.events import (
    Event,
    NewEvent,
    TimeWindow,
    in_input_order,
    new_event,
    parse_batch,
)


@dataclass
class Outcome:
    """Counts of one ingestion: stored now, already stored (duplicates), refused."""

    stored: int = 0
    duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len({p.where for p in self.problems})

    def add(self, other: Outcome) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.problems.extend(other.problems)


def validate(
    items: Sequence[tuple[str, Any]], window: TimeWindow, catalog: Catalog
) -> tuple[list[tuple[str, Event]], list[Problem]]:
    """Parse ``(where, object)`` pairs: the valid events and the problems of the others.

    A batch without problems is validated in one pydantic-core call (:func:`parse_batch`).
    ``window`` (``settings.time_window(now, catalog)``) holds the event times accepted; an event the
    ``catalog`` can never price is refused too (:func:`~ratecard.usage.billable.billable`).
    Problems come in input order.
    """
    events, problems = parse_batch(items, window)
    events, unbillable = billable(events, catalog)
    if not unbillable:
        return events, problems
    return events, in_input_order(items, [*problems, *unbillable])


def store_events(
    uow: UnitOfWork,
    events: Sequence[tuple[str, Event]],
    policy: LatePolicy,
    now: datetime,
    parents: Mapping[str, str | None] | None = None,
) -> Outcome:
    """Store the acceptable events of a batch inside the caller's transaction.

    Returns the counts and one problem per refused event (unknown account, id reused with
    different content, late under the ``reject`` policy). Refused events are not written.
    ``parents`` (each stored account of the batch with its parent, as
    :meth:`~ratecard.store.repositories.AccountRepository.parents` answers) saves reading them
    again when the caller already has them; accounts are never deleted, so it stays true.
    """
    return store_new(uow, [(where, new_event(e)) for where, e in events], policy, now, parents)


def store_new(
    uow: UnitOfWork,
    events: Sequence[tuple[str, NewEvent]],
    policy: LatePolicy,
    now: datetime,
    parents: Mapping[str, str | None] | None = None,
) -> Outcome:
    """:func:`store_events` of events already in their stored form (``(where, NewEvent)``
    pairs: validated, with their canonical JSON)."""
    outcome = Outcome()
    accepted = _dedupe_batch(events, outcome)
    accepted = _check_accounts(uow, accepted, policy, outcome, parents)
    inserted = uow.events.insert_new([row for _, row in accepted], now)
    outcome.stored += len(inserted)
    if len(inserted) == len(accepted):
        return outcome
    missing = [
        (e.account, e.event_id) for _, e in accepted if (e.account, e.event_id) not in inserted
    ]
    stored = uow.events.bodies(missing)
    for where, event in accepted:
        key = (event.account, event.event_id)
        if key in inserted:
            continue
        if stored.get(key) == event.body:
            outcome.duplicates += 1
        else:
            outcome.problems.append(
                Problem(
                    where,
                    f"event id {event.event_id!r} is already stored for account "
                    f"{event.account} with different content (a resend must be identical)",
                    "id",
                )
            )
    return outcome


def _dedupe_batch(
    events: Sequence[tuple[str, NewEvent]], outcome: Outcome
) -> list[tuple[str, NewEvent]]:
    """Drop exact repeats inside the batch (duplicates); refuse repeats that differ."""
    first: dict[tuple[str, str], tuple[str, str]] = {}
    kept: list[tuple[str, NewEvent]] = []
    for where, event in events:
        key = (event.account, event.event_id)
        seen = first.get(key)
        if seen is None:
            first[key] = (where, event.body)
            kept.append((where, event))
        elif seen[1] == event.body:
            outcome.duplicates += 1
        else:
            outcome.problems.append(
                Problem(
                    where,
                    f"event id {event.event_id!r} was already used at {seen[0]} with "
                    "different content (a resend must be identical)",
                    "id",
                )
            )
    return kept


def _check_accounts(
    uow: UnitOfWork,
    events: list[tuple[str, NewEvent]],
    policy: LatePolicy,
    outcome: Outcome,
    known: Mapping[str, str | None] | None = None,
) -> list[tuple[str, NewEvent]]:
    wanted = {e.account for _, e in events}
    if known is not None and wanted <= known.keys():
        parents = {sid: known[sid] for sid in wanted}
    else:
        parents = uow.accounts.parents(wanted)
    finalized: set[tuple[str, str]] = set()
    if policy is LatePolicy.REJECT:
        owners = {parent or sid for sid, parent in parents.items()}
        uow.events.claim()  # a finalize commits before this read, or waits for our commit
        finalized = uow.invoices.finalized_months(owners)
    kept = []
    for where, event in events:
        if event.account not in parents:
            outcome.problems.append(
                Problem(
                    where,
                    f"account {event.account} does not exist; create it first "
                    "('ratecard accounts create')",
                    "account",
                )
            )
            continue
        if not finalized:
            kept.append((where, event))
            continue
        owner = parents[event.account] or event.account
        month = str(Month.of(event.time))
        if (owner, month) in finalized:
            outcome.problems.append(
                Problem(
                    where,
                    f"the {month} invoice of billing account {owner} is finalized and the "
                    "late-event policy is 'reject': events for that month are refused",
                    "time",
                )
            )
            continue
        kept.append((where, event))
    return kept


def ingest_batch(
    db: Store,
    items: Sequence[Any],
    settings: Settings,
    now: datetime | None = None,
    label: str = "events",
) -> Outcome:
    """Store a batch atomically: every event, or none and an EventError naming each bad one.

    ``items`` are event objects (dicts); problems are located as ``events[INDEX]``. A
    conflict with a stored event raises :class:`~ratecard.errors.ConflictError`.
    """
    moment = now or datetime.now(UTC)
    batch = [(f"{label}[{i}]", item) for i, item in enumerate(items)]
    catalog = load_catalog(settings.catalog)
    events, problems = validate(batch, settings.time_window(moment, catalog), catalog)
    if problems:
        raise EventError(problems)
    return ingest_valid(db, events, settings, moment)


def ingest_valid(
    db: Store,
    events: Sequence[tuple[str, Event]],
    settings: Settings,
    now: datetime | None = None,
    parents: Mapping[str, str | None] | None = None,
) -> Outcome:
    """:func:`ingest_batch` of events already validated (``(where, event)`` pairs, as
    :func:`validate` returns them); ``parents`` as for :func:`store_events`."""
    return ingest_new(db, [(where, new_event(e)) for where, e in events], settings, now, parents)


def ingest_new(
    db: Store,
    events: Sequence[tuple[str, NewEvent]],
    settings: Settings,
    now: datetime | None = None,
    parents: Mapping[str, str | None] | None = None,
) -> Outcome:
    """:func:`ingest_valid` of events already in their stored form (see :func:`store_new`)."""

    def work() -> Outcome:
        with db.unit_of_work() as uow:
            moment = now or datetime.now(UTC)
            outcome = store_new(uow, events, settings.late_policy, moment, parents)
            if outcome.problems:
                conflict = all(p.field == "id" for p in outcome.problems)
                raise (ConflictError if conflict else EventError)(outcome.problems)
            uow.commit()
            return outcome

    outcome = retrying(work)
    triggers.after_ingest(db, settings, {e.account for _, e in events}, now)  # usage triggers
    return outcome
