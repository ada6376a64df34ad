"""One definition of grouping for the three raters (reference, live and batch).

* The counter key: which counter a usage counts in for its charge. A pool's counter is its
  name (one count across catalog revisions) and whose usage it gathers by the pool's scope:
  the billing account's (parent and subaccounts) or the account's own. A plain price's counter
  is the billing account's month of that price (that catalog version's price object).
* The order key: usage is counted in (phase, time, event id, account) order
  (:attr:`Usage.order_key`, SPEC section 4); the batch kernel's rows all have phase 0 and are
  put in the same order by :func:`order_by`.
* The group key: what lines are grouped by within a (billing account, month): category,
  kind, pool, tier, tier label and unit price (:func:`line_key`); the batch kernel groups its
  sums by :data:`LINE_GROUP` plus its line specs, which carry the same fields.

Each key exists as a Python function on values (reference and live raters) and as Polars
expressions or column names computing the same thing on columns (batch kernel, the Polars
query of ``bench``). The batch kernel's compiled loop (:mod:`ratecard.rating.loop`) computes
the counter from the per-combo flag :func:`per_account` (Numba cannot call these functions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

import polars as pl

from ratecard.prices.base import Chargeable
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind

#: (phase, time, event id, account): the order usage is counted in.
OrderKey = tuple[int, datetime, str, str]
#: Columns of the batch kernel's rows in the order of :data:`OrderKey` (phase is always 0).
ORDER_COLUMNS = ("time", "event_id", "account")
#: Columns every line sum is grouped by, before the line itself (see :func:`line_key`).
LINE_GROUP = ("billing_account", "month")


#: The counter a usage counts in (a month's counter is this plus the month): (who, charge,
#: pooled). ``who``: the sid whose usage shares it (a billing account, or an account for a pool
#: of scope account); ``charge``: the pool's name, or ``id()`` of the price; ``pooled``: a
#: pool. A plain tuple: one is made per usage (a NamedTuple's constructor costs 3x more).
CounterKey = tuple[str, str | int, bool]


def per_account(charge: Chargeable) -> bool:
    """Whether each account has a counter of its own for ``charge`` (a pool of scope account)."""
    return charge.counter_scope == "account"


def counter_key(charge: Chargeable, billing_account: str, account: str) -> CounterKey:
    """The counter of ``account``'s usage (billed to ``billing_account``) for ``charge``."""
    # per_account(charge), inline: this runs once per usage in the reference and live raters
    who = account if charge.counter_scope == "account" else billing_account
    name = charge.pool_name
    return (who, id(charge), False) if name is None else (who, name, True)


def counter_expr(
    per_account: pl.Expr,
    billing_account: pl.Expr | None = None,
    account: pl.Expr | None = None,
) -> pl.Expr:
    """:func:`counter_key`'s ``who`` on columns: ``account`` where ``per_account`` (the
    charge's :func:`per_account`), else ``billing_account`` (default: the columns so named)."""
    owner = pl.col("billing_account") if billing_account is None else billing_account
    own = pl.col("account") if account is None else account
    return pl.when(per_account).then(own).otherwise(owner)


def invoice_owner(key: CounterKey, billing_account_of: Mapping[str, str]) -> str:
    """The billing account whose invoice shows ``key``'s parts: a pool counter's is its sid's
    billing account (so a sid shares one counter whatever the pool's scope), a price's is
    the billing account it was keyed by."""
    who, _, pooled = key
    return billing_account_of[who] if pooled else who


def in_rating_order(keys: Iterable[CounterKey]) -> list[CounterKey]:
    """Counters in the order their parts are listed: pools, then prices, each kind in the
    order given (first usage first)."""
    return sorted(keys, key=lambda key: not key[2])


#: The order a usage is counted in: :attr:`Usage.order_key` (a C getter: sort keys are read
#: once per usage).
order_key: Callable[[Usage], OrderKey] = attrgetter("order_key")


def order_by() -> list[pl.Expr]:
    """:data:`ORDER_COLUMNS` as sort expressions: strings compared as strings (Categorical
    columns are cast), so the order is :func:`order_key`'s."""
    time, event_id, account = ORDER_COLUMNS
    return [pl.col(time), pl.col(event_id).cast(pl.String), pl.col(account).cast(pl.String)]


def line_key(
    category: str,
    kind: Kind,
    pool: str | None,
    tier: int | None,
    tier_label: str | None,
    unit_price: Decimal | None,
) -> tuple[object, ...]:
    """What a line groups parts (or lines of the same invoice) by."""
    return (category, kind, pool, tier, tier_label, unit_price)
