"""The small rule engine behind plan eligibility (SPEC section 3).

Rules are catalog data: each names the facts under which a change is refused and explains the
refusal in words a customer understands. :func:`refusals` returns every rule that refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ratecard.catalog.flex import Rule

Facts = Mapping[str, bool | str]


@dataclass(frozen=True)
class Refusal:
    """A refused plan change: the rule that refused it and its explanation."""

    rule: str
    explanation: str

    def __str__(self) -> str:
        return f"{self.explanation} (rule {self.rule})"


def matches(rule: Rule, facts: Facts) -> bool:
    """True when every condition of ``rule`` holds for ``facts``."""
    for fact, expected in rule.when.items():
        value = facts.get(fact)
        if isinstance(expected, list):
            if value not in expected:
                return False
        elif value != expected:
            return False
    return True


def refusals(rules: Sequence[Rule], facts: Facts) -> list[Refusal]:
    """Every rule refusing a change described by ``facts`` (empty: the change is allowed)."""
    return [Refusal(rule.id, rule.explanation) for rule in rules if matches(rule, facts)]
