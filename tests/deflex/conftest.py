"""Fixtures for the deflexification tests: one realistic vendor export of a Flex account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ratecard.deflex.resources import AccountResources, parse_resources
from ratecard.deflex.workflow import Actor

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ACCOUNT = "AC5f3b2c9d8e7a6b5c4d3e2f1a0b9c8d7e"


def sid(prefix: str, byte: int) -> str:
    """The fixture's sids: a prefix and one byte repeated 16 times (``FWa1a1...``)."""
    return prefix + f"{byte:02x}" * 16


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment in July 2026 (UTC)."""
    return datetime(2026, 7, day, hour, minute, tzinfo=UTC)


CUSTOMER = Actor("ops@acme.example", "account")
AGENT = Actor("sam.support", "support")


@pytest.fixture
def export() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "acme_flex_resources.json").read_text())
    return data


@pytest.fixture
def resources(export: dict[str, Any]) -> AccountResources:
    return parse_resources(export, ACCOUNT, "acme_flex_resources.json")
