"""Properties of rating and invoicing over random usage, with the shipped ``us`` catalog.

Quantities are integers (metered usage after per-call rounding); never floats.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ratecard.accounts import Account
from ratecard.billing.invoice import Invoice, assemble_invoice
from ratecard.catalog import Catalog, load_catalog, parse_catalog
from ratecard.catalog.load import SHIPPED
from ratecard.periods import Month
from ratecard.prices.metered import Usage
from ratecard.rating.engine import rate

ACCOUNT = Account("AC" + "9" * 32, "Property Co", date(2026, 1, 1))
JULY = Month(2026, 7)
US = load_catalog("us")

#: Categories of the us catalog: four pools (voice, messages, MMS, numbers) and other prices
#: (per_unit, graduated studio engagements, packaged lookups). Largest quantities are chosen
#: so that a few records cross each pool's thresholds (500,000 minutes, 150,000 segments,
#: 1,000 number charges).
CATEGORIES = {
    "calls-inbound-local": 250_000,
    "calls-outbound": 250_000,
    "calls-inbound-tollfree": 250_000,
    "sms-outbound": 100_000,
    "sms-inbound-tollfree": 100_000,
    "mms-outbound": 100_000,
    "phonenumbers-local": 600,
    "phonenumbers-tollfree": 600,
    "calls-inbound-mobile": 10_000,
    "studio-engagements": 3_000,
    "lookups": 5_000,
}

Record = tuple[str, int, int]  # category, quantity, minute of the month


@st.composite
def records(draw: st.DrawFn, max_size: int = 8) -> list[Record]:
    category = st.sampled_from(sorted(CATEGORIES))
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        name = draw(category)
        quantity = draw(st.integers(0, CATEGORIES[name]))
        minute = draw(st.integers(0, 31 * 24 * 60 - 1))
        result.append((name, quantity, minute))
    return result


def usages(recs: list[Record], prefix: str = "e") -> list[Usage]:
    return [
        Usage(f"{prefix}{i:03d}", ACCOUNT.sid, at(minute), name, Decimal(quantity), "US")
        for i, (name, quantity, minute) in enumerate(recs)
    ]


def at(minute: int) -> datetime:
    return JULY.start + timedelta(minutes=minute)


def invoice(items: list[Usage], catalog: Catalog = US) -> Invoice:
    parts = rate(catalog, items, {ACCOUNT.sid: ACCOUNT.sid}).get(ACCOUNT.sid, [])
    return assemble_invoice(ACCOUNT, [ACCOUNT], parts, JULY, catalog)


def precise_total(items: list[Usage]) -> Decimal:
    return sum((line.precise_amount for line in invoice(items).lines), Decimal(0))


@settings(max_examples=60, deadline=None)
@given(recs=records(), data=st.data())
def test_splitting_a_record_in_two_consecutive_records_keeps_the_total(
    recs: list[Record], data: st.DataObject
) -> None:
    if not recs:
        recs = [("calls-inbound-local", 10, 0)]
    items = usages(recs)
    index = data.draw(st.integers(0, len(items) - 1))
    whole = items[index]
    first = data.draw(st.integers(0, int(whole.quantity)))
    # same instant, ids "eNNN-1" < "eNNN-2" sort right after "eNNN"'s place: consecutive
    halves = [
        Usage(f"{whole.event_id}-{n}", whole.account, whole.time, whole.category, q, "US")
        for n, q in ((1, Decimal(first)), (2, whole.quantity - first))
    ]
    split = items[:index] + halves + items[index + 1 :]
    assert invoice(split).total == invoice(items).total


@settings(max_examples=60, deadline=None)
@given(recs=records(), more=records(max_size=3))
def test_adding_usage_never_lowers_the_precise_total(
    recs: list[Record], more: list[Record]
) -> None:
    # usage added at any time; in the us catalog every volume rate falls by no more than the
    # lowest rate of its pool, so a unit pushed into a cheaper tier never saves more than the
    # added unit costs
    base = usages(recs)
    assert precise_total(base + usages(more, prefix="m")) >= precise_total(base)


@settings(max_examples=60, deadline=None)
@given(recs=records(), more=records(max_size=3))
def test_adding_later_usage_never_lowers_the_invoice_total(
    recs: list[Record], more: list[Record]
) -> None:
    # usage added after all existing usage re-prices nothing already counted, and each line
    # only grows: rounding half-up is monotone, so the sum of rounded lines cannot fall
    base = usages(recs)
    last = max((minute for _, _, minute in recs), default=0)
    later = [(name, quantity, last + 1 + minute % 60) for name, quantity, minute in more]
    assert invoice(base + usages(later, prefix="z")).total >= invoice(base).total


def per_unit_catalog() -> Catalog:
    """The us catalog with each pool replaced by per-unit prices at its first-tier rates."""
    data: dict[str, Any] = tomllib.loads((SHIPPED / "us.toml").read_text(encoding="utf-8"))
    for pool in data.pop("pools"):
        for category, rates in pool["rates"].items():
            data["prices"].append(
                {
                    "category": category,
                    "countries": pool["countries"],
                    "model": "per_unit",
                    "rate": rates[0],
                }
            )
    return parse_catalog(data)


PER_UNIT = per_unit_catalog()

VOICE = ["calls-inbound-local", "calls-outbound", "calls-inbound-tollfree"]


@settings(max_examples=60, deadline=None)
@given(
    recs=st.lists(
        st.tuples(st.sampled_from(VOICE), st.integers(0, 100_000), st.integers(0, 44_639)),
        max_size=5,
    )
)
def test_below_every_threshold_the_pooled_total_equals_per_unit_pricing(
    recs: list[Record],
) -> None:
    # at most 5 x 100,000 = 500,000 minutes: the voice threshold is reached, never crossed
    items = usages(recs)
    assert invoice(items).total == invoice(items, PER_UNIT).total


@settings(max_examples=60, deadline=None)
@given(recs=records())
def test_the_total_is_the_sum_of_lines_each_rounded_half_up_from_its_precise_amount(
    recs: list[Record],
) -> None:
    bill = invoice(usages(recs))
    cent = Decimal("0.01")
    for line in bill.lines:
        assert line.amount == line.precise_amount.quantize(cent, rounding=ROUND_HALF_UP)
    assert bill.total == sum((line.amount for line in bill.lines), Decimal("0.00"))


def test_the_per_unit_catalog_really_has_no_pools() -> None:
    # guards the comparison above: the two catalogs must differ in pools only
    assert PER_UNIT.versions[0].pools == ()
    pooled = sum(len(pool.rates) for pool in US.versions[0].pools)  # 11 with MMS
    assert pooled == 11
    assert len(PER_UNIT.versions[0].prices) == len(US.versions[0].prices) + pooled
