"""The plan advisor's table cell of refusals: sentences joined as sentences."""

from __future__ import annotations

from ratecard.cli.flex_commands import _why


def test_refusals_in_one_cell_read_as_sentences_and_say_above_once() -> None:
    refusals = [
        ("a", "It is Named User or Active User Hours."),
        ("b", "A plan change takes effect next month."),
        ("c", "Subaccounts take no plan."),
        ("d", "Created with Flex."),
    ]
    assert _why(refusals, {"c", "d"}) == (
        "It is Named User or Active User Hours. A plan change takes effect next month. "
        "No plan is possible for this account (see above)."
    )
