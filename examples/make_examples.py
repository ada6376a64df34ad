"""Regenerate the example books' event files (deterministic: same output every run).

    python examples/make_examples.py

The books are SPEC section 4's worked examples plus a small mixed account tree; the test
suite prices them, so their totals are asserted by hand-computed values.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
ACME = "AC" + "acbe" * 8
ACME_SUPPORT = "AC" + "5a11" * 8
ACME_MARKETING = "AC" + "3a4c" * 8
VOICE = "AC" + "0c01" * 8
NUMBERS = "AC" + "0b0b" * 8


def _write(path: Path, events: list[dict[str, object]]) -> None:
    events.sort(key=lambda e: (str(e["time"]), str(e["id"])))
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def voice_volume() -> None:
    """SPEC 4: 200,000 inbound local + 200,000 outbound + 100,000 toll-free minutes, then 1,000
    more inbound local minutes. Calls last 5,941-6,000 s: each bills 100 minutes (rounded up)."""
    rng = random.Random(4)
    kinds = [("inbound", "local")] * 2000 + [("outbound", "local")] * 2000
    kinds += [("inbound", "tollfree")] * 1000
    rng.shuffle(kinds)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    events: list[dict[str, object]] = []
    for n, (direction, number_type) in enumerate(kinds):
        moment = start + timedelta(seconds=n * 400)  # all before 2026-07-25
        events.append(
            _call(f"v{n:05d}", VOICE, moment, direction, number_type, rng.randint(5941, 6000))
        )
    for n in range(10):
        moment = datetime(2026, 7, 28, 9, tzinfo=UTC) + timedelta(minutes=n * 110)
        events.append(_call(f"w{n:02d}", VOICE, moment, "inbound", "local", 6000))
    _write(HERE / "voice-volume" / "events.jsonl", events)


def _call(
    id_: str, account: str, moment: datetime, direction: str, number_type: str, seconds: int
) -> dict[str, object]:
    return {
        "type": "call",
        "id": id_,
        "account": account,
        "time": _at(moment),
        "call_id": "CA" + id_.rjust(32, "0"),
        "direction": direction,
        "number_type": number_type,
        "country": "US",
        "duration_seconds": seconds,
    }


def number_volume() -> None:
    """SPEC 4: 800 local numbers at $1.00 and 200 toll-free at $2.00, then 100 more local."""
    events: list[dict[str, object]] = []
    start = datetime(2026, 7, 1, 12, tzinfo=UTC)
    for n in range(1000):
        number_type = "local" if n < 800 else "tollfree"
        area = "415" if number_type == "local" else "888"
        events.append(
            _number(
                f"n{n:04d}", start + timedelta(minutes=n * 12), number_type, f"+1{area}555{n:04d}"
            )
        )
    for n in range(100):
        moment = datetime(2026, 7, 20, 12, tzinfo=UTC) + timedelta(minutes=n)
        events.append(_number(f"m{n:04d}", moment, "local", f"+1650555{n:04d}"))
    _write(HERE / "number-volume" / "events.jsonl", events)


def _number(id_: str, moment: datetime, number_type: str, number: str) -> dict[str, object]:
    return {
        "type": "number_purchased",
        "id": id_,
        "account": NUMBERS,
        "time": _at(moment),
        "number": number,
        "number_type": number_type,
        "country": "US",
    }


def acme() -> None:
    """A parent with two subaccounts and a month of mixed usage (the README's example)."""
    events: list[dict[str, object]] = [
        {
            "type": "number_purchased",
            "id": "num-1",
            "account": ACME,
            "time": "2026-05-31T10:00:00Z",
            "number": "+14155550100",
            "number_type": "local",
            "country": "US",
        },
        {
            "type": "number_purchased",
            "id": "num-2",
            "account": ACME_SUPPORT,
            "time": "2026-06-15T08:00:00Z",
            "number": "+18885550101",
            "number_type": "tollfree",
            "country": "US",
        },
        {
            "type": "number_purchased",
            "id": "num-3",
            "account": ACME_MARKETING,
            "time": "2026-07-03T09:00:00Z",
            "number": "+14155550102",
            "number_type": "local",
            "country": "US",
        },
        {
            "type": "number_released",
            "id": "num-3-release",
            "account": ACME_MARKETING,
            "time": "2026-07-20T09:00:00Z",
            "number": "+14155550102",
            "number_type": "local",
            "country": "US",
        },
        _call(
            "call-1", ACME_SUPPORT, datetime(2026, 7, 1, 9, tzinfo=UTC), "inbound", "tollfree", 80
        ),
        _call(
            "call-2",
            ACME_SUPPORT,
            datetime(2026, 7, 1, 9, 5, tzinfo=UTC),
            "inbound",
            "tollfree",
            605,
        ),
        _call("call-3", ACME_SUPPORT, datetime(2026, 7, 2, 14, tzinfo=UTC), "inbound", "local", 59),
        _call("call-4", ACME, datetime(2026, 7, 2, 15, tzinfo=UTC), "outbound", "local", 3600),
        _call("call-5", ACME, datetime(2026, 7, 8, 11, tzinfo=UTC), "outbound", "mobile", 121),
        _call(
            "call-6", ACME_SUPPORT, datetime(2026, 7, 9, 16, tzinfo=UTC), "inbound", "mobile", 240
        ),
    ]
    for n in range(6):
        events.append(
            {
                "type": "message",
                "id": f"sms-{n}",
                "account": ACME_MARKETING,
                "time": _at(datetime(2026, 7, 10 + n, 10, tzinfo=UTC)),
                "direction": "outbound",
                "country": "US",
                "channel": "longcode",
                "segments": 1000 * (n + 1),
            }
        )
    events.append(
        {
            "type": "message",
            "id": "sms-in-1",
            "account": ACME_SUPPORT,
            "time": "2026-07-11T12:00:00Z",
            "direction": "inbound",
            "country": "CA",
            "channel": "longcode",
            "segments": 2,
        }
    )
    for n in range(3):
        events.append(
            {
                "type": "taskrouter_task",
                "id": f"task-{n}",
                "account": ACME_SUPPORT,
                "time": _at(datetime(2026, 7, 1, 9, n, tzinfo=UTC)),
                "task": f"WT{n:032d}",
            }
        )
    events.append(
        {
            "type": "usage",
            "id": "lookups-july",
            "account": ACME,
            "time": "2026-07-31T23:00:00Z",
            "category": "lookups",
            "quantity": "1200",
        }
    )
    _write(HERE / "acme" / "events.jsonl", events)
    # the README's late event: a 10-minute July call imported after July was finalized
    late = _c("call-late-1", ACME, "2026-07-30T16:00:00Z", "outbound", 600)
    _write(HERE / "acme" / "late.jsonl", [late])


def _u(id_: str, account: str, time: str, category: str, quantity: str) -> dict[str, object]:
    return {
        "type": "usage",
        "id": id_,
        "account": account,
        "time": time,
        "category": category,
        "quantity": quantity,
    }


def _c(id_: str, account: str, time: str, direction: str, seconds: int) -> dict[str, object]:
    moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
    return _call(id_, account, moment, direction, "local", seconds)


def _user(
    kind: str, id_: str, account: str, time: str, user: str, role: str = "agent"
) -> dict[str, object]:
    return {"type": kind, "id": id_, "account": account, "time": time, "user": user, "role": role}


def _activity(
    id_: str, account: str, user: str, activity: str, start: str, end: str
) -> dict[str, object]:
    return {
        "type": "flex_activity",
        "id": id_,
        "account": account,
        "time": end,
        "user": user,
        "activity": activity,
        "start": start,
        "end": end,
    }


FLEX_NU = "AC" + "f1e0" * 8
FLEX_AUH = "AC" + "f1a0" * 8
FLEX_UU = "AC" + "f1c0" * 8
FLEX_UU_SUB = "AC" + "f1c5" * 8
FLEX_DEFLEX = "AC" + "f1d0" * 8


def flex_named_user() -> None:
    """Named User, July 2026: peak 5 users provisioned; quotas 1,000 tasks and 1,000 Studio
    engagements per seat; unbundled voice."""
    a = FLEX_NU
    p, d = "flex_user_provisioned", "flex_user_deprovisioned"
    events = [
        _user(p, "prov-alice", a, "2026-06-02T09:00:00Z", "alice"),
        _user(p, "prov-bob", a, "2026-06-02T09:01:00Z", "bob"),
        _user(p, "prov-carol", a, "2026-06-03T09:00:00Z", "carol", "supervisor"),
        _user(p, "prov-dave", a, "2026-07-10T09:00:00Z", "dave"),
        _user(d, "deprov-bob", a, "2026-07-12T17:00:00Z", "bob"),
        _user(p, "prov-erin", a, "2026-07-15T09:00:00Z", "erin"),
        _user(p, "prov-frank", a, "2026-07-20T09:00:00Z", "frank"),
        _user(d, "deprov-carol", a, "2026-07-25T17:00:00Z", "carol", "supervisor"),
        _u("tasks-1", a, "2026-07-05T23:59:00Z", "taskrouter-tasks", "3000"),
        _u("tasks-2", a, "2026-07-22T23:59:00Z", "taskrouter-tasks", "2500"),
        _u("studio-1", a, "2026-07-31T23:00:00Z", "studio-engagements", "1200"),
        _c("call-1", a, "2026-07-03T10:00:00Z", "inbound", 80),
        _c("call-2", a, "2026-07-03T11:00:00Z", "inbound", 600),
        _c("call-3", a, "2026-07-04T12:00:00Z", "inbound", 61),
        _c("call-4", a, "2026-07-04T13:00:00Z", "outbound", 125),
    ]
    # Logins and activity do not change a Named User bill; the plan advisor uses them to price
    # the same month under Active User Hours (100 h per user) and User + Usage (5 logins).
    for n, user in enumerate(["alice", "carol", "dave", "erin", "frank"]):
        day = 21 + n
        events.append(_user("flex_login", f"login-{user}", a, f"2026-07-{day}T08:00:00Z", user))
        start = datetime(2026, 7, day, 8, tzinfo=UTC)
        events.append(
            _activity(
                f"busy-{user}", a, user, "Available", _at(start), _at(start + timedelta(hours=100))
            )
        )
    _write(HERE / "flex-named-user" / "events.jsonl", events)


def flex_active_user_hours() -> None:
    """Active User Hours from June 2026: June uses 4,324 of the 5,000 free hours; July has
    703 hours (6 + 696 + 0.5, rounded up), 676 free, 27 billed."""
    a = FLEX_AUH
    events = [
        _activity(
            f"june-{n}", a, f"agent{n}", "Available", "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"
        )
        for n in range(5, 11)
    ]
    events += [
        _activity(
            "a1-available", a, "agent1", "Available", "2026-06-30T20:00:00Z", "2026-07-01T04:00:00Z"
        ),
        _activity("a1-busy", a, "agent1", "Busy", "2026-07-01T02:00:00Z", "2026-07-01T06:00:00Z"),
        _activity(
            "a2-available", a, "agent2", "Available", "2026-07-02T00:00:00Z", "2026-07-31T00:00:00Z"
        ),
        _activity(
            "a3-offline", a, "agent3", "Offline", "2026-07-01T00:00:00Z", "2026-07-31T00:00:00Z"
        ),
        _activity(
            "a4-available", a, "agent4", "Available", "2026-07-10T09:00:00Z", "2026-07-10T09:30:00Z"
        ),
        _u("tasks-july", a, "2026-07-31T23:00:00Z", "taskrouter-tasks", "7100"),
        _c("call-1", a, "2026-07-08T15:00:00Z", "outbound", 3600),
    ]
    _write(HERE / "flex-active-user-hours" / "events.jsonl", events)


def flex_user_usage() -> None:
    """User + Usage, July 2026: 4 users logged in on the parent, 2 on the subaccount; no quotas."""
    a, s = FLEX_UU, FLEX_UU_SUB
    events = [
        _user("flex_login", "login-erin-june", a, "2026-06-30T23:59:59Z", "erin"),
        _user("flex_login", "login-alice-1", a, "2026-07-01T08:00:00Z", "alice"),
        _user("flex_login", "login-alice-2", a, "2026-07-02T08:00:00Z", "alice"),
        _user("flex_login", "login-alice-3", a, "2026-07-03T08:00:00Z", "alice"),
        _user("flex_login", "login-bob", a, "2026-07-04T08:00:00Z", "bob", "supervisor"),
        _user("flex_login", "login-carol", a, "2026-07-05T08:00:00Z", "carol", "admin"),
        _user("flex_login", "login-dave", a, "2026-07-06T08:00:00Z", "dave", "developer"),
        _user("flex_login", "sub-login-gina", s, "2026-07-07T08:00:00Z", "gina"),
        _user("flex_login", "sub-login-hal", s, "2026-07-08T08:00:00Z", "hal"),
        _u("tasks-july", a, "2026-07-31T23:00:00Z", "taskrouter-tasks", "400"),
        _u("studio-july", a, "2026-07-31T23:00:00Z", "studio-engagements", "1500"),
        _c("call-1", a, "2026-07-09T10:00:00Z", "inbound", 600),
    ]
    _write(HERE / "flex-user-usage" / "events.jsonl", events)


def flex_deflexified() -> None:
    """Named User until a deflexification processed 2026-07-16T00:00Z, standard billing after."""
    a = FLEX_DEFLEX
    p = "flex_user_provisioned"
    events = [
        _user(p, "prov-1", a, "2026-06-01T09:00:00Z", "ann"),
        _user(p, "prov-2", a, "2026-06-01T09:00:00Z", "ben"),
        _user(p, "prov-3", a, "2026-07-02T09:00:00Z", "cat"),
        _user(p, "prov-4", a, "2026-07-20T09:00:00Z", "dan"),  # after removal: no seat
        _u("tasks-before", a, "2026-07-10T12:00:00Z", "taskrouter-tasks", "100"),
        _u("tasks-after", a, "2026-07-20T12:00:00Z", "taskrouter-tasks", "200"),
        _u("studio-after", a, "2026-07-21T12:00:00Z", "studio-engagements", "300"),
        _c("call-before", a, "2026-07-15T23:50:00Z", "inbound", 600),
        _c("call-after", a, "2026-07-16T00:00:00Z", "inbound", 600),
    ]
    _write(HERE / "flex-deflexified" / "events.jsonl", events)


if __name__ == "__main__":
    voice_volume()
    number_volume()
    acme()
    flex_named_user()
    flex_active_user_hours()
    flex_user_usage()
    flex_deflexified()
