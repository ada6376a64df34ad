"""The batch kernel's inner loop: one pass over rows in time order, compiled by Numba.

Everything here is integers (Int64 micro-units, see :mod:`ratecard.rating.columns`); there is
no money in this module: it only counts units per (month, member, combo, tier) and the
pieces that make them. Rates, amounts and rounding happen later, on the summed rows
(:mod:`ratecard.rating.batch`).

Why a compiled loop: a pooled counter is chronological, so the tier of a row depends on every
earlier row of its counter. Vectorised engines need the rows of each counter together (a sort
or a hash scatter per row: 0.3-1 s for 10M rows here, before any summing); a loop that keeps
one running total per counter needs neither and visits each row once. Its cost is memory
latency (the per-account sums and per-counter totals it touches), ~0.25 s for 10M rows on two
threads here (bench/RESULTS.md).

Ties in time: the reference orders a counter's rows by (time, event id, account). Rows come
here in time order only (reading event ids costs more than rating them); within a run of rows
of one counter at the same instant, the order changes the split only when a tier bound falls
inside the run. The loop records those runs ("flags": counter, instant, running total at the
run's start) and :mod:`ratecard.rating.batch` re-applies them in event-id order with
:func:`apply`, reading the event ids of those few rows only.

Overflow: every total here is at most the sum of one billing account's month of quantities,
which the caller checks fits in int64 before calling (Numba, like NumPy, wraps silently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: Combo kinds (per combo, ``kind`` array).
POOL, PER_UNIT, DELEGATE = 0, 1, 2
#: Micro-units in one unit: a piece that is not a multiple is "fractional".
UNIT = 1_000_000
#: One fractional piece in a cell's count column (pieces are counted in the low 32 bits).
FRACTIONAL = 1 << 32


def _jit(function: F) -> F:
    """Compile ``function`` once (cached on disk next to this module), release the GIL."""
    return cast(F, numba.njit(cache=True, nogil=True)(function))


@_jit
def _walk(
    quantity: int,
    before: int,
    bounds: np.ndarray,
    count: int,
    base: int,
    sign: int,
    out: np.ndarray,
) -> None:
    """Split ``quantity`` counted after ``before`` at ``bounds[:count]``; add ``sign`` times
    each piece to ``out[base + tier]``: units, and the piece counted in column 1 (pieces in
    its low 32 bits, fractional pieces in its high bits: one 16-byte cell per line part).

    The walk of :func:`ratecard.prices.tiers.walk` in integers: a piece fills its tier up to
    the bound; a zero quantity is one empty piece in the tier of ``before``.
    """
    counted = before
    remaining = quantity
    while True:
        tier = 0
        while tier < count and counted >= bounds[tier]:
            tier += 1
        room = remaining
        if tier < count and bounds[tier] - counted < room:
            room = bounds[tier] - counted
        out[base + tier, 0] += sign * room
        out[base + tier, 1] += sign * (1 + FRACTIONAL if room % UNIT != 0 else 1)
        counted += room
        remaining -= room
        if remaining <= 0:
            return


#: Columns of the per-counter state: running total, instant of the current run, running total
#: at the run's start, run state (0: none yet, 1: open, 2: open and flagged).
_RUNNING, _INSTANT, _STARTED, _RUN = 0, 1, 2, 3


@_jit
def rate_rows(
    owners: np.ndarray,
    accounts: np.ndarray,
    category: np.ndarray,
    country: np.ndarray,
    member: np.ndarray,
    month: np.ndarray,
    version: np.ndarray,
    time: np.ndarray,
    quantity: np.ndarray,
    table: np.ndarray,
    combos: np.ndarray,
    bounds: np.ndarray,
    account_slot: np.ndarray,
    shape: np.ndarray,
    part: int,
    out: np.ndarray,
    before: np.ndarray,
    flags: np.ndarray,
    state: np.ndarray,
) -> np.ndarray:
    """Rate every row whose owner code is ``part`` modulo ``shape[8]`` (the work of one of
    ``shape[8]`` threads: a billing account's counters and sums are all in one part).

    Rows must be in time order. Per row: ``owners``, ``accounts``, ``category``, ``country``
    (dense codes), ``member`` (dense code of who is invoiced for what), ``month`` (dense
    month index) and ``version`` (catalog version index), each an empty array when constant
    0, ``time``, ``quantity`` (micro-units). ``table`` maps (version, category, country) to a
    combo (-1: no price). Per combo, ``combos`` columns: kind (:data:`POOL`,
    :data:`PER_UNIT`, :data:`DELEGATE`: skipped), pool tag (one counter per pool name), scope
    account (0/1), bound count, offset of its cells; ``bounds`` its finite tier bounds.
    ``account_slot`` maps an account code to its counter slot for pools of scope account (its
    owner code when the same sid is also a billing account: the reference keys counters by
    sid). ``shape``: members, combos, cells per (month, member), owners, slots, pools,
    categories, countries, parts, and whether a piece can be fractional at all (0 when every
    quantity and bound is whole: no modulo per row). A combo's cells start at its offset
    (``combos`` column 4): one per tier.

    Adds (units, pieces, fractional pieces) at
    ``out[(month x members + member) x cells + offset(combo) + tier]``; ``before`` (length
    0, or one per row): each pooled row's running total before it (audits). ``flags`` (rows of
    counter, instant, start total): the tie runs a bound falls inside; empty to skip the
    tracking (rows already in exact order). ``state``: the counters (rows of running total,
    run instant, run start total, run state; one per (month, slot, pool)), carried over from
    the rows rated before these (a stream of row groups), or empty: all counters start at 0.
    Returns (flagged runs, which may exceed ``len(flags)``; rows without a price; delegated
    rows).
    """
    members, width, slots, pools = shape[0], shape[2], shape[4], shape[5]
    categories, countries, parts, fractions = shape[6], shape[7], shape[8], shape[9] != 0
    months = 1
    for i in range(month.shape[0]):
        if month[i] + 1 > months:
            months = month[i] + 1
    dated = month.shape[0] > 0
    versioned = version.shape[0] > 0
    if state.shape[0] == 0:
        state = np.zeros((months * slots * pools, 4), dtype=np.int64)
    track = flags.shape[0] > 0
    want_before = before.shape[0] > 0
    result = np.zeros(3, dtype=np.int64)
    for i in range(quantity.shape[0]):
        owner = owners[i]
        if parts > 1 and owner % parts != part:
            continue
        v = version[i] if versioned else 0
        c = table[(v * categories + category[i]) * countries + country[i]]
        if c < 0:
            result[1] += 1
            continue
        k = combos[c, 0]
        if k == DELEGATE:
            result[2] += 1
            continue
        q = quantity[i]
        m = month[i] if dated else 0
        base = (m * members + member[i]) * width + combos[c, 4]
        if k == PER_UNIT:
            out[base, 0] += q
            out[base, 1] += 1 + FRACTIONAL if fractions and q % UNIT != 0 else 1
            continue
        slot = account_slot[accounts[i]] if combos[c, 2] else owner
        g = (m * slots + slot) * pools + combos[c, 1]
        start = state[g, _RUNNING]
        end = start + q
        state[g, _RUNNING] = end
        if want_before:
            before[i] = start
        count = combos[c, 3]
        tier = 0
        while tier < count and start >= bounds[c, tier]:
            tier += 1
        if tier == count or end <= bounds[c, tier]:  # one piece: the usual case
            out[base + tier, 0] += q
            out[base + tier, 1] += 1 + FRACTIONAL if fractions and q % UNIT != 0 else 1
        else:
            _walk(q, start, bounds[c], count, base, 1, out)
        if not track:
            continue
        if state[g, _RUN] == 0 or time[i] != state[g, _INSTANT]:
            state[g, _INSTANT] = time[i]
            state[g, _STARTED] = start
            state[g, _RUN] = 1
            continue
        if state[g, _RUN] == 2:
            continue
        # Order inside the run matters if a bound lies in (run start, run end]: the
        # end itself counts, since an empty row after the bound is in the next tier.
        for b in range(count):
            if state[g, _STARTED] < bounds[c, b] <= end:
                state[g, _RUN] = 2
                if result[0] < flags.shape[0]:
                    flags[result[0], 0] = g
                    flags[result[0], 1] = time[i]
                    flags[result[0], 2] = state[g, _STARTED]
                result[0] += 1
                break
    return result


@_jit
def group_of(
    at: np.ndarray,
    owners: np.ndarray,
    accounts: np.ndarray,
    month: np.ndarray,
    combo: np.ndarray,
    combos: np.ndarray,
    account_slot: np.ndarray,
    shape: np.ndarray,
) -> np.ndarray:
    """The counter of each row in ``at`` (as :func:`rate_rows` numbers them; -1 if not
    pooled)."""
    slots, pools = shape[4], shape[5]
    result = np.full(at.shape[0], -1, dtype=np.int64)
    for j in range(at.shape[0]):
        i = at[j]
        c = combo[i]
        if c < 0 or combos[c, 0] != POOL:
            continue
        m = month[i] if month.shape[0] > 0 else 0
        slot = account_slot[accounts[i]] if combos[c, 2] else owners[i]
        result[j] = (m * slots + slot) * pools + combos[c, 1]
    return result


@_jit
def apply(
    at: np.ndarray,
    start: int,
    sign: int,
    member: np.ndarray,
    month: np.ndarray,
    quantity: np.ndarray,
    combo: np.ndarray,
    combos: np.ndarray,
    bounds: np.ndarray,
    shape: np.ndarray,
    out: np.ndarray,
) -> None:
    """Walk the pooled rows ``at`` (one counter) in the given order from ``start``, adding
    ``sign`` times their pieces: -1 undoes a run rated in file order, +1 re-applies it in
    exact order."""
    members, width = shape[0], shape[2]
    counted = start
    for j in range(at.shape[0]):
        i = at[j]
        c = combo[i]
        m = month[i] if month.shape[0] > 0 else 0
        base = (m * members + member[i]) * width + combos[c, 4]
        _walk(quantity[i], counted, bounds[c], combos[c, 3], base, sign, out)
        counted += quantity[i]


@_jit
def combos_of(
    category: np.ndarray,
    country: np.ndarray,
    version: np.ndarray,
    table: np.ndarray,
    shape: np.ndarray,
) -> np.ndarray:
    """The combo of every row, as :func:`rate_rows` finds it (-1: no price)."""
    categories, countries = shape[6], shape[7]
    versioned = version.shape[0] > 0
    combo = np.empty(category.shape[0], dtype=np.int32)
    for i in range(category.shape[0]):
        v = version[i] if versioned else 0
        combo[i] = table[(v * categories + category[i]) * countries + country[i]]
    return combo


@_jit
def owner_of_accounts(owner: np.ndarray, account: np.ndarray, accounts: int) -> np.ndarray:
    """The billing account code of each account code, when every account has one billing
    account in these rows (the usual case); an empty array when one has two."""
    seen = np.full(accounts, -1, dtype=np.int64)
    for i in range(owner.shape[0]):
        a = account[i]
        if seen[a] < 0:
            seen[a] = owner[i]
        elif seen[a] != owner[i]:
            return np.zeros(0, dtype=np.int64)
    return seen


@_jit
def survey(time: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """(``time`` never decreases, every quantity is a whole number of units) as 0/1."""
    result = np.ones(2, dtype=np.int64)
    for i in range(quantity.shape[0]):
        if i > 0 and time[i] < time[i - 1]:
            result[0] = 0
        if quantity[i] % UNIT != 0:
            result[1] = 0
    return result
