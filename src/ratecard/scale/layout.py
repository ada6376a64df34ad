"""The partitioned layout of exported events, and the stable hash that places accounts in it.

``DIR/month=YYYY-MM/bucket=NN/part-NNNNN.parquet``: one directory per calendar month (UTC),
and inside it one per bucket of billing accounts. A billing account's bucket is

    crc32(UTF-8 bytes of its sid) mod buckets

(CRC-32 as zlib and Spark's ``crc32`` compute it: the same value in Python, in SQL and on any
machine, unlike Python's salted ``hash``). So every row of one billing account, its
subaccounts' included, is in one bucket: a bucket can be rated alone, as pools are per billing
account. Each part file holds the usage columns of :mod:`ratecard.rating.columns` (what
:func:`ratecard.rating.batch.rate_parquet` reads), in time order.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import polars as pl

from ratecard.errors import ConfigError
from ratecard.periods import Month
from ratecard.rating.columns import write_parquet

#: Buckets per month unless told otherwise: enough for 16 parallel tasks, few empty files for
#: a small store.
DEFAULT_BUCKETS = 16
#: The most buckets a month may have (a bucket is a directory: more would mostly be empty).
MAX_BUCKETS = 4096


def bucket_of(billing_account: str, buckets: int) -> int:
    """The bucket (0 to ``buckets - 1``) of ``billing_account``: its sid's CRC-32 mod buckets."""
    return zlib.crc32(billing_account.encode("utf-8")) % buckets


def check_buckets(buckets: int) -> int:
    """``buckets`` if usable; ConfigError naming ``--buckets`` otherwise."""
    if not 1 <= buckets <= MAX_BUCKETS:
        raise ConfigError(f"--buckets must be between 1 and {MAX_BUCKETS}, got {buckets}")
    return buckets


def month_dir(root: Path, month: Month) -> Path:
    return root / f"month={month}"


def bucket_name(bucket: int, buckets: int) -> str:
    """``bucket=NN``, zero-padded to the width of the largest bucket (at least two digits)."""
    width = max(2, len(str(buckets - 1)))
    return f"bucket={bucket:0{width}d}"


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def month_buckets(root: Path, month: Month) -> dict[str, list[Path]]:
    """The part files of ``month`` under ``root``, per bucket directory name, sorted.

    ConfigError naming ``--events`` when the month has no partition there (files and
    directories starting with ``.`` or ``_`` are ignored, as Spark ignores them).
    """
    where = month_dir(root, month)
    if not where.is_dir():
        raise ConfigError(
            f"--events {root}: no partition {where.name} (write one with 'ratecard export "
            f"events --month {month} --to {root}')"
        )
    found: dict[str, list[Path]] = {}
    for bucket in sorted(where.iterdir()):
        if bucket.is_dir() and not bucket.name.startswith((".", "_")):
            parts = sorted(p for p in bucket.glob("*.parquet") if not p.name.startswith((".", "_")))
            if parts:
                found[bucket.name] = parts
    return found


def write_partitioned(frame: pl.DataFrame, root: Path, buckets: int = DEFAULT_BUCKETS) -> int:
    """Write usage columns (:mod:`ratecard.rating.columns`) in the layout under ``root``: one
    part file per (month, bucket) present, rows in (time, event id, account) order. Returns
    the files written. For usage already in columns (generated data, other sources);
    :mod:`ratecard.scale.export` writes the store's."""
    check_buckets(buckets)
    owners = frame["billing_account"].unique().to_list()
    bucket = pl.DataFrame(
        {"billing_account": owners, "_bucket": [bucket_of(o, buckets) for o in owners]},
        schema={"billing_account": pl.String, "_bucket": pl.Int32},
    )
    moment = pl.from_epoch("time", time_unit="us")
    keyed = frame.with_columns(pl.col("billing_account").cast(pl.String)).join(
        bucket, on="billing_account", how="left"
    )
    keyed = keyed.with_columns(_month=moment.dt.strftime("%Y-%m"))
    files = 0
    for (month, index), part in keyed.partition_by("_month", "_bucket", as_dict=True).items():
        folder = root / f"month={month}" / bucket_name(int(str(index)), buckets)
        folder.mkdir(parents=True, exist_ok=True)
        rows = part.drop("_month", "_bucket").sort("time", "event_id", "account")
        write_parquet(rows, folder / part_name(len(list(folder.glob("*.parquet")))))
        files += 1
    return files
