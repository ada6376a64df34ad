"""Rows not in time order put in time order: a stable radix sort of the Int64 time key (Numba).

The batch kernel's loop needs rows in time order (a pooled counter is chronological). Rows that
are not (a shuffled file, a store read by account) used to get ``np.argsort(kind="stable")``:
a comparison sort (timsort for Int64), 1.4-1.7 s for 10M random times here, more than rating
them, then one random gather per column. Times are integers in a narrow range (a month of
microseconds is 42 bits), so a radix sort does it in a few linear passes:

* one most-significant pass scatters ``time - earliest`` by the top 11 bits of the span into
  2,048 buckets (the one pass over the keys that leaves the caches);
* each bucket (about n / 2,048 rows, so it fits in L2) is then sorted least-significant digit
  first, 11 bits a pass, passes whose digit is the same for the whole bucket skipped;
* every other column is moved as the keys were: partitioned into the same buckets, then
  gathered within its own bucket (cache hits) instead of by one random gather; the partition
  is written in the narrowest integer type that holds the column's values (dense codes of a
  few thousand values fit in int16, micro-unit quantities mostly in int32), which halves
  the scattered writes that are most of moving a column.

Both steps keep the input order of equal keys, so the result is exactly
``np.argsort(time, kind="stable")``: ties in time keep file order, and the kernel settles the
ties that matter (a tier bound inside a run of one counter's rows at one instant) by event id
afterwards, as for input already in time order. Buckets and columns are shared between two
threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: Bits per radix digit: 2,048 counters (8 KB) stay in L1; 2,048 write streams are what one
#: scatter pass can keep open without thrashing the TLB.
_BITS = 11
_RADIX = 1 << _BITS
#: Buckets this small are sorted by insertion (stable), not by digit passes.
_SMALL = 32


def _jit(function: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(function))


@_jit
def _bit_length(value: np.uint64) -> int:
    bits = 0
    while value > 0:
        value >>= np.uint64(1)
        bits += 1
    return bits


@_jit
def _sort_bucket(
    keys: np.ndarray,
    rows: np.ndarray,
    low: int,
    high: int,
    bits: int,
    key_tmp: np.ndarray,
    row_tmp: np.ndarray,
    count: np.ndarray,
) -> None:
    """Sort ``keys[low:high]`` (with ``rows``) on their low ``bits`` bits, stably, in place."""
    size = high - low
    if size < 2 or bits == 0:
        return
    if size <= _SMALL:  # insertion sort: stable (moves an element only past larger keys)
        for i in range(low + 1, high):
            key = keys[i]
            row = rows[i]
            j = i - 1
            while j >= low and keys[j] > key:
                keys[j + 1] = keys[j]
                rows[j + 1] = rows[j]
                j -= 1
            keys[j + 1] = key
            rows[j + 1] = row
        return
    mask = np.uint64(_RADIX - 1)
    shift = 0
    while shift < bits:
        s = np.uint64(shift)
        count[:] = 0
        for i in range(low, high):
            count[(keys[i] >> s) & mask] += 1
        skip = False
        for d in range(_RADIX):
            if count[d] == size:  # one digit for the whole bucket: the pass moves nothing
                skip = True
                break
        if not skip:
            total = 0
            for d in range(_RADIX):
                n = count[d]
                count[d] = total
                total += n
            for i in range(low, high):
                d = (keys[i] >> s) & mask
                at = count[d]
                key_tmp[at] = keys[i]
                row_tmp[at] = rows[i]
                count[d] = at + 1
            keys[low:high] = key_tmp[:size]
            rows[low:high] = row_tmp[:size]
        shift += _BITS


@_jit
def _scatter(
    time: np.ndarray, earliest: int, shift: int, keys: np.ndarray, digits: np.ndarray
) -> np.ndarray:
    """The most-significant pass: ``time - earliest`` into buckets of its top digit, in input
    order within a bucket (``digits`` gets each input row's bucket, for the columns that
    follow). Returns the bucket starts (``_RADIX + 1`` of them)."""
    n = time.shape[0]
    s = np.uint64(shift)
    starts = np.zeros(_RADIX + 1, dtype=np.int64)
    for i in range(n):
        digit = np.uint64(time[i] - earliest) >> s
        digits[i] = digit
        starts[digit + np.uint64(1)] += 1
    for d in range(_RADIX):
        starts[d + 1] += starts[d]
    at = starts[:_RADIX].copy()
    for i in range(n):
        digit = digits[i]
        keys[at[digit]] = np.uint64(time[i] - earliest)
        at[digit] += 1
    return starts


@_jit
def _reorder(
    column: np.ndarray,
    digits: np.ndarray,
    starts: np.ndarray,
    position: np.ndarray,
    spare: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out = column[order]`` in two cache-friendly passes instead of one random gather: the
    column is partitioned into buckets as the keys were (sequential reads, 2,048 write
    streams) into ``spare``, then each sorted bucket takes its values from its own slice of
    ``spare`` (``position``: bucket-order position of each sorted row; a bucket is ~n/2,048
    rows, so those reads hit the cache)."""
    at = starts[:_RADIX].copy()
    for i in range(column.shape[0]):
        digit = digits[i]
        spare[at[digit]] = column[i]
        at[digit] += 1
    for j in range(out.shape[0]):
        out[j] = spare[position[j]]


