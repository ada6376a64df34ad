"""The Spark job as a ``spark-submit`` application: the same rating as ``ratecard rate
--engine spark``, on whatever cluster ``spark-submit`` was pointed at.

    spark-submit --master yarn [options] "$(python -m ratecard.scale.submit --path)" \\
        --events s3a://bucket/usage --catalog us --month 2026-07 --out s3a://bucket/rated

``--path`` prints this file's path (the script spark-submit runs). The master, executors and
their memory come from spark-submit (nothing here sets them); the driver prints the run's
summary as one JSON line. Every executor needs ratecard installed (the kernel runs in its
Python workers): see the README's section on Spark.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ratecard.catalog import load_catalog
from ratecard.errors import RatecardError
from ratecard.periods import Month
from ratecard.scale.spark import month_sources, rate_spark, start_session


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ratecard-spark-job", description=__doc__.split("\n")[0])
    parser.add_argument("--path", action="store_true", help="print this script's path and exit")
    parser.add_argument("--events", help="root of the exported Parquet (a path or a URI)")
    parser.add_argument("--catalog", default="us", help="a shipped catalog name or a .toml path")
    parser.add_argument("--month", action="append", help="YYYY-MM (repeat for more)")
    parser.add_argument("--out", help="where lines/ and totals/ are written (replaced)")
    parser.add_argument("--partitions", type=int, default=None, help="default: auto")
    args = parser.parse_args(argv)
    if args.path:
        print(__file__)
        return 0
    missing = [f"--{name}" for name in ("events", "month", "out") if not getattr(args, name)]
    if missing:
        parser.error(f"missing {', '.join(missing)}")
    try:
        months = [Month.parse(text) for text in args.month]
        catalog = load_catalog(args.catalog)
        sources = month_sources(args.events, months)
        spark = start_session(None)
        try:
            rated = rate_spark(spark, sources, catalog, args.out, args.partitions)
        finally:
            spark.stop()
    except (RatecardError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(rated.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
