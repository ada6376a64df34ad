"""Event bodies shared by the unit tests of event parsing (not a test module)."""

from __future__ import annotations

from typing import Any

SID = "AC" + "a" * 32


def call(n: int, time: str = "2026-07-01T09:00:00Z", **extra: Any) -> dict[str, Any]:
    """A well-formed call event body numbered ``n``; ``extra`` replaces or adds fields."""
    event: dict[str, Any] = {
        "type": "call",
        "id": f"e{n}",
        "account": SID,
        "time": time,
        "call_id": f"CA{n:032d}",
        "direction": "outbound",
        "number_type": "local",
        "country": "US",
        "duration_seconds": n,
    }
    return event | extra
