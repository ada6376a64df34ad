"""The invoice lifecycle as a Hypothesis state machine: every unit is billed exactly once.

Steps in any order: ingest calls (also resends, and calls of months already finalized),
generate a month's draft (one account's path or the whole month close), finalize it (or both
in one step, so short runs reach deep histories), void it.
Invariants after every step: the finalized invoices never bill more minutes of a category than
were used; each stored document's total is the sum of its rounded lines; a finalized document
never changes. At the end every month is generated and finalized in order (and one month more
carries what is still late): then the finalized invoices bill exactly the minutes used, each
at the base or the volume rate of its category.

The voice pool's threshold is lowered to 300 minutes (a copy of the shipped catalog), so the
random calls straddle it often. SQLite, one file per example.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ratecard.catalog.load import SHIPPED
from ratecard.errors import NotFoundError, StateError
from ratecard.periods import Month
from ratecard.service import close, invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.store.unit_of_work import UnitOfWork

MONTHS = (Month(2026, 7), Month(2026, 8))
SETTLE = (*MONTHS, Month(2026, 9))
CATEGORY = {"inbound": "calls-inbound-local", "outbound": "calls-outbound"}
#: (base, volume) rate per minute of each category in the voice pool
RATES = {
    "calls-inbound-local": (Decimal("0.0085"), Decimal("0.0080")),
    "calls-outbound": (Decimal("0.013"), Decimal("0.012")),
}


def low_threshold_catalog(folder: Path) -> str:
    text = (SHIPPED / "us.toml").read_text()
    lowered, count = re.subn(
        r'tiers = \[\{ up_to = "500000" \}, \{\}\]', 'tiers = [{ up_to = "300" }, {}]', text
    )
    assert count == 1
    path = folder / "low-threshold.toml"
    path.write_text(lowered)
    return str(path)


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        root = Path(self.folder.name)
        self.settings = Settings(
            database_url=f"sqlite:///{root / 'ratecard.db'}", catalog=low_threshold_catalog(root)
        )
        self.db = Database(self.settings.database_url)
        self.db.upgrade()
        parent, _ = create_account(self.db, "Parent", None, date(2025, 1, 1))
        child, _ = create_account(self.db, "Child", parent.sid, date(2025, 1, 1))
        self.owner = parent.sid
        self.accounts = (parent.sid, child.sid)
        self.sent: list[dict[str, Any]] = []
        self.used: Counter[str] = Counter()
        self.finals: dict[int, str] = {}

    def teardown(self) -> None:
        self.db.dispose()
        self.folder.cleanup()

    @rule(
        month=st.sampled_from(MONTHS),
        day=st.integers(1, 28),
        minutes=st.integers(1, 200),
        direction=st.sampled_from(sorted(CATEGORY)),
        child=st.booleans(),
    )
    def ingest(self, month: Month, day: int, minutes: int, direction: str, child: bool) -> None:
        n = len(self.sent)
        event = {
            "type": "call",
            "id": f"call-{n}",
            "account": self.accounts[child],
            "time": f"{month}-{day:02d}T{n % 24:02d}:00:00Z",
            "call_id": f"CA{n}",
            "direction": direction,
            "number_type": "local",
            "country": "US",
            "duration_seconds": minutes * 60,
        }
        result = ingest_batch(self.db, [event], self.settings)
        assert (result.stored, result.duplicates) == (1, 0)
        self.sent.append(event)
        self.used[CATEGORY[direction]] += minutes

    @precondition(lambda self: bool(self.sent))
    @rule(index=st.integers(0, 10_000))
    def resend(self, index: int) -> None:
        result = ingest_batch(self.db, [self.sent[index % len(self.sent)]], self.settings)
        assert (result.stored, result.duplicates) == (0, 1)

    @rule(month=st.sampled_from(MONTHS), whole_close=st.booleans())
    def generate(self, month: Month, whole_close: bool) -> None:
        if whole_close:
            close.generate(self.db, month, self.settings)
        else:
            invoices.generate(self.db, month, self.settings, self.owner)

    @rule(month=st.sampled_from(MONTHS))
    def finalize(self, month: Month) -> None:
        # stale, already finalized or not generated: refused, nothing changed
        with contextlib.suppress(StateError, NotFoundError):
            invoices.finalize(self.db, month, self.owner)

    @rule(month=st.sampled_from(MONTHS), whole_close=st.booleans())
    def generate_and_finalize(self, month: Month, whole_close: bool) -> None:
        self.generate(month, whole_close)
        self.finalize(month)

    @rule(month=st.sampled_from(MONTHS))
    def void(self, month: Month) -> None:
        with contextlib.suppress(NotFoundError):  # nothing generated: nothing to void
            invoices.void(self.db, month, self.owner)

    def stored(self) -> list[Any]:
        with UnitOfWork(self.db) as uow:
            return uow.invoices.for_account(self.owner)

    def billed(self) -> tuple[Counter[str], Counter[str]]:
        minutes: Counter[str] = Counter()
        money: Counter[str] = Counter()
        for inv in self.stored():
            if inv.status != "finalized":
                continue
            for line in json.loads(inv.document)["lines"]:
                minutes[line["category"]] += int(Decimal(line["quantity"]))
                money[line["category"]] += Decimal(line["precise_amount"])
        return minutes, money

    @invariant()
    def nothing_is_billed_twice(self) -> None:
        minutes, _ = self.billed()
        for category, quantity in minutes.items():
            assert quantity <= self.used[category], (category, quantity, self.used)

    @invariant()
    def totals_are_sums_of_rounded_lines_and_finals_never_change(self) -> None:
        for inv in self.stored():
            doc = json.loads(inv.document)
            assert Decimal(doc["total"]) == sum(Decimal(ln["amount"]) for ln in doc["lines"])
            if inv.status != "draft":
                assert self.finals.setdefault(inv.id, inv.document) == inv.document

    def teardown_check(self) -> None:
        for month in SETTLE:
            invoices.generate(self.db, month, self.settings, self.owner)
            with UnitOfWork(self.db) as uow:
                current = uow.invoices.current(self.owner, str(month))
            assert current is not None
            if current.status == "draft":
                invoices.finalize(self.db, month, self.owner)
        minutes, money = self.billed()
        assert minutes == +self.used
        for category, quantity in minutes.items():
            base, volume = RATES[category]
            assert volume * quantity <= money[category] <= base * quantity


class _Checked(Lifecycle):
    def teardown(self) -> None:
        try:
            self.teardown_check()
        finally:
            super().teardown()


_Checked.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestInvoiceLifecycle = _Checked.TestCase
