"""End to end over real HTTP: every native route group answers as documented."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from .conftest import Server


def call(account: str, n: int, day: str = "2026-07-02", seconds: int = 80) -> dict[str, Any]:
    return {
        "type": "call",
        "id": f"call-{n}",
        "account": account,
        "time": f"{day}T10:00:00Z",
        "call_id": f"CA{n}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": seconds,
    }


def test_openapi_and_docs_are_served(server: Server) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        assert "/v1/events" in spec["paths"]
        assert "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json" in spec["paths"]
        assert client.get("/docs").status_code == 200


def test_an_account_reads_itself_and_a_parent_reads_and_creates_subaccounts(server: Server) -> None:
    sid, _ = server.parent
    with server.client(server.parent) as client:
        account = client.get(f"/v1/accounts/{sid}").json()
        assert account["name"] == "Demo Co"
        assert account["subaccounts"] == [server.support_sub[0], server.marketing[0]]
        sub = client.get(f"/v1/accounts/{server.marketing[0]}").json()
        assert sub["parent"] == sid
        made = client.post(f"/v1/accounts/{server.other[0]}/subaccounts", json={"name": "x"})
        assert made.status_code == 404
    with server.client(server.other) as client:
        made = client.post(f"/v1/accounts/{server.other[0]}/subaccounts", json={"name": "Branch"})
        assert made.status_code == 201
        created = made.json()
        assert created["account"]["parent"] == server.other[0]
        assert len(created["auth_token"]) == 32
        listed = client.get(f"/v1/accounts/{server.other[0]}/subaccounts").json()["accounts"]
        assert created["account"]["sid"] in [a["sid"] for a in listed]
    with server.client((created["account"]["sid"], created["auth_token"])) as client:
        assert client.get(f"/v1/accounts/{created['account']['sid']}").status_code == 200
        assert client.get(f"/v1/accounts/{server.other[0]}").status_code == 404


def test_events_are_stored_once_and_a_resend_is_a_duplicate(server: Server) -> None:
    sid = server.other[0]
    batch = {"events": [call(sid, n) for n in range(100, 105)]}
    with server.client(server.other) as client:
        first = client.post("/v1/events", json=batch)
        assert (first.status_code, first.json()) == (200, {"stored": 5, "duplicates": 0})
        again = client.post("/v1/events", json=batch)
        assert (again.status_code, again.json()) == (200, {"stored": 0, "duplicates": 5})


def test_a_batch_with_invalid_events_names_each_and_stores_nothing(server: Server) -> None:
    sid = server.other[0]
    good = call(sid, 200)
    bad_type = {**call(sid, 201), "duration_seconds": "long"}
    bad_time = {**call(sid, 202), "time": "yesterday"}
    with server.client(server.other) as client:
        answer = client.post("/v1/events", json={"events": [good, bad_type, bad_time]})
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "invalid_events"
        assert [(p["index"], p["field"]) for p in error["problems"]] == [
            (1, "duration_seconds"),
            (2, "time"),
        ]
        # nothing stored: the good event is new when sent alone
        assert client.post("/v1/events", json={"events": [good]}).json()["stored"] == 1


def test_a_resent_id_with_other_content_is_a_conflict(server: Server) -> None:
    sid = server.other[0]
    with server.client(server.other) as client:
        client.post("/v1/events", json={"events": [call(sid, 300)]})
        changed = client.post("/v1/events", json={"events": [call(sid, 300, seconds=999)]})
        assert changed.status_code == 409
        assert changed.json()["error"]["code"] == "conflicting_events"


def test_invoice_lifecycle_json_csv_finalize_void_and_list(server: Server) -> None:
    sid = server.other[0]
    base = f"/v1/accounts/{sid}/invoices"
    with server.client(server.other) as client:
        client.post("/v1/events", json={"events": [call(sid, n, "2026-05-03") for n in range(5)]})
        generated = client.post(base, json={"month": "2026-05"})
        assert generated.status_code == 200
        invoice = generated.json()["invoice"]
        assert invoice["status"] == "draft"
        assert invoice["total"] == "0.13"  # 5 calls x 2 minutes x 0.013
        assert client.get(f"{base}/2026-05").json() == invoice
        sheet = client.get(f"{base}/2026-05", params={"format": "csv"})
        assert sheet.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(sheet.text)))
        own = [r for r in rows if r["section"] == "invoice"]  # the rest: per-account shares
        assert sum(Decimal(r["amount"]) for r in own) == Decimal("0.13")
        final = client.post(f"{base}/2026-05/finalize")
        assert final.json()["status"] == "finalized"
        again = client.post(f"{base}/2026-05/finalize")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_state")
        listed = client.get(base).json()["invoices"]
        assert [(i["month"], i["status"]) for i in listed] == [("2026-05", "finalized")]
        voided = client.post(f"{base}/2026-05/void").json()
        assert voided["previous_status"] == "finalized"
        assert client.get(f"{base}/2026-05").json()["status"] == "void"
        missing = client.get(f"{base}/2026-04")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        bad = client.post(base, json={"month": "May"})
        assert (bad.status_code, bad.json()["error"]["field"]) == (422, "month")


def test_flex_status_enable_switch_refusal_and_compare(server: Server) -> None:
    sid = server.flex[0]
    base = f"/v1/accounts/{sid}/flex"
    with server.client(server.flex) as client:
        assert client.get(base).json()["plan"] is None
        enabled = client.post(f"{base}/enable", json={"plan": "named-user"})
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["plan"] == "named-user"
        refused = client.post(f"{base}/switch", json={"plan": "user-usage"})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "plan_change_refused"
        assert "created without Flex" in refused.json()["error"]["message"]
        switched = client.post(f"{base}/switch", json={"plan": "active-user-hours"})
        assert switched.status_code == 200, switched.text
        compared = client.get(f"{base}/compare", params={"month": "2026-07"})
        assert compared.status_code == 200
        assert len(compared.json()["options"]) >= 3


def test_deflex_request_filed_by_the_account_and_processed_by_support(server: Server) -> None:
    sid = server.flex[0]
    with server.client(server.flex) as client:
        client.post(f"/v1/accounts/{sid}/flex/enable", json={"plan": "named-user"})
        checklist = client.get(f"/v1/accounts/{sid}/deflex/checklist")
        assert checklist.status_code == 200
        filed = client.post(
            f"/v1/accounts/{sid}/deflex/requests",
            json={"intent": "stop_billing", "accept_billing_change": False},
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()["request"]
        assert filed.json()["status"] == "draft"
        acked = client.post(f"/v1/deflex/requests/{number}/acknowledge")
        assert acked.json()["status"] == "submitted", acked.text
        by_account = client.post(f"/v1/deflex/requests/{number}/process")
        assert (by_account.status_code, by_account.json()["error"]["code"]) == (
            403,
            "forbidden_role",
        )
    with server.client(server.support_user) as support:
        assert support.get(f"/v1/deflex/requests/{number}").status_code == 200
        processed = support.post(f"/v1/deflex/requests/{number}/process")
        assert processed.status_code == 200, processed.text
        assert processed.json()["status"] == "processed"
        again = support.post(f"/v1/deflex/requests/{number}/process")
        assert again.status_code == 409
        # a support user cannot ingest usage as an account
        ingest = support.post("/v1/events", json={"events": [call(sid, 1)]})
        assert ingest.status_code == 403
    with server.client(server.flex) as client:
        shown = client.get(f"/v1/deflex/requests/{number}").json()
        assert shown["status"] == "processed"


def test_usage_records_envelope_has_exactly_the_vendor_keys_and_relative_pages(
    server: Server,
) -> None:
    sid = server.parent[0]
    path = f"/2010-04-01/Accounts/{sid}/Usage/Records/Daily.json"
    with server.client(server.parent) as client:
        page = client.get(path, params={"StartDate": "2026-07-01", "PageSize": 5}).json()
        assert set(page) == {
            "usage_records", "first_page_uri", "next_page_uri", "previous_page_uri",
            "page", "page_size", "start", "end", "uri",
        }  # fmt: skip
        assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 5, 0, 4)
        assert page["previous_page_uri"] is None
        assert page["next_page_uri"].startswith(f"{path}?")
        record = page["usage_records"][0]
        assert set(record) == {
            "account_sid", "api_version", "as_of", "category", "count", "count_unit",
            "description", "end_date", "price", "price_unit", "start_date",
            "subresource_uris", "uri", "usage", "usage_unit",
        }  # fmt: skip
        assert all(isinstance(record[k], str) for k in ("count", "usage", "price"))
        second = client.get(page["next_page_uri"]).json()
        assert second["page"] == 1
        assert second["start"] == 5
        assert second["previous_page_uri"] == page["first_page_uri"]
        assert second["usage_records"][0] != record
        total = client.get(
            f"/2010-04-01/Accounts/{sid}/Usage/Records/ThisMonth.json",
            params={"Category": "totalprice"},
        ).json()["usage_records"]
        invoice = client.post(f"/v1/accounts/{sid}/invoices", json={"month": "2026-07"}).json()
        assert [r["price"] for r in total] == [invoice["invoice"]["total"]]
