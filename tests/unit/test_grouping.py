"""One definition of grouping (ratecard.rating.grouping): the Python keys on values and their
columnar forms agree, on hand-made cases (pool scope account vs billing account, ties)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from ratecard.prices.base import Chargeable
from ratecard.prices.metered import Usage
from ratecard.prices.parts import Kind
from ratecard.prices.per_unit import PerUnitPrice
from ratecard.prices.pooled import Pool
from ratecard.rating.grouping import (
    ORDER_COLUMNS,
    counter_expr,
    counter_key,
    in_rating_order,
    invoice_owner,
    line_key,
    order_by,
    order_key,
    per_account,
)

PARENT, CHILD, OTHER = "ACparent", "ACchild", "ACother"
OWNERS = {PARENT: PARENT, CHILD: PARENT, OTHER: OTHER}
T0 = datetime(2026, 7, 1, tzinfo=UTC)
T1 = datetime(2026, 7, 1, 0, 0, 1, tzinfo=UTC)


def pool(scope: str) -> Pool:
    return Pool.model_validate(
        {
            "name": "voice",
            "scope": scope,
            "countries": ["*"],
            "tiers": [{"up_to": 10}, {}],
            "rates": {"calls": ["0.10", "0.05"]},
        }
    )


PRICE = PerUnitPrice.model_validate({"model": "per_unit", "category": "sms", "rate": "0.01"})


@pytest.mark.parametrize(
    ("charge", "who"),
    [
        (pool("billing_account"), {PARENT: PARENT, CHILD: PARENT, OTHER: OTHER}),
        (pool("account"), {PARENT: PARENT, CHILD: CHILD, OTHER: OTHER}),
        (PRICE, {PARENT: PARENT, CHILD: PARENT, OTHER: OTHER}),
    ],
)
def test_counter_key_and_its_column_form_agree(charge: Chargeable, who: dict[str, str]) -> None:
    accounts = [PARENT, CHILD, OTHER]
    keys = [counter_key(charge, OWNERS[a], a) for a in accounts]
    assert [key[0] for key in keys] == [who[a] for a in accounts]
    frame = pl.DataFrame(
        {"billing_account": [OWNERS[a] for a in accounts], "account": accounts}
    ).with_columns(per_account=pl.lit(per_account(charge)))
    column = frame.select(counter_expr(pl.col("per_account"))).to_series().to_list()
    assert column == [key[0] for key in keys]


def test_a_pool_counts_by_name_across_versions_a_price_by_its_version() -> None:
    old, new = pool("billing_account"), pool("billing_account")
    assert counter_key(old, PARENT, CHILD) == (PARENT, "voice", True)
    assert counter_key(old, PARENT, CHILD) == counter_key(new, PARENT, PARENT)
    revised = PRICE.model_copy(update={"rate": Decimal("0.02")})
    assert counter_key(PRICE, PARENT, CHILD) == (PARENT, id(PRICE), False)
    assert counter_key(PRICE, PARENT, CHILD) != counter_key(revised, PARENT, CHILD)


def test_invoice_owner_and_rating_order() -> None:
    child_pool = counter_key(pool("account"), PARENT, CHILD)
    price = counter_key(PRICE, PARENT, CHILD)
    shared = counter_key(pool("billing_account"), OTHER, OTHER)
    assert invoice_owner(child_pool, OWNERS) == PARENT  # the child's counter, parent's invoice
    assert invoice_owner(price, {}) == PARENT  # a price's counter is keyed by its invoice
    assert in_rating_order([price, child_pool, shared]) == [child_pool, shared, price]


def test_charges_answer_what_rating_asks() -> None:
    assert (pool("account").counter_scope, pool("account").pool_name) == ("account", "voice")
    assert (PRICE.counter_scope, PRICE.pool_name) == ("billing_account", None)
    usages = [
        Usage("e1", PARENT, T0, "calls", Decimal(8)),
        Usage("e2", PARENT, T1, "calls", Decimal(4)),
    ]
    parts, counted = pool("billing_account").rate_run(usages, Decimal(1))
    # 1 already counted: e1's 8 fit in tier 1 (to 9), e2 splits 1 at 0.10 and 3 at 0.05
    assert [(p.quantity, p.amount) for p in parts] == [
        (Decimal(8), Decimal("0.80")),
        (Decimal(1), Decimal("0.10")),
        (Decimal(3), Decimal("0.15")),
    ]
    assert counted == Decimal(13)
    limited = PRICE.model_copy(update={"minimum_spend": Decimal("1.00")})
    sms = [Usage("s1", PARENT, T0, "sms", Decimal(30))]
    parts, counted = limited.rate_run(sms, Decimal(2))
    assert [(p.kind, p.amount) for p in parts] == [
        (Kind.USAGE, Decimal("0.30")),
        (Kind.MINIMUM_SPEND, Decimal("0.70")),
    ]
    assert counted == Decimal(2)  # a price depends on no count before it: given back


def test_order_key_and_order_by_agree_on_ties() -> None:
    # same instant for b/a/c (ties by event id, then account); "e10" < "e9" as strings
    usages = [
        Usage("e9", CHILD, T1, "calls", Decimal(1)),
        Usage("e10", CHILD, T1, "calls", Decimal(1)),
        Usage("e10", PARENT, T1, "calls", Decimal(1)),
        Usage("e2", PARENT, T0, "calls", Decimal(1)),
    ]
    expected = [("e2", PARENT), ("e10", CHILD), ("e10", PARENT), ("e9", CHILD)]
    assert [(u.event_id, u.account) for u in sorted(usages, key=order_key)] == expected
    assert order_key(usages[0]) == (0, T1, "e9", CHILD)
    frame = pl.DataFrame(
        {
            "time": [u.time for u in usages],
            "event_id": [u.event_id for u in usages],
            # Categorical as the Parquet scan reads it: still ordered as strings
            "account": pl.Series([u.account for u in usages], dtype=pl.Categorical),
        }
    )
    assert tuple(frame.columns) == ORDER_COLUMNS
    ordered = frame.sort(order_by()).select("event_id", pl.col("account").cast(pl.String))
    assert ordered.rows() == expected


def test_line_key_groups_by_category_kind_pool_tier_label_price() -> None:
    one = line_key("calls", Kind.USAGE, "voice", 1, "first 10", Decimal("0.10"))
    assert one == ("calls", Kind.USAGE, "voice", 1, "first 10", Decimal("0.10"))
    assert one != line_key("calls", Kind.USAGE, "voice", 2, "first 10", Decimal("0.10"))
