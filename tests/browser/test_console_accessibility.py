"""Every console page: a screenshot, labelled form controls, text contrast of at least 4.5:1,
and every control reachable with the Tab key."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .a11y import assert_accessible
from .conftest import Console, log_in, screenshot

#: (screenshot name, who logs in: a Console attribute or None, the page's path)
PAGES = [
    ("login", None, "/console/login"),
    ("overview", "parent", "/console/overview"),
    ("overview-subaccount", "subaccount", "/console/overview"),
    ("invoices", "parent", "/console/invoices"),
    ("invoice", "parent", "/console/invoices/2026-07"),
    ("flex", "flex", "/console/flex"),
    ("deflex", "flex", "/console/deflex"),
    ("support", "support", "/console/support"),
    ("forbidden", "support", "/console/overview"),
]


@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_has_labels_contrast_and_keyboard_reach(
    page: Page, console: Console, name: str, who: str | None, path: str
) -> None:
    if who is not None:
        log_in(page, getattr(console, who), path)
    else:
        page.goto(path)
    screenshot(page, name)
    assert_accessible(page)


def test_login_and_logout_work_with_the_keyboard_alone(page: Page, console: Console) -> None:
    page.goto("/console/login")
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "user"
    page.keyboard.type(console.parent[0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(console.parent[1])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/overview")
    tab_to(page, "button[type=submit]")  # the header's Log out button, first on the page
    assert page.evaluate("document.activeElement.textContent.trim()") == "Log out"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/login")
    assert page.get_by_label("Auth token").is_visible()


def test_the_plan_switch_form_works_with_the_keyboard_alone(page: Page, console: Console) -> None:
    log_in(page, console.flex, "/console/flex")
    tab_to(page, "#plan-choice")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # the third option: user-usage
    assert page.evaluate("document.activeElement.value") == "user-usage"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Switch"
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    # refused: this account was created with Flex (SPEC section 3)
    assert "user-usage" in page.locator("#refusals").inner_text()


def tab_to(page: Page, selector: str, limit: int = 200) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")
