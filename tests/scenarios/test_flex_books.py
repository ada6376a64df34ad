"""A book per Flex plan, invoices computed by hand (see each book.toml's header comment)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ratecard import Month, load_book
from ratecard.errors import BookError
from ratecard.prices.parts import Kind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

Row = tuple[str, str, Decimal, Decimal]


def _rows(book: str, month: str = "2026-07") -> tuple[Decimal, set[Row]]:
    (invoice,) = load_book(EXAMPLES / book / "book.toml").invoices(Month.parse(month))
    rows = {(ln.category, ln.kind.value, ln.quantity, ln.amount) for ln in invoice.lines}
    return invoice.total, rows


def test_named_user_bills_peak_seats_quota_overage_and_unbundled_voice() -> None:
    total, rows = _rows("flex-named-user")
    assert rows == {
        ("flex-named-users", "usage", Decimal(5), Decimal("750.00")),  # peak 5 x 150
        ("taskrouter-tasks", "usage", Decimal(500), Decimal("1.25")),  # 5,500 - 5,000 quota
        ("taskrouter-tasks", "included", Decimal(5000), Decimal("0.00")),
        ("studio-engagements", "included", Decimal(1200), Decimal("0.00")),
        ("programmablevoice-platform", "usage", Decimal(17), Decimal("0.07")),  # 0.068
        ("pstnconnectivity", "usage", Decimal(17), Decimal("0.08")),  # 0.0765
    }
    assert total == Decimal("751.40")


def test_named_user_voice_never_appears_as_standard_voice() -> None:
    _, rows = _rows("flex-named-user")
    assert not [r for r in rows if r[0].startswith("calls-")]


def test_active_user_hours_uses_the_rest_of_the_free_hours_then_bills_hours() -> None:
    total, rows = _rows("flex-active-user-hours")
    assert rows == {
        ("flex-active-user-hours", "usage", Decimal(27), Decimal("27.00")),  # 703 - 676 free
        ("flex-active-user-hours", "included", Decimal(676), Decimal("0.00")),
        ("taskrouter-tasks", "usage", Decimal(70), Decimal("0.18")),  # 0.175 half-up
        ("taskrouter-tasks", "included", Decimal(7030), Decimal("0.00")),  # 10 x 703 hours
        ("programmablevoice-platform", "usage", Decimal(60), Decimal("0.24")),
        ("pstnconnectivity", "usage", Decimal(60), Decimal("0.27")),
    }
    assert total == Decimal("27.69")


def test_active_user_hours_first_month_is_covered_by_free_hours() -> None:
    # June: 6 agents x 720 h + agent1's 4 h before midnight = 4,324 h, all free.
    total, rows = _rows("flex-active-user-hours", "2026-06")
    assert rows == {
        ("flex-active-user-hours", "usage", Decimal(0), Decimal("0.00")),
        ("flex-active-user-hours", "included", Decimal(4324), Decimal("0.00")),
    }
    assert total == Decimal("0.00")


def test_user_usage_bills_each_login_user_once_and_nothing_is_included() -> None:
    total, rows = _rows("flex-user-usage")
    assert rows == {
        ("calls-inbound-local", "usage", Decimal(10), Decimal("0.09")),  # standard voice
        ("flex-active-users", "usage", Decimal(6), Decimal("210.00")),  # 4 + 2 users x 35
        ("taskrouter-tasks", "usage", Decimal(400), Decimal("1.00")),
        ("studio-engagements", "usage", Decimal(1500), Decimal("1.50")),
    }
    assert total == Decimal("212.59")
    assert not [r for r in rows if r[1] == Kind.INCLUDED.value]


def test_user_usage_breakdown_shows_the_subaccount_instance() -> None:
    book = load_book(EXAMPLES / "flex-user-usage" / "book.toml")
    (invoice,) = book.invoices(Month(2026, 7))
    shares = {share.name: share.total for share in invoice.breakdown}
    assert shares == {"Usage Co": Decimal("142.59"), "Usage Co EMEA": Decimal("70.00")}


def test_mid_month_deflexification_bills_flex_before_and_standard_after() -> None:
    total, rows = _rows("flex-deflexified")
    assert rows == {
        ("flex-named-users", "usage", Decimal(3), Decimal("450.00")),  # ann, ben, cat; not dan
        ("taskrouter-tasks", "included", Decimal(100), Decimal("0.00")),  # before removal
        ("taskrouter-tasks", "usage", Decimal(200), Decimal("0.50")),  # after removal
        ("studio-engagements", "usage", Decimal(300), Decimal("0.30")),
        ("programmablevoice-platform", "usage", Decimal(10), Decimal("0.04")),  # before
        ("pstnconnectivity", "usage", Decimal(10), Decimal("0.05")),  # 0.045 half-up
        ("calls-inbound-local", "usage", Decimal(10), Decimal("0.09")),  # after: standard
    }
    assert total == Decimal("450.98")


def test_month_after_deflexification_has_no_flex_fee() -> None:
    total, rows = _rows("flex-deflexified", "2026-08")
    assert rows == set()
    assert total == Decimal("0.00")


@pytest.mark.parametrize(
    "book", ["flex-named-user", "flex-active-user-hours", "flex-user-usage", "flex-deflexified"]
)
def test_flex_invoice_total_is_the_sum_of_rounded_lines(book: str) -> None:
    (invoice,) = load_book(EXAMPLES / book / "book.toml").invoices(Month(2026, 7))
    assert invoice.total == sum((ln.amount for ln in invoice.lines), Decimal(0))


def test_a_user_usage_deflexification_in_a_book_is_refused_with_the_login_remedy(
    tmp_path: Path,
) -> None:
    source = (EXAMPLES / "flex-user-usage" / "book.toml").read_text()
    book = tmp_path / "book.toml"
    book.write_text(
        source.replace(
            'events = "events.jsonl"', f'events = "{EXAMPLES}/flex-user-usage/events.jsonl"'
        )
        + '\n[[deflexifications]]\naccount = "ACf1c0f1c0f1c0f1c0f1c0f1c0f1c0f1c0"\n'
        'intent = "stop_billing"\neffective = "2026-07-16T00:00:00Z"\n'
    )
    with pytest.raises(BookError) as caught:
        load_book(book)
    message = str(caught.value)
    assert "cannot be deflexified by request" in message
    # the shipped catalog counts User + Usage seats by login: Workers are no remedy
    assert "counts each user who logs in to Flex in a month" in message
    assert "deleting TaskRouter Workers does not stop it" in message
