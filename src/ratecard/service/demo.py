"""A demo tenant for ``make run``: an account tree with a month of realistic usage.

On an empty database :func:`ensure_demo` creates ``Demo Co`` (a parent) with two subaccounts,
``Demo Support`` and ``Demo Marketing``, and the last 30 days of their usage up to ``now``:
outbound and inbound calls, toll-free support calls, messages, TaskRouter tasks and phone
numbers. The usage is generated from a fixed seed, so the same ``now`` gives the same events
(and resending them stores nothing twice). Auth tokens are stored hashed, so they are printable
only when issued: on a database that already holds the demo, the parent's token is rotated so
the demo can still be entered; any other database is left alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ratecard.service.accounts import create_account, rotate_token
from ratecard.service.ingest import ingest_batch
from ratecard.service.ports import Store
from ratecard.service.settings import Settings

PARENT = "ACde" + "0" * 29 + "1"
SUPPORT = "ACde" + "0" * 29 + "2"
MARKETING = "ACde" + "0" * 29 + "3"
DAYS = 30


@dataclass(frozen=True)
class Credentials:
    """An account's sid, name and freshly issued auth token."""

    sid: str
    name: str
    token: str


def ensure_demo(db: Store, settings: Settings, now: datetime | None = None) -> list[Credentials]:
    """Seed the demo on an empty database (or re-issue its parent token); return credentials.

    Returns an empty list when the database holds other accounts and no demo.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with db.unit_of_work() as uow:
        accounts = uow.accounts.list()
    if any(a.sid == PARENT for a in accounts):
        return [Credentials(PARENT, "Demo Co", rotate_token(db, PARENT))]
    if accounts:
        return []
    created = (moment - timedelta(days=DAYS + 30)).date()
    issued = []
    for sid, name, parent in (
        (PARENT, "Demo Co", None),
        (SUPPORT, "Demo Support", PARENT),
        (MARKETING, "Demo Marketing", PARENT),
    ):
        account, token = create_account(db, name, parent, created, sid=sid, now=moment)
        issued.append(Credentials(account.sid, account.name, token))
    ingest_batch(db, demo_events(moment), settings, moment)
    return issued


def demo_events(now: datetime) -> list[dict[str, Any]]:
    """The demo's events: the ``DAYS`` days before ``now`` (nothing after it)."""
    first = (now - timedelta(days=DAYS)).date()
    events = _numbers(first)
    for offset in range(DAYS + 1):
        day = first + timedelta(days=offset)
        rng = random.Random(f"ratecard-demo-{day.isoformat()}")
        events.extend(_day(day, rng))
    return [e for e in events if e["time"] <= _iso(now)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(day: date, rng: random.Random) -> str:
    seconds = rng.randrange(8 * 3600, 20 * 3600)
    return _iso(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds))


def _numbers(first: date) -> list[dict[str, Any]]:
    bought = _iso(datetime(first.year, first.month, first.day, 9, tzinfo=UTC))
    numbers = [
        (PARENT, "+14155550100", "local"),
        (PARENT, "+14155550101", "local"),
        (SUPPORT, "+18005550100", "tollfree"),
        (MARKETING, "+14155550199", "local"),
    ]
    return [
        {
            "type": "number_purchased",
            "id": f"demo-number-{number[1:]}",
            "account": sid,
            "time": bought,
            "number": number,
            "number_type": kind,
            "country": "US",
        }
        for sid, number, kind in numbers
    ]


def _call(day: date, rng: random.Random, n: int, sid: str, direction: str, kind: str) -> Any:
    return {
        "type": "call",
        "id": f"demo-call-{day:%Y%m%d}-{sid[-1]}-{direction}-{n}",
        "account": sid,
        "time": _at(day, rng),
        "call_id": f"CA{day:%Y%m%d}{sid[-1]}{n:04d}{direction[0]}",
        "direction": direction,
        "number_type": kind,
        "country": "US",
        "duration_seconds": rng.randrange(20, 900),
    }


def _day(day: date, rng: random.Random) -> list[dict[str, Any]]:
    events = [_call(day, rng, n, PARENT, "outbound", "local") for n in range(rng.randrange(4, 9))]
    events += [_call(day, rng, n, PARENT, "inbound", "local") for n in range(rng.randrange(2, 6))]
    events += [
        _call(day, rng, n, SUPPORT, "inbound", "tollfree") for n in range(rng.randrange(2, 6))
    ]
    for n in range(rng.randrange(3, 12)):
        events.append(
            {
                "type": "message",
                "id": f"demo-sms-{day:%Y%m%d}-{n}",
                "account": MARKETING,
                "time": _at(day, rng),
                "direction": "outbound",
                "channel": "longcode",
                "country": "US",
                "segments": rng.randrange(1, 4),
            }
        )
    for n in range(rng.randrange(1, 5)):
        events.append(
            {
                "type": "taskrouter_task",
                "id": f"demo-task-{day:%Y%m%d}-{n}",
                "account": SUPPORT,
                "time": _at(day, rng),
                "task": f"WT{day:%Y%m%d}{n:024d}",
            }
        )
    return events
