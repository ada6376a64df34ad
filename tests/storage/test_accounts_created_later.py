"""An account gets no invoice for a month before it existed (issue 12 item 10): month close
skips it, one account's generate refuses it; usage it has in that month is billed anyway."""

from __future__ import annotations

from datetime import date

import pytest

from ratecard.errors import NotFoundError, StateError
from ratecard.periods import Month
from ratecard.service import close, invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database

JULY = Month(2026, 7)


def test_month_close_and_one_account_generate_skip_accounts_created_after_the_month(
    db: Database, settings: Settings
) -> None:
    old, _ = create_account(db, "Old", None, date(2025, 1, 1))
    last_day, _ = create_account(db, "Last day", None, date(2026, 7, 31))
    later, _ = create_account(db, "Later", None, date(2026, 8, 1))
    backfilled, _ = create_account(db, "Backfilled", None, date(2026, 9, 1))
    call = {
        "type": "call",
        "id": "c1",
        "account": backfilled.sid,
        "time": "2026-07-20T10:00:00Z",
        "call_id": "CA1",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": 60,
    }
    ingest_batch(db, [call], settings)

    closed = {g.account: g.total for g in close.generate(db, JULY, settings).generated}
    assert closed == {old.sid: "0.00", last_day.sid: "0.00", backfilled.sid: "0.01"}
    assert {g.account for g in invoices.generate(db, JULY, settings)} == set(closed)
    with pytest.raises(NotFoundError):
        invoices.show(db, JULY, later.sid)
    with pytest.raises(StateError, match="created after 2026-07 and has nothing to bill"):
        invoices.generate(db, JULY, settings, later.sid)
    (august,) = invoices.generate(db, Month(2026, 8), settings, later.sid)
    assert august.total == "0.00"
