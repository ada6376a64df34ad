"""Invoice handlers: generate drafts from stored events, finalize, void, show.

The service loads plain values (accounts, events parsed from their stored canonical JSON),
calls the pure month pipeline :func:`ratecard.billing.monthly.bill_month`, and stores the
invoice JSON exactly as :func:`ratecard.billing.serialize.invoice_to_dict` produced it, plus
adjustment lines for late events of finalized months (:mod:`ratecard.billing.adjustments`).
One billing account's open draft is rated incrementally instead, from its live month
(:mod:`ratecard.service.live`), where that month can be: the same document either way.
Regenerating a draft from the same data gives the identical document; a finalized document is
never written again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ratecard.accounts import Account
from ratecard.billing import coverage
from ratecard.billing.adjustments import (
    Doc,
    adjustment_lines,
    lines_for,
    with_adjustments,
)
from ratecard.billing.invoice import assemble_invoice
from ratecard.billing.monthly import bill_month, invoice_members
from ratecard.billing.serialize import invoice_to_dict
from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import NotFoundError, StateError
from ratecard.money import D
from ratecard.periods import Month
from ratecard.service.live import live_months
from ratecard.service.ports import LineValues, Store, StoredInvoice, UnitOfWork, load_instances
from ratecard.service.settings import LatePolicy, Settings
from ratecard.store.database import retrying
from ratecard.usage.events import Event, parse_event


@dataclass(frozen=True)
class Generated:
    """What ``generate`` did for one billing account: created, updated, unchanged, finalized."""

    account: str
    month: str
    action: str
    total: str
    currency: str


def render(doc: Doc) -> str:
    """The stored text of an invoice document (the bytes that never change once final)."""
    return json.dumps(doc, indent=2, ensure_ascii=False)


def load_events(uow: UnitOfWork, members: Sequence[str] | None, month: Month) -> list[Event]:
    bodies = uow.events.for_billing(members, month.start, month.end)
    return [parse_event(json.loads(body), "stored event") for body in bodies]


def _members(accounts: Sequence[Account], owner: str) -> list[str]:
    return [a.sid for a in accounts if a.sid == owner or a.parent == owner]


def _billing_account(accounts: Sequence[Account], sid: str) -> Account:
    found = next((a for a in accounts if a.sid == sid), None)
    if found is None:
        raise NotFoundError(f"account {sid} does not exist")
    if found.parent is not None:
        raise NotFoundError(
            f"account {sid} is a subaccount of {found.parent}: its usage is invoiced to the "
            "parent; use --account " + found.parent
        )
    return found


def existed(doc: Doc, accounts: Sequence[Account], month: Month) -> bool:
    """Whether ``doc``'s billing account gets an invoice for ``month``: it existed then (was
    created by the month's last day). An account created later gets none, unless it has
    lines for the month anyway (usage stored before its creation date): that is billed,
    never dropped in silence."""
    created = next(a.created for a in accounts if a.sid == doc["account"])
    return created < month.end.date() or bool(doc["lines"])


def _refuse_not_existing(account: str, month: Month) -> StateError:
    return StateError(
        f"account {account} was created after {month} and has nothing to bill in it: "
        "no invoice for that month"
    )


def generate(
    db: Store,
    month: Month,
    settings: Settings,
    only: str | None = None,
    now: datetime | None = None,
) -> list[Generated]:
    """Compute and store draft invoices of ``month`` for every billing account (or ``only``).

    One billing account's draft is taken from its live month where that is rated live
    (:func:`_live_draft`); everything else is rated here from the stored month. Both give
    the same document, byte for byte (tested).
    """
    catalog = load_catalog(settings.catalog)
    if only is not None:
        drafted = retrying(lambda: _live_draft(db, catalog, month, only, now))
        if drafted is not None:
            return [drafted]

    def work() -> list[Generated]:
        with db.unit_of_work() as uow:
            uow.events.freeze()
            accounts = uow.accounts.list()
            if only is not None:
                _billing_account(accounts, only)
            through = uow.events.last_seq()
            members = _members(accounts, only) if only else None
            events = load_events(uow, members, month)
            flex = load_instances(uow)
            invoices = bill_month(catalog, accounts, events, month, only, flex)
            results = []
            for invoice in invoices:
                doc = invoice_to_dict(invoice)
                if not existed(doc, accounts, month):
                    if only is not None:
                        raise _refuse_not_existing(only, month)
                    continue
                results.append(
                    _store(uow, catalog, accounts, doc, month, through, now or datetime.now(UTC))
                )
            uow.commit()
            return results

    return retrying(work)


def _live_draft(
    db: Store, catalog: Catalog, month: Month, owner: str, now: datetime | None
) -> Generated | None:
    """Store the draft of ``owner``'s ``month`` from its live month; None where the month
    takes the stored-month path of :func:`generate` instead.

    The live month (:mod:`ratecard.service.live`) is caught up in the very transaction that
    stores the draft, under the ingestion freeze, so the document reflects exactly the events
    up to the ``through_seq`` stored with it, whichever process stored them. Its parts (exact,
    in the catalog's currency) equal what :func:`~ratecard.billing.monthly.bill_month` rates
    from the same events; :func:`~ratecard.billing.invoice.assemble_invoice` makes the lines
    as there (each rounded once, half-up, to the currency's minor unit; the total is the sum
    of rounded lines); adjustments for earlier finalized months are added by :func:`_store`
    as on the other path. Not live: a stored Flex instance (Flex billing looks
    at every instance), a finalized month (nothing to draft), and months the live rater gives
    up on (number events, usage without a price).
    """
    cache = live_months(db)
    with cache.frozen(db) as uow:
        accounts = uow.accounts.list()
        account = _billing_account(accounts, owner)
        if load_instances(uow):
            return None
        existing = uow.invoices.current(owner, str(month))
        if existing is not None and existing.status == "finalized":
            return None
        through = uow.events.last_seq()
        members = invoice_members(accounts, account)
        live = cache.catch_up(uow, catalog, owner, [a.sid for a in members], month)
        if live.parts is None:
            return None
        invoice = assemble_invoice(account, members, live.parts, month, catalog)
        doc = invoice_to_dict(invoice)
        if not existed(doc, accounts, month):
            raise _refuse_not_existing(owner, month)
        result = _store(uow, catalog, accounts, doc, month, through, now or datetime.now(UTC))
        uow.commit()
        return result


def _store(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    doc: Doc,
    month: Month,
    through: int,
    now: datetime,
) -> Generated:
    """Store ``doc`` (the month rated from every stored event up to ``through``) as the draft.

    What finalized invoices already bill is left out (:mod:`ratecard.billing.coverage`): a
    month voided and regenerated after a later invoice adjusted some of its events is rated
    without them, and each earlier finalized month with events no finalized invoice bills
    gets adjustment lines for exactly those events.
    """
    owner = doc["account"]
    existing = uow.invoices.current(owner, str(month))
    if existing is not None and existing.status == "finalized":
        stored = json.loads(existing.document)
        return Generated(owner, str(month), "finalized", stored["total"], stored["currency"])
    basis = _basis_of(uow.invoices.finalized(owner), str(month))
    elsewhere = coverage.covered((inv.coverage for inv in basis), str(month))
    own = coverage.subtract(coverage.upto(through), elsewhere)
    if elsewhere:
        doc = _rebill(uow, catalog, accounts, owner, month, own)
    doc, billed = _adjusted(uow, catalog, accounts, doc, month, basis, through)
    text = render(doc)
    values: dict[str, Any] = {
        "account_sid": owner,
        "month": str(month),
        "currency": doc["currency"],
        "total": D(doc["total"]),
        "document": text,
        "through_seq": through,
        "basis": _basis(basis),
        "coverage": coverage.render({str(month): own, **billed}),
        "generated_at": now,
    }
    lines = _line_values(doc)
    if existing is None:
        uow.invoices.add_draft(values, lines)
        action = "created"
    else:
        uow.invoices.replace_draft(existing.id, values, lines)
        action = "unchanged" if existing.document == text else "updated"
    return Generated(owner, str(month), action, doc["total"], doc["currency"])


def _basis_of(finalized: Sequence[StoredInvoice], month: str) -> list[StoredInvoice]:
    """The finalized invoices a draft of ``month`` is computed against
    (:func:`~ratecard.billing.coverage.bills_up_to`)."""
    return [inv for inv in finalized if coverage.bills_up_to(inv.month, inv.coverage, month)]


def _basis(basis: Sequence[StoredInvoice]) -> str:
    return ",".join(str(i) for i in sorted(inv.id for inv in basis))


def stored_events(uow: UnitOfWork, members: Sequence[str], month: Month) -> list[tuple[int, Event]]:
    """(seq, event) of the stored events bearing on ``month``, in storage order."""
    rows = uow.events.for_billing_with_seq(members, month.start, month.end)
    return [(seq, parse_event(json.loads(body), "stored event")) for seq, body in rows]


def _rebill(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    owner: str,
    month: Month,
    ranges: coverage.Ranges,
) -> Doc:
    """``owner``'s ``month`` rated from the stored events in ``ranges`` alone."""
    rows = stored_events(uow, _members(accounts, owner), month)
    events = [event for seq, event in rows if coverage.contains(ranges, seq)]
    (invoice,) = bill_month(catalog, accounts, events, month, owner, load_instances(uow))
    return invoice_to_dict(invoice)


def _adjusted(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    doc: Doc,
    month: Month,
    basis: Sequence[StoredInvoice],
    through: int,
) -> tuple[Doc, dict[str, coverage.Ranges]]:
    """``doc`` plus adjustment lines for late events of earlier finalized months, and the
    ranges of those events per month.

    An earlier month's late events are the events bearing on it that no finalized invoice
    bills. They are priced after everything the month's finalized invoices bill (a later
    :attr:`~ratecard.prices.metered.Usage.phase`), so they take the tier position the month had
    reached when it was finalized and nothing already billed is re-priced: the adjustment is
    the month rated with them minus the month rated without them, line by line, for the
    invoice and for each account of its breakdown (see :mod:`ratecard.billing.adjustments`).
    """
    owner = doc["account"]
    members = _members(accounts, owner)
    main: list[Doc] = []
    per_account: dict[str, list[Doc]] = {}
    billed: dict[str, coverage.Ranges] = {}
    for name in sorted({inv.month for inv in basis if inv.month < str(month)}):
        past = Month.parse(name)
        billers = [inv.coverage[name] for inv in basis if name in inv.coverage]
        done = coverage.covered((inv.coverage for inv in basis), name)
        late = coverage.subtract(coverage.upto(through), done)
        if not uow.events.stored_in(members, late, past.start, past.end):
            continue
        before, after = _late_months(uow, catalog, accounts, owner, past, billers, late)
        for account in [None, *(p["account"] for p in after["subaccounts"])]:
            extra = adjustment_lines(
                lines_for(after, account), lines_for(before, account), name, doc["currency"]
            )
            if account is None:
                main.extend(extra)
            elif extra:
                per_account.setdefault(account, []).extend(extra)
        billed[name] = late
    if not main and not per_account:
        return doc, billed
    return with_adjustments(doc, main, per_account, doc["currency"]), billed


def _late_months(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    owner: str,
    month: Month,
    billers: Sequence[coverage.Ranges],
    late: coverage.Ranges,
) -> tuple[Doc, Doc]:
    """``month`` rated from what ``billers`` bill (each in its own phase, in order), and the
    same with the events in ``late`` rated after all of it."""
    billed: list[Event] = []
    everything: list[Event] = []
    phases: dict[tuple[str, str], int] = {}
    for seq, event in stored_events(uow, _members(accounts, owner), month):
        phase = next((i for i, r in enumerate(billers) if coverage.contains(r, seq)), None)
        if phase is not None:
            billed.append(event)
        elif coverage.contains(late, seq):
            phase = len(billers)
        else:
            continue
        everything.append(event)
        phases[(event.account, event.id)] = phase
    flex = load_instances(uow)
    (before,) = bill_month(catalog, accounts, billed, month, owner, flex, phases)
    (after,) = bill_month(catalog, accounts, everything, month, owner, flex, phases)
    return invoice_to_dict(before), invoice_to_dict(after)


def _line_values(doc: Doc) -> list[LineValues]:
    sections: list[tuple[str | None, list[Doc]]] = [(None, doc["lines"])]
    sections += [(part["account"], part["lines"]) for part in doc["subaccounts"]]
    return [
        LineValues(
            account=account,
            category=line["category"],
            kind=line["kind"],
            pool=line["pool"],
            tier=line["tier"],
            quantity=D(line["quantity"]),
            unit=line["unit"],
            unit_price=None if line["unit_price"] is None else D(line["unit_price"]),
            precise_amount=D(line["precise_amount"]),
            amount=D(line["amount"]),
            original_month=line.get("original_month"),
        )
        for account, lines in sections
        for line in lines
    ]


def finalize(
    db: Store,
    month: Month,
    account: str,
    now: datetime | None = None,
    policy: LatePolicy = LatePolicy.ADJUST_NEXT,
) -> Doc:
    """Finalize the month's draft of ``account``; its document never changes again.

    Under the ``adjust-next`` late policy the draft is finalized as it was generated (events
    stored since are billed as adjustments by a later invoice). Under ``reject`` nothing may
    reach the month after its invoice, so a draft that events of the month were stored after
    is refused as stale; the check holds ingestion (:meth:`EventRepository.freeze`) until the
    finalize commits, and ingestion under ``reject`` reads finalized months only once it holds
    its own lock, so no event slips in between.
    """

    def work() -> Doc:
        with db.unit_of_work() as uow:
            if policy is LatePolicy.REJECT:
                uow.events.freeze()
            invoice = _require(uow, account, month)
            if invoice.status != "draft":
                raise StateError(
                    f"the {month} invoice of {account} is already {invoice.status}; "
                    "only a draft can be finalized"
                )
            if policy is LatePolicy.REJECT:
                _refuse_stale_for_reject(uow, invoice, month, account)
            basis = _basis_of(uow.invoices.finalized(account), str(month))
            if _basis(basis) != invoice.basis:
                raise StateError(
                    f"the {month} draft of {account} is stale: an invoice it was computed "
                    "against was finalized or voided since it was generated; run 'ratecard "
                    "invoices generate' again"
                )
            uow.invoices.set_status(invoice.id, "draft", "finalized", now or datetime.now(UTC))
            uow.commit()
            doc: Doc = json.loads(invoice.document)
            return doc

    return retrying(work)


def _refuse_stale_for_reject(
    uow: UnitOfWork, invoice: StoredInvoice, month: Month, account: str
) -> None:
    members = _members(uow.accounts.list(), account)
    arrived = uow.events.stored_after(members, invoice.through_seq, month.start, month.end)
    if arrived:
        raise StateError(
            f"the {month} draft of {account} is stale: {arrived} event(s) for the month were "
            "stored after it was generated, and the late-event policy is 'reject' (they could "
            "never be billed later); run 'ratecard invoices generate' again"
        )


def void(db: Store, month: Month, account: str, now: datetime | None = None) -> str:
    """Void the month's invoice of ``account`` (draft or finalized); return its old status."""

    def work() -> str:
        with db.unit_of_work() as uow:
            invoice = _require(uow, account, month)
            uow.invoices.set_status(invoice.id, invoice.status, "void", now or datetime.now(UTC))
            uow.commit()
            return invoice.status

    return retrying(work)


def _require(uow: UnitOfWork, account: str, month: Month) -> StoredInvoice:
    invoice = uow.invoices.current(account, str(month))
    if invoice is None:
        raise NotFoundError(
            f"no open invoice of {account} for {month}; run 'ratecard invoices generate "
            f"--month {month} --account {account}' first"
        )
    return invoice


def show(db: Store, month: Month, account: str | None = None) -> list[Doc]:
    """Stored invoice documents of ``month`` (one account's, or all), each with its status."""
    with db.unit_of_work() as uow:
        if account is not None:
            found = uow.invoices.latest(account, str(month))
            if found is None:
                raise NotFoundError(f"no invoice of {account} for {month}")
            stored = [found]
        else:
            everything = uow.invoices.for_month(str(month))
            current = {inv.account for inv in everything if inv.status != "void"}
            stored = [i for i in everything if i.status != "void" or i.account not in current]
    return [{**json.loads(inv.document), "status": inv.status} for inv in stored]


def list_invoices(db: Store, account: str) -> list[Doc]:
    """Summaries of every stored invoice of ``account`` (void ones too), newest month first."""
    with db.unit_of_work() as uow:
        stored = uow.invoices.for_account(account)
    result = []
    for inv in stored:
        doc = json.loads(inv.document)
        result.append(
            {
                "account": inv.account,
                "month": inv.month,
                "status": inv.status,
                "currency": doc["currency"],
                "total": doc["total"],
                "generated_at": inv.generated_at.isoformat(),
                "finalized_at": inv.finalized_at.isoformat() if inv.finalized_at else None,
                "voided_at": inv.voided_at.isoformat() if inv.voided_at else None,
            }
        )
    return result