@_jit
def _sort_buckets(
    keys: np.ndarray, rows: np.ndarray, starts: np.ndarray, bits: int, parts: int, part: int
) -> None:
    """Sort every ``parts``-th bucket from ``part`` (one thread's share; buckets are disjoint)."""
    largest = 0
    for d in range(part, _RADIX, parts):
        largest = max(largest, starts[d + 1] - starts[d])
    key_tmp = np.empty(largest, dtype=np.uint64)
    row_tmp = np.empty(largest, dtype=rows.dtype)
    count = np.zeros(_RADIX, dtype=np.int64)
    for d in range(part, _RADIX, parts):
        _sort_bucket(keys, rows, starts[d], starts[d + 1], bits, key_tmp, row_tmp, count)


@_jit
def _span(time: np.ndarray) -> tuple[int, int]:
    earliest = time[0]
    latest = time[0]
    for i in range(time.shape[0]):
        if time[i] < earliest:
            earliest = time[i]
        if time[i] > latest:
            latest = time[i]
    return earliest, latest


def _narrowest(column: np.ndarray) -> np.dtype[Any]:
    """The narrowest integer type that holds every value of ``column``: the partition pass
    writes the column in it (its scattered writes are what moving a column costs, so int32
    codes that fit in int16 move in about half the time), and the gather widens it back."""
    if column.dtype.kind != "i" or column.size == 0 or column.itemsize <= 2:
        return column.dtype
    low, high = int(column.min()), int(column.max())
    for candidate in (np.int16, np.int32):
        width = np.dtype(candidate)
        fits = np.iinfo(candidate).min <= low and high <= np.iinfo(candidate).max
        if width.itemsize < column.itemsize and fits:
            return width
    return column.dtype


def sort_by_time(
    time: np.ndarray, columns: list[np.ndarray], threads: int = 2
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(order, ``time[order]``, each of ``columns`` ``[order]``) with ``order`` exactly
    ``np.argsort(time, kind="stable")`` (see the module docstring)."""
    n = int(time.shape[0])
    if n < 2:
        return np.arange(n, dtype=np.int64), time.copy(), [column.copy() for column in columns]
    earliest, latest = (int(v) for v in _span(time))
    bits = (latest - earliest).bit_length()  # Python ints: no wrap for any int64 span
    shift = max(0, bits - _BITS)
    keys = np.empty(n, dtype=np.uint64)
    digits = np.empty(n, dtype=np.uint16)
    starts = _scatter(time, earliest, shift, keys, digits)
    index = np.int32 if n < 2**31 else np.int64
    position = np.arange(n, dtype=index)  # of each key in bucket order, sorted along with it
    parts = max(1, threads)
    with ThreadPoolExecutor(parts) as pool:
        if shift:
            list(
                pool.map(partial(_sort_buckets, keys, position, starts, shift, parts), range(parts))
            )
        sources = [np.arange(n, dtype=index), *columns]
        outs = [np.empty_like(column) for column in sources]

        narrow = [_narrowest(column) for column in sources]

        def reorder(part: int) -> None:
            # one spare buffer per thread for all its columns: fresh memory costs a page
            # fault per 4 KB, as much as the pass that fills it
            spare = np.empty(n * max(d.itemsize for d in narrow), dtype=np.uint8)
            for k in range(part, len(sources), parts):
                within = spare[: n * narrow[k].itemsize].view(narrow[k])
                _reorder(sources[k], digits, starts, position, within, outs[k])

        list(pool.map(reorder, range(parts)))
    # keys are time - earliest modulo 2**64 (exact for any int64 span): adding back wraps to
    # the original times
    ordered = keys.view(np.int64) + np.int64(earliest)
    return outs[0], ordered, outs[1:]


def time_order(time: np.ndarray, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(order, ``time[order]``): :func:`sort_by_time` without other columns."""
    order, ordered, _ = sort_by_time(time, [], threads)
    return order, ordered
