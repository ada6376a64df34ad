"""``ratecard export events``: a month of stored events as partitioned Parquet usage columns.

The events are read as the invoice service reads them (:func:`load_events`: every event
bearing on the month, number history before it included) and metered as a draft invoice
meters them (:func:`ratecard.usage.normalize.normalize`: call minutes rounded up to the
category's increment, message segments, one unit per task or engagement, usage records as
sent, one charge per number anniversary). Each metered usage becomes one row of the usage
columns (:mod:`ratecard.rating.columns`), written in the layout of
:mod:`ratecard.scale.layout`, so the batch kernel and the Spark job rate the files as they
are.

Billing accounts are read a few hundred at a time (bounded memory; one part file per group,
whole billing accounts in each), bucket after bucket. The month's partition is written beside
the old one and swapped in at the end: an interrupted export leaves the previous one intact.

What usage columns cannot carry is not exported, and said so: Flex seats and free hours
(they are counted per Flex instance, not per event), and a quantity that is not a whole
number of micro-units (calls billed per second: RatingError naming the event).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ratecard.accounts import billing_accounts
from ratecard.catalog import load_catalog
from ratecard.periods import Month
from ratecard.rating.columns import usages_to_frame, write_parquet
from ratecard.scale.layout import bucket_name, bucket_of, check_buckets, month_dir, part_name
from ratecard.service.invoices import load_events
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork, load_instances
from ratecard.usage.normalize import normalize

#: Accounts (billing accounts and their subaccounts) whose events one query reads at most:
#: far below SQLite's bound on query parameters, and a bounded slice of the month in memory.
ACCOUNTS_PER_READ = 500


@dataclass(frozen=True)
class Exported:
    """What an export wrote: usage rows, part files and their bytes, billing accounts, and
    the billing accounts with Flex instances (whose seats and hours are not exported)."""

    month: Month
    path: Path
    events: int
    files: int
    bytes: int
    billing_accounts: int
    flex_accounts: tuple[str, ...]


def export_events(
    db: Database,
    settings: Settings,
    month: Month,
    to: Path,
    buckets: int,
    progress: Callable[[int, int, int], None] | None = None,
) -> Exported:
    """Write ``month``'s stored usage under ``to`` (``to/month=YYYY-MM/bucket=NN/...``).

    ``progress(done_billing_accounts, all_billing_accounts, rows_so_far)`` after each read.
    The catalog of ``settings`` gives the categories' billing increments.
    """
    check_buckets(buckets)
    catalog = load_catalog(settings.catalog)
    to.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".month={month}.", dir=to))
    try:
        with UnitOfWork(db) as uow:
            accounts = uow.accounts.list()
            owners = billing_accounts(accounts)
            members: dict[str, list[str]] = defaultdict(list)
            for sid, owner in owners.items():
                members[owner].append(sid)
            flex = sorted({owners[sid] for sid in load_instances(uow) if sid in owners})
            rows = files = size = done = 0
            for bucket, group in _groups(sorted(members), members, buckets):
                sids = [sid for owner in group for sid in members[owner]]
                events = load_events(uow, sids, month)
                usages = normalize(events, catalog.categories, month.start, month.end)
                done += len(group)
                if usages:
                    frame = usages_to_frame(usages, owners).sort("time", "event_id", "account")
                    folder = staging / bucket_name(bucket, buckets)
                    folder.mkdir(exist_ok=True)
                    path = folder / part_name(len(list(folder.iterdir())))
                    write_parquet(frame, path)
                    rows, files, size = rows + frame.height, files + 1, size + path.stat().st_size
                if progress is not None:
                    progress(done, len(members), rows)
        target = month_dir(to, month)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return Exported(month, target, rows, files, size, len(members), tuple(flex))


def _groups(
    owners: list[str], members: dict[str, list[str]], buckets: int
) -> Iterator[tuple[int, list[str]]]:
    """Billing accounts per bucket, in reads of at most :data:`ACCOUNTS_PER_READ` accounts
    (a billing account with more subaccounts than that is read alone)."""
    by_bucket: dict[int, list[str]] = defaultdict(list)
    for owner in owners:
        by_bucket[bucket_of(owner, buckets)].append(owner)
    for bucket in sorted(by_bucket):
        group: list[str] = []
        size = 0
        for owner in by_bucket[bucket]:
            count = len(members[owner])
            if group and size + count > ACCOUNTS_PER_READ:
                yield bucket, group
                group, size = [], 0
            group.append(owner)
            size += count
        if group:
            yield bucket, group


def read_month(to: Path, month: Month) -> pl.DataFrame:
    """Every exported row of ``month`` under ``to`` (tests, checks): the part files together."""
    return pl.read_parquet(sorted(month_dir(to, month).glob("bucket=*/part-*.parquet")))
