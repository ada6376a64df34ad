"""Issue 12 item 9 (MMS): an MMS is a message with ``channel = "mms"``, metered as the vendor's
``mms-inbound`` / ``mms-outbound`` per message and priced by the catalog's US/Canada MMS
pool, the same on the per-account path, the month close and the HTTP fast path."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ratecard.periods import Month
from ratecard.service import close, invoices
from ratecard.service.accounts import create_account
from ratecard.service.ingest import ingest_batch
from ratecard.service.settings import Settings
from ratecard.store.database import Database
from ratecard.usage.fastpath import decode_batch
from ratecard.usage.normalize import message_category

JULY = Month(2026, 7)


def message(sid: str, n: int, direction: str, channel: str, segments: int) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"m{n}",
        "account": sid,
        "time": f"2026-07-0{n + 1}T12:00:00Z",
        "direction": direction,
        "country": "US",
        "channel": channel,
        "segments": segments,
    }


def test_mms_messages_are_metered_as_mms_categories() -> None:
    assert message_category("outbound", "mms") == "mms-outbound"
    assert message_category("inbound", "mms") == "mms-inbound"
    assert message_category("outbound", "tollfree") == "sms-outbound-tollfree"
    body = {"events": [message("AC" + "a" * 32, 1, "outbound", "mms", 1)]}
    assert decode_batch(json.dumps(body).encode()) is not None  # MMS take the fast path too


def test_an_mms_month_is_priced_per_message_at_the_catalogs_mms_rate(
    db: Database, settings: Settings
) -> None:
    account, _ = create_account(db, "Pictures", None, date(2025, 1, 1))
    events = [
        message(account.sid, 0, "outbound", "mms", 1),
        message(account.sid, 1, "outbound", "mms", 1),
        message(account.sid, 2, "inbound", "mms", 1),
        message(account.sid, 3, "outbound", "longcode", 3),
    ]
    assert ingest_batch(db, events, settings).stored == 4
    (generated,) = invoices.generate(db, JULY, settings)
    (doc,) = invoices.show(db, JULY)
    fields = ("pool", "quantity", "unit", "unit_price", "amount")
    lines = {line["category"]: tuple(line[f] for f in fields) for line in doc["lines"]}
    assert lines == {
        "mms-outbound": ("us-canada-mms", "2", "messages", "0.0200", "0.04"),
        "mms-inbound": ("us-canada-mms", "1", "messages", "0.0200", "0.02"),
        "sms-outbound": ("us-canada-messages", "3", "segments", "0.0079", "0.02"),  # 0.0237
    }
    assert (generated.total, doc["total"]) == ("0.08", "0.08")
    again = close.generate(db, JULY, settings)  # the month close (batch kernel) agrees
    assert [(g.action, g.total) for g in again.generated] == [("unchanged", "0.08")]
    assert again.failed == []
