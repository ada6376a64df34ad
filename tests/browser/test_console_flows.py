"""Click through the console as its users do, and check each figure against the JSON API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pypdfium2
from playwright.sync_api import Page

from .a11y import assert_accessible
from .conftest import SCREENSHOTS, Console, log_in, screenshot


def test_a_wrong_token_is_refused_on_the_login_page(page: Page, console: Console) -> None:
    page.goto("/console/login")
    page.get_by_label("Account SID or support user name").fill(console.parent[0])
    page.get_by_label("Auth token").fill("0" * 32)
    with page.expect_response("**/console/login") as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").inner_text() == "the account SID or auth token is not right"
    screenshot(page, "login-refused")
    page.goto("/console/overview")
    assert page.url.endswith("/console/login?next=%2Fconsole%2Foverview")


def test_a_page_asked_for_before_login_is_shown_after_it(page: Page, console: Console) -> None:
    page.goto("/console/invoices/2026-06")
    assert "/console/login" in page.url
    page.get_by_label("Account SID or support user name").fill(console.parent[0])
    page.get_by_label("Auth token").fill(console.parent[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/invoices/2026-06")
    assert page.locator("#status").inner_text() == "finalized"


def test_logging_out_ends_the_session(page: Page, console: Console) -> None:
    log_in(page, console.parent, "/console/invoices")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/console/login")
    page.goto("/console/invoices")
    assert "/console/login" in page.url


def test_the_overview_shows_the_drafts_total_and_pool_counters_of_the_api(
    page: Page, console: Console
) -> None:
    log_in(page, console.parent, "/console/overview")
    with console.api(console.parent) as api:
        doc = api.get(f"/v1/accounts/{console.parent[0]}/invoices/2026-07").json()
    assert page.locator("#spend").inner_text() == doc["total"] == "37.91"
    voice = sum(
        (Decimal(line["quantity"]) for line in doc["lines"] if line["pool"] == "us-canada-voice"),
        Decimal(0),
    )
    row = page.locator("tr[data-pool='us-canada-voice']")
    assert row.locator("[data-used]").inner_text() == f"{voice} minutes"
    # 2162 minutes in 20 days is 108.1 a day: 3351 by the 31st, far below 500,000
    assert voice == 2162
    assert row.locator("[data-crossing]").inner_text() == "not forecast to cross this month"
    assert "daily average so far" in page.locator("#pools-h + p").inner_text()


def test_the_overview_daily_table_matches_the_daily_usage_records(
    page: Page, console: Console
) -> None:
    log_in(page, console.parent, "/console/overview")
    sid = console.parent[0]
    params = {"StartDate": "2026-07-01", "EndDate": "2026-07-20", "PageSize": "1000"}
    with console.api(console.parent) as api:
        answer = api.get(f"/2010-04-01/Accounts/{sid}/Usage/Records/Daily.json", params=params)
    records = [r for r in answer.json()["usage_records"] if Decimal(r["usage"])]
    assert len(records) > 100  # seven categories on most of 20 days
    cells = page.eval_on_selector_all(
        "#daily td[data-category]",
        "cells => cells.map(c => [c.dataset.category, c.dataset.day, c.textContent])",
    )
    shown = {(category, day): text for category, day, text in cells}
    for record in records:
        assert shown[(record["category"], record["start_date"])] == record["usage"]
    assert page.locator("svg.chart").count() == len({r["category"] for r in records})


def test_the_invoice_list_and_view_show_the_apis_figures(page: Page, console: Console) -> None:
    log_in(page, console.parent, "/console/invoices")
    sid = console.parent[0]
    with console.api(console.parent) as api:
        listed = api.get(f"/v1/accounts/{sid}/invoices").json()["invoices"]
        june = api.get(f"/v1/accounts/{sid}/invoices/2026-06").json()
    assert [i["month"] for i in listed] == ["2026-07", "2026-06"]
    for invoice in listed:
        row = page.locator(f"tr[data-month='{invoice['month']}']")
        assert row.get_attribute("data-status") == invoice["status"]
        assert row.locator("[data-total]").inner_text() == f"{invoice['total']} USD"
    page.get_by_role("link", name="2026-06", exact=True).click()
    page.wait_for_url("**/console/invoices/2026-06")
    assert page.locator("#total").inner_text() == june["total"]
    assert page.locator("#lines tbody tr").count() == len(june["lines"])
    for part in june["subaccounts"]:
        section = page.locator(f"section[data-account='{part['account']}']")
        assert section.locator("[data-total]").inner_text() == part["total"]
    screenshot(page, "invoice-finalized")


def test_the_csv_download_is_the_apis_csv(page: Page, console: Console) -> None:
    log_in(page, console.parent, "/console/invoices/2026-07")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    data = Path(download.value.path()).read_text()
    with console.api(console.parent) as api:
        expected = api.get(f"/v1/accounts/{console.parent[0]}/invoices/2026-07?format=csv").text
    assert data == expected
    assert download.value.suggested_filename == f"invoice-{console.parent[0]}-2026-07.csv"


def test_the_pdf_download_renders_a_page_with_the_invoice_total(
    page: Page, console: Console
) -> None:
    log_in(page, console.parent, "/console/invoices/2026-07")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = pypdfium2.PdfDocument(Path(download.value.path()).read_bytes())
    first = pdf[0]
    image = first.render(scale=2).to_pil()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / "invoice-pdf.png")
    assert image.width > 1000
    assert image.convert("L").getextrema()[0] < 64  # something dark was drawn: the text
    text = first.get_textpage().get_text_range()
    assert "Total: 37.91 USD" in text
    assert "Demo Support (ACde000000000000000000000000000002): 15.75 USD" in text


def test_an_allowed_plan_switch_is_accepted_and_shown(page: Page, console: Console) -> None:
    log_in(page, console.flex, "/console/flex")
    page.get_by_label("Plan", exact=True).select_option("active-user-hours")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**/console/flex?changed=active-user-hours")
    assert "Plan change to active-user-hours accepted" in page.get_by_role("status").inner_text()
    screenshot(page, "flex-switched")
    with console.api(console.flex) as api:
        status = api.get(f"/v1/accounts/{console.flex[0]}/flex").json()
    assert status["history"][-1] == {
        "plan": "active-user-hours",
        "effective": "2026-08-01T00:00:00Z",
    }
    assert page.locator("#history tbody tr").count() == len(status["history"]) == 2


def test_a_refused_plan_switch_shows_the_rules_reasons(page: Page, console: Console) -> None:
    log_in(page, console.reject_flex, "/console/flex")
    page.get_by_label("Plan", exact=True).select_option("user-usage")
    with page.expect_response("**/console/flex/change") as answer:
        page.get_by_role("button", name="Switch").click()
    assert answer.value.status == 400
    with console.api(console.reject_flex) as api:
        status = api.get(f"/v1/accounts/{console.reject_flex[0]}/flex").json()
    shown = page.locator("#refusals").inner_text()
    for refusal in status["options"]["user-usage"]["refusals"]:
        assert refusal["explanation"] in shown
    assert status["plan"] == "named-user"  # nothing changed
    screenshot(page, "flex-refused")
    assert_accessible(page)


def _file_request(page: Page, console: Console, login: tuple[str, str]) -> str:
    """File a stop_billing request with the billing change accepted; return its id."""
    log_in(page, login, "/console/deflex")
    page.get_by_label("Stop Flex billing (resources stay)").check()
    page.get_by_label("I accept the billing change in the table above").check()
    page.get_by_role("button", name="File the request").click()
    page.wait_for_url("**/console/requests/*")
    assert page.locator("#request-status").inner_text() == "submitted"
    return page.url.rsplit("/", 1)[1]


def test_support_rejects_a_filed_request_with_the_keyboard(page: Page, console: Console) -> None:
    request_id = _file_request(page, console, console.reject_flex)
    screenshot(page, "request")
    assert_accessible(page)
    page.get_by_role("button", name="Log out").click()
    log_in(page, console.support)
    page.get_by_label(f"Reason for rejecting request {request_id}").focus()
    page.keyboard.type("the workspace still routes production calls")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/console/support")
    section = page.locator(f"section[data-request='{request_id}']")
    assert section.locator("[data-status]").inner_text() == "rejected"
    with console.api(console.support) as api:
        shown = api.get(f"/v1/deflex/requests/{request_id}").json()
    assert shown["status"] == "rejected"
    assert shown["audit"][-1]["note"] == "the workspace still routes production calls"


def test_support_processes_a_filed_request(page: Page, console: Console) -> None:
    request_id = _file_request(page, console, console.process_flex)
    page.get_by_role("button", name="Log out").click()
    log_in(page, console.support)
    screenshot(page, "support-queue")
    assert_accessible(page)  # with a request to process or reject: every form is there
    with page.expect_navigation():
        page.get_by_role("button", name=f"Process request {request_id}").click()
    assert page.url.endswith("/console/support")
    section = page.locator(f"section[data-request='{request_id}']")
    assert section.locator("[data-status]").inner_text() == "processed"
    with console.api(console.process_flex) as api:
        shown = api.get(f"/v1/deflex/requests/{request_id}").json()
        again = api.post(
            f"/v1/accounts/{console.process_flex[0]}/deflex/requests",
            json={"intent": "stop_billing", "accept_billing_change": True},
        )
    assert shown["status"] == "processed"
    assert shown["effective"] == "2026-07-20T12:00:00Z"
    # Flex billing stopped at the effective time: there is nothing left to remove
    assert again.status_code == 400
    assert "no Flex plan in force" in again.json()["error"]["message"]


def test_a_subaccounts_overview_shows_its_usage_price_of_the_usage_records_api(
    page: Page, console: Console
) -> None:
    log_in(page, console.subaccount, "/console/overview")
    sid = console.subaccount[0]
    with console.api(console.subaccount) as api:
        answer = api.get(
            f"/2010-04-01/Accounts/{sid}/Usage/Records/ThisMonth.json",
            params={"Category": "totalprice"},
        )
    (record,) = answer.json()["usage_records"]
    # its share on the parent's draft, each line rounded: 13.62 + 2.00 + 0.13 (13.618 + 2.00 +
    # 0.125 = 15.743 before rounding)
    assert page.locator("#spend").inner_text() == record["price"] == "15.75"
    assert page.locator("#pools").count() == 0  # pools count on the parent's invoice


def test_a_draft_request_is_acknowledged_then_withdrawn(page: Page, console: Console) -> None:
    log_in(page, console.flex, "/console/deflex")
    with console.api(console.flex) as api:
        findings = api.get(f"/v1/accounts/{console.flex[0]}/deflex/checklist").json()["findings"]
    assert page.locator("#checklist tbody tr").count() == len(findings) == 8
    page.get_by_label("Decommission (the Flex workspace is removed too)").check()
    page.get_by_role("button", name="File the request").click()  # without the acceptance
    page.wait_for_url("**/console/requests/*")
    request_id = page.url.rsplit("/", 1)[1]
    assert page.locator("#request-status").inner_text() == "draft"
    with page.expect_navigation():
        page.get_by_role("button", name="Accept the billing change and submit").click()
    assert page.locator("#request-status").inner_text() == "submitted"
    with page.expect_navigation():
        page.get_by_role("button", name="Withdraw the request").click()
    assert page.locator("#request-status").inner_text() == "withdrawn"
    with console.api(console.flex) as api:
        shown = api.get(f"/v1/deflex/requests/{request_id}").json()
    assert [e["action"] for e in shown["audit"]] == [
        "file",
        "accept_billing_change",
        "submit",
        "withdraw",
    ]
    page.goto("/console/deflex")
    row = page.locator(f"tr[data-request='{request_id}']")
    assert row.locator("[data-status]").inner_text() == "withdrawn"
