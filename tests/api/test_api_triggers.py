"""Usage Triggers through the vendor's official Python SDK, and the server's own delivery
worker sending a fired trigger's webhook, signed, to a local receiver."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ratecard.service.accounts import create_account

from .conftest import NOW, Server


@pytest.fixture
def sdk(server: Server, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    client = Client(*server.marketing)
    client.api.base_url = server.url
    return client


def test_create_fetch_list_update_delete_with_the_sdk(sdk: Client, server: Server) -> None:
    sid = server.marketing[0]
    created = sdk.usage.triggers.create(
        callback_url="http://127.0.0.1:9/hook",
        trigger_value="1000000",
        usage_category="calls-outbound",
        friendly_name="a million minutes",
        recurring="monthly",
        trigger_by="usage",
    )
    assert created.sid.startswith("UT")
    assert len(created.sid) == 34
    assert (created.account_sid, created.api_version) == (sid, "2010-04-01")
    assert created.callback_method == "POST"
    assert created.trigger_value == "1000000"
    assert created.recurring == "monthly"
    assert created.date_fired is None
    assert created.date_created == NOW
    assert created.uri.endswith(f"/Triggers/{created.sid}.json")
    (record,) = sdk.usage.records.this_month.list(category="calls-outbound")
    assert created.current_value == record.usage  # the Usage Record, as a string
    assert created.usage_record_uri.endswith("StartDate=2026-07-01&EndDate=2026-07-31")

    fetched = sdk.usage.triggers(created.sid).fetch()
    assert fetched.friendly_name == "a million minutes"
    updated = sdk.usage.triggers(created.sid).update(
        friendly_name="renamed", callback_method="GET", callback_url="http://127.0.0.1:9/other"
    )
    assert (updated.friendly_name, updated.callback_method) == ("renamed", "GET")
    assert updated.callback_url == "http://127.0.0.1:9/other"
    more = [
        sdk.usage.triggers.create(
            callback_url="http://127.0.0.1:9/hook",
            trigger_value=str(n),
            usage_category="sms-outbound",
            trigger_by="count",
        )
        for n in range(3)
    ]
    listed = sdk.usage.triggers.list(page_size=2)  # two pages followed
    # (oldest first, then by sid: the server's clock is fixed, so by sid here)
    assert [t.sid for t in listed] == sorted([created.sid] + [t.sid for t in more])
    by_count = sdk.usage.triggers.list(trigger_by="count")
    assert [t.sid for t in by_count] == sorted(t.sid for t in more)
    assert [t.sid for t in sdk.usage.triggers.list(recurring="monthly")] == [created.sid]
    for trigger in [created, *more]:
        assert sdk.usage.triggers(trigger.sid).delete() is True
    with pytest.raises(TwilioRestException) as missing:
        sdk.usage.triggers(created.sid).fetch()
    assert missing.value.status == 404
    assert sdk.usage.triggers.list() == []


def test_a_relative_value_and_refusals(sdk: Client, server: Server) -> None:
    (record,) = sdk.usage.records.this_month.list(category="calls-inbound-local")
    trigger = sdk.usage.triggers.create(
        callback_url="http://127.0.0.1:9/hook",
        trigger_value="+2.5",
        usage_category="calls-inbound-local",
        recurring="monthly",
        trigger_by="price",
    )
    assert Decimal(trigger.trigger_value) == record.price + Decimal("2.5")
    assert trigger.current_value == f"{record.price:.2f}"
    sdk.usage.triggers(trigger.sid).delete()
    with httpx.Client(base_url=server.url, auth=server.marketing) as client:
        path = f"/2010-04-01/Accounts/{server.marketing[0]}/Usage/Triggers.json"
        for form, field in [
            ({"TriggerValue": "1", "UsageCategory": "calls-outbound"}, "CallbackUrl"),
            ({"CallbackUrl": "ftp://x", "TriggerValue": "1", "UsageCategory": "sms"},
             "CallbackUrl"),
            ({"CallbackUrl": "http://h", "TriggerValue": "1.5e3", "UsageCategory": "sms-outbound"},
             "TriggerValue"),
            ({"CallbackUrl": "http://h", "TriggerValue": "1", "UsageCategory": "nope"},
             "UsageCategory"),
            ({"CallbackUrl": "http://h", "TriggerValue": "1", "UsageCategory": "sms-outbound",
              "Recurring": "weekly"}, "Recurring"),
        ]:  # fmt: skip
            answer = client.post(path, data=form)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["field"] == field
        other = f"/2010-04-01/Accounts/{server.other[0]}/Usage/Triggers.json"
        assert client.get(other).status_code == 404  # another tenant's triggers do not exist


def test_the_server_delivers_a_fired_trigger_signed(
    server: Server, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    # a tenant of its own: its call changes no other test's figures
    account, token = create_account(server.db, "Alert Co", None, date(2026, 1, 1))
    sid = account.sid
    sdk = Client(sid, token)
    sdk.api.base_url = server.url
    trigger = sdk.usage.triggers.create(
        callback_url=receiver.url,
        trigger_value="+3",
        usage_category="calls-outbound",
        recurring="daily",
    )
    call = {
        "type": "call",
        "id": "trigger-e2e-1",
        "account": sid,
        "time": "2026-07-20T11:00:00Z",
        "call_id": "CAtriggere2e1",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": 200,  # 4 minutes
    }
    with httpx.Client(base_url=server.url, auth=(sid, token)) as client:
        assert client.post("/v1/events", json={"events": [call]}).status_code == 200
        deadline = time.monotonic() + 15
        while not receiver.requests:
            assert time.monotonic() < deadline, "the worker did not deliver the webhook"
            time.sleep(0.05)
        key = client.get(f"/v1/accounts/{sid}/webhook-signing-key").json()["signing_key"]
        log = client.get(f"/v1/accounts/{sid}/triggers/{trigger.sid}/deliveries")
        for _ in range(100):  # the attempt is logged just after the receiver answers
            if log.json()["deliveries"][0]["status"] == "delivered":
                break
            time.sleep(0.05)
            log = client.get(f"/v1/accounts/{sid}/triggers/{trigger.sid}/deliveries")
    (request,) = receiver.requests
    assert receiver.valid(key, request)
    assert request["params"]["UsageTriggerSid"] == trigger.sid
    assert Decimal(request["params"]["CurrentValue"]) >= Decimal(trigger.trigger_value)
    (delivery,) = log.json()["deliveries"]
    assert delivery["status"] == "delivered"
    assert delivery["log"][0]["status_code"] == 200
    fired = sdk.usage.triggers(trigger.sid).fetch()
    assert fired.date_fired == NOW
    sdk.usage.triggers(trigger.sid).delete()
