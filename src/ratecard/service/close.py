"""Fast month close: the month's events streamed from the store into the batch kernel.

:func:`generate` stores the same draft documents as :func:`ratecard.service.invoices.generate`
(tests compare them), for every billing account, in one transaction:

* Billing accounts whose month is plain metered usage (calls billed in whole minutes,
  messages, TaskRouter tasks, Studio engagements, usage records of whole quantities without a
  money amount) and who have no Flex instance and no number or Flex history are rated by the
  batch kernel (:mod:`ratecard.rating.batch`). Their events' rating columns, stored beside
  the bodies at ingestion, are read in bulk by :func:`ratecard.store.bulk.month_usage` and
  metered by the table of :mod:`ratecard.usage.metering` as Polars expressions
  (:func:`ratecard.usage.metering_columns.whole_units`): no JSON is decoded, no Python object
  is built per event. Memory stays bounded: billing accounts are packed into shards of about
  ``shard_rows`` events, read and rated one shard at a time.
* Every other billing account takes the existing path (its events parsed and billed by
  :func:`ratecard.billing.monthly.bill_month`), so nothing is lost for features the kernel
  does not rate (number anniversaries, Flex seats and hours, fractional minutes).

Both kinds of documents are typed (:class:`~ratecard.billing.document.InvoiceDocument`) and
serialized by the one serializer (:func:`~ratecard.billing.serialize.document_to_dict`), and
stored as the existing path stores them: new drafts in bulk (:func:`store_documents`, written
by :func:`ratecard.store.bulk.insert_drafts`), everything else (replaced drafts, unchanged
finals, late-event adjustments) by the existing path's own :func:`ratecard.service.invoices._store`.

The bulk paths need a SQL store: given the in-memory one, :func:`generate` refuses with a
:class:`~ratecard.errors.StoreError` that names the stores it needs.

One billing account that cannot be rated (usage without a price, stored data the engine
refuses) does not stop the month: it is reported by sid with the reason (:class:`Failed`),
its draft is left as it was, and every other account is closed. Usage the kernel would find
unpriced is looked for before rating (:func:`_unpriced_owners`), so such an account takes the
existing path, which rates one account at a time and names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ratecard.accounts import Account, billing_accounts
from ratecard.billing import coverage
from ratecard.billing.adjustments import Doc
from ratecard.billing.document import InvoiceDocument, ShareDocument, line_document
from ratecard.billing.monthly import bill_month
from ratecard.billing.serialize import document_to_dict, invoice_to_dict, render_json
from ratecard.catalog import Catalog, load_catalog
from ratecard.errors import RatecardError, RatingError
from ratecard.flex.history import FlexInstance
from ratecard.money import D, round_money, total
from ratecard.periods import Month
from ratecard.rating.batch import rate_frame
from ratecard.rating.columns import CATEGORICAL, QUANTITY_PLACES, SCHEMA
from ratecard.rating.lines import Line
from ratecard.service.invoices import Generated, _store, existed, load_events
from ratecard.service.ports import Store, load_instances
from ratecard.service.settings import Settings
from ratecard.store import bulk
from ratecard.store.database import retrying
from ratecard.store.unit_of_work import UnitOfWork
from ratecard.usage.metering import METERS, increment_seconds
from ratecard.usage.metering_columns import whole_units

#: Event types the fast path rates (every type the metering table meters one event at a
#: time); any other type in or before the month sends the billing account to the existing path.
FAST_TYPES = tuple(METERS)
_UNIT = 10**QUANTITY_PLACES
#: Events per shard (billing accounts are packed whole into shards of about this many events;
#: each shard is one read of the month's events and one run of the kernel). 10M events in one
#: shard peaked at 4.8 GB RSS on PostgreSQL (bench/RESULTS.md).
SHARD_ROWS = 12_000_000


@dataclass(frozen=True)
class Failed:
    """A billing account whose month could not be rated, and why (its draft is untouched)."""

    account: str
    month: str
    reason: str


@dataclass(frozen=True)
class Closed:
    """A month close: what was stored per billing account, and the accounts that failed."""

    generated: list[Generated]
    failed: list[Failed] = field(default_factory=list)


def generate(
    db: Store,
    month: Month,
    settings: Settings,
    now: datetime | None = None,
    shard_rows: int = SHARD_ROWS,
) -> Closed:
    """Compute and store draft invoices of ``month`` for every billing account (fast path);
    an account that cannot be rated is reported in ``failed`` and the others are stored.

    The close reads and writes in bulk with SQL (:mod:`ratecard.store.bulk`): given another
    store (the in-memory one) it raises :class:`~ratecard.errors.StoreError` saying so, before
    reading anything; :func:`ratecard.service.invoices.generate` stores the same drafts on any
    store."""
    catalog = load_catalog(settings.catalog)

    def work() -> Closed:
        with db.unit_of_work() as opened:
            uow = bulk.require_sql(opened)
            uow.events.freeze()
            accounts = uow.accounts.list()
            through = uow.events.last_seq()
            flex = load_instances(uow)
            failed: list[Failed] = []
            docs = month_documents(uow, catalog, accounts, month, flex, shard_rows, failed)
            by_sid = {account.sid: account for account in accounts}
            # existed() looks the account up in the list it is given: given only the one, the
            # filter is linear in accounts (it was quadratic: ~3 s at 10,000 accounts)
            docs = [doc for doc in docs if existed(doc, [by_sid[doc["account"]]], month)]
            moment = now or datetime.now(UTC)
            results = store_documents(uow, catalog, accounts, docs, month, through, moment, failed)
            uow.commit()
            return Closed(results, failed)

    return retrying(work)


def store_documents(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    docs: Sequence[Doc],
    month: Month,
    through: int,
    now: datetime,
    failed: list[Failed] | None = None,
) -> list[Generated]:
    """Store the drafts as :func:`ratecard.service.invoices._store` does, in bulk.

    A billing account with no invoice for the month and no finalized earlier month (no
    adjustments possible) gets a new draft: those are inserted together (one multi-row insert
    for the invoices, one for their lines). Every other one goes through ``_store`` itself;
    one whose adjustments cannot be rated is added to ``failed`` (raised without a list).
    """
    current, finalized = bulk.open_months(uow, str(month))
    results: list[Generated] = []
    new: list[bulk.NewDraft] = []
    for doc in docs:
        owner = doc["account"]
        if owner in current or owner in finalized:
            try:  # _store rates (adjustments) before it writes: a refusal writes nothing
                results.append(_store(uow, catalog, accounts, doc, month, through, now))
            except RatecardError as exc:
                if failed is None:
                    raise
                failed.append(Failed(owner, str(month), str(exc)))
            continue
        values = {
            "account_sid": owner,
            "month": str(month),
            "status": "draft",
            "currency": doc["currency"],
            "total": D(doc["total"]),
            "document": render_json(doc),
            "through_seq": through,
            "basis": "",
            "coverage": coverage.render({str(month): coverage.upto(through)}),
            "generated_at": now,
            "finalized_at": None,
            "voided_at": None,
        }
        new.append(bulk.NewDraft(values, _line_fields(doc)))
        results.append(Generated(owner, str(month), "created", doc["total"], doc["currency"]))
    bulk.insert_drafts(uow, new)
    return results


def _line_fields(doc: Doc) -> list[tuple[str | None, tuple[str | None, ...]]]:
    """The document's lines, in position order, as (subaccount or None, the values of
    :data:`ratecard.store.bulk.LINE_KEYS` as the document writes them)."""
    sections: list[tuple[str | None, list[Doc]]] = [(None, doc["lines"])]
    sections += [(part["account"], part["lines"]) for part in doc["subaccounts"]]
    return [
        (account, tuple(_text(line.get(key)) for key in bulk.LINE_KEYS))
        for account, group in sections
        for line in group
    ]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def month_documents(
    uow: UnitOfWork,
    catalog: Catalog,
    accounts: Sequence[Account],
    month: Month,
    flex: Mapping[str, FlexInstance],
    shard_rows: int = SHARD_ROWS,
    failed: list[Failed] | None = None,
) -> list[Doc]:
    """The invoice documents of every billing account for ``month``, in the existing order.

    With a ``failed`` list, a billing account that cannot be rated is added to it (sid and
    reason) and has no document; without one, its error is raised."""
    owners = billing_accounts(accounts)
    found = bulk.survey(uow, month.start, month.end, FAST_TYPES)
    slow = {owners[sid] for sid in [*flex, *found.other] if sid in owners}
    increments = {name: increment_seconds(catalog.categories, name) for name in catalog.categories}

    def meter(stored: pl.DataFrame) -> pl.DataFrame:  # each block as it is read
        return _metered(stored, increments, owners)

    fast: dict[str, Doc] = {}
    for members in _shards(found.counts, owners, slow, shard_rows):
        span = found.span(members)
        metered = bulk.month_usage(uow, month.start, month.end, members, span, meter)
        usage, refused = _split(metered)
        slow |= refused | _unpriced_owners(usage, catalog, month)
        try:
            fast.update(_fast_documents(usage, catalog, accounts, month, slow))
        except RatingError:
            if failed is None:
                raise
            # one account refused (int64 bound, ...): each of the shard's is rated alone
            slow |= set(usage["billing_account"].unique().drop_nulls().to_list())
    docs = []
    children = _children(accounts)
    for account in accounts:
        if account.parent is not None:
            continue
        if account.sid in slow:
            members = [account.sid, *(a.sid for a in children.get(account.sid, []))]
            try:
                events = load_events(uow, members, month)
                (invoice,) = bill_month(catalog, accounts, events, month, account.sid, flex)
            except RatecardError as exc:
                if failed is None:
                    raise
                failed.append(Failed(account.sid, str(month), str(exc)))
                continue
            docs.append(invoice_to_dict(invoice))
        else:
            rated = fast.get(account.sid)
            docs.append(rated or _document(catalog, children, account, month, {}))
    return docs


def _shards(
    counts: dict[str, int], owners: dict[str, str], slow: set[str], limit: int
) -> list[list[str] | None]:
    """Member sids per shard (None: everything in one shard); a billing account is whole."""
    per_owner: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for sid, count in counts.items():
        owner = owners.get(sid)
        if owner is None or owner in slow:
            continue
        per_owner.setdefault(owner, []).append(sid)
        rows[owner] = rows.get(owner, 0) + count
    if sum(rows.values()) <= limit and not slow:
        return [None]
    shards: list[list[str] | None] = []
    current: list[str] = []
    size = 0
    for owner in sorted(per_owner):
        if current and size + rows[owner] > limit:
            shards.append(current)
            current, size = [], 0
        current.extend(per_owner[owner])
        size += rows[owner]
    if current:
        shards.append(current)
    return shards


def _metered(
    stored: pl.DataFrame, increments: Mapping[str, int], owners: Mapping[str, str]
) -> pl.DataFrame:
    """Usage columns (:mod:`ratecard.rating.columns`) of the stored rating columns, as
    normalize meters them (quantities in integer micro-units, exact); a null quantity where
    the kernel cannot rate an event (see :func:`_split`)."""
    owner = pl.col("account").replace_strict(dict(owners), default=None, return_dtype=pl.String)
    frame = stored.with_columns(
        quantity=whole_units(stored, increments) * _UNIT, billing_account=owner
    ).select(list(SCHEMA))
    return frame.with_columns(pl.col(*CATEGORICAL).cast(pl.Categorical))


def _split(metered: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    """The usage the kernel rates, and the billing accounts it must not rate: those with a
    null quantity (fractional minutes, a usage record with decimals or a money amount)."""
    nulls = metered.filter(pl.col("quantity").is_null())["billing_account"]
    refused = set(nulls.unique().to_list())
    usage = metered.filter(~pl.col("billing_account").is_in(list(refused)))
    return usage, {r for r in refused if r is not None}


def _unpriced_owners(usage: pl.DataFrame, catalog: Catalog, month: Month) -> set[str]:
    """The billing accounts with usage some catalog version in force in ``month`` has no
    price for: the kernel refuses a whole shard for one such row, the existing path names
    the account (all of them when the month precedes the catalog)."""
    # unique on the categorical codes first: casting every row to text first cost ~1 s/10M
    pairs = (
        usage.select("billing_account", "category", "country")
        .unique()
        .select(pl.all().cast(pl.String))
    )
    try:
        versions = [catalog.at(month.start)]
    except RatingError:
        return set(pairs["billing_account"].drop_nulls().to_list())
    first, last = month.start.date(), month.end.date()
    versions += [v for v in catalog.versions if first < v.effective < last]
    unpriced: set[str] = set()
    for owner, category, country in pairs.iter_rows():
        if any(v.charge_for(category, country) is None for v in versions):
            unpriced.add(owner)
    return unpriced


def _fast_documents(
    usage: pl.DataFrame,
    catalog: Catalog,
    accounts: Sequence[Account],
    month: Month,
    slow: set[str],
) -> dict[str, Doc]:
    usage = usage.filter(~pl.col("billing_account").is_in(list(slow)))
    if usage.is_empty():
        return {}
    result = rate_frame(catalog, usage)
    by_owner = result.counted_lines()
    children = _children(accounts)
    by_account = result.counted_lines(by_account=True, owners=sorted(children))
    lines: dict[tuple[str, str | None], list[tuple[Line, int]]] = {}
    for (owner, account, key_month), group in [*by_owner.items(), *by_account.items()]:
        if key_month == month:
            lines[(owner, account)] = group
    owners = set(usage["billing_account"].unique().to_list())
    return {
        account.sid: _document(catalog, children, account, month, lines)
        for account in accounts
        if account.sid in owners
    }


def _children(accounts: Sequence[Account]) -> dict[str, list[Account]]:
    """Each parent's subaccounts, in the order of ``accounts``."""
    children: dict[str, list[Account]] = {}
    for account in accounts:
        if account.parent is not None:
            children.setdefault(account.parent, []).append(account)
    return children


def _document(
    catalog: Catalog,
    children: Mapping[str, list[Account]],
    account: Account,
    month: Month,
    lines: dict[tuple[str, str | None], list[tuple[Line, int]]],
) -> Doc:
    """The document :func:`invoice_to_dict` gives for the same lines (event counts kept)."""
    members = [account, *children.get(account.sid, [])]
    currency = catalog.currency

    def shown(group: list[tuple[Line, int]]) -> tuple[Any, ...]:
        return tuple(line_document(line, event_count=count) for line, count in group)

    def summed(group: list[tuple[Line, int]]) -> Any:
        return round_money(total(line.amount for line, _ in group), currency)

    own = lines.get((account.sid, None), [])
    shares: list[ShareDocument] = []
    if len(members) > 1:
        for member in members:
            group = lines.get((account.sid, member.sid), [])
            shares.append(ShareDocument(member.sid, member.name, shown(group), summed(group)))
    document = InvoiceDocument(
        account=account.sid,
        name=account.name,
        month=str(month),
        currency=currency,
        catalog=catalog.label(month.start),
        lines=shown(own),
        subaccounts=tuple(shares),
        total=summed(own),
    )
    return document_to_dict(document)
