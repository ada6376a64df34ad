"""Which stored events an invoice bills: ranges of ingestion sequence numbers, per month. Pure.

Every stored event has an ingestion sequence number (``seq``). An invoice bills, for its own
month and for each earlier month it carries adjustment lines for, the events bearing on that
month whose ``seq`` falls in its ranges. A range ``(lo, hi)`` means ``lo < seq <= hi``.

An invoice's ranges for a month are everything stored up to its high-water mark minus what the
finalized invoices it was computed against already bill for that month, so the finalized
invoices of an account never bill one event twice, whatever was voided and regenerated in
between (voiding an invoice gives its events back: a later invoice bills them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

Range = tuple[int, int]
Ranges = tuple[Range, ...]
#: month (``YYYY-MM``) -> the ranges of sequence numbers billed for that month
Coverage = Mapping[str, Ranges]


def merged(ranges: Iterable[Range]) -> Ranges:
    """``ranges`` sorted, with overlapping and touching ranges joined, empty ones dropped."""
    result: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if result and lo <= result[-1][1]:
            result[-1] = (result[-1][0], max(hi, result[-1][1]))
        else:
            result.append((lo, hi))
    return tuple(result)


def subtract(ranges: Iterable[Range], minus: Iterable[Range]) -> Ranges:
    """The sequence numbers in ``ranges`` that are in none of ``minus``."""
    cuts = merged(minus)
    result: list[Range] = []
    for lo, hi in merged(ranges):
        start = lo
        for cut_lo, cut_hi in cuts:
            if cut_hi <= start or cut_lo >= hi:
                continue
            if cut_lo > start:
                result.append((start, cut_lo))
            start = max(start, cut_hi)
        if start < hi:
            result.append((start, hi))
    return tuple(result)


def upto(through: int) -> Ranges:
    """Every sequence number up to the high-water mark ``through``."""
    return merged([(0, through)])


def contains(ranges: Ranges, seq: int) -> bool:
    """Whether ``seq`` lies in one of ``ranges``."""
    return any(lo < seq <= hi for lo, hi in ranges)


def covered(coverages: Iterable[Coverage], month: str) -> Ranges:
    """Everything ``coverages`` bill for ``month``, as one merged list of ranges."""
    return merged(r for coverage in coverages for r in coverage.get(month, ()))


def bills_up_to(invoice_month: str, coverage: Coverage, month: str) -> bool:
    """Whether an invoice of ``invoice_month`` with ``coverage`` bills events of ``month`` or
    an earlier month: what a draft of ``month`` must be computed against (every earlier
    month's invoice, and a later one that adjusted a month since voided)."""
    return invoice_month < month or min(coverage, default=invoice_month) <= month


def render(coverage: Coverage) -> str:
    """The stored text of a coverage: JSON, months in order, ranges as two-element lists."""
    return json.dumps(
        {month: [list(r) for r in coverage[month]] for month in sorted(coverage)},
        separators=(",", ":"),
    )


def parse(text: str) -> dict[str, Ranges]:
    """The coverage written by :func:`render`."""
    data = json.loads(text or "{}")
    return {month: tuple((int(lo), int(hi)) for lo, hi in ranges) for month, ranges in data.items()}
