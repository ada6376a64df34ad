"""``ratecard triggers``: an import fires a trigger, ``deliver`` sends it signed, the log and
the signing key are printed (SQLite)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ratecard.catalog import load_catalog
from ratecard.cli.main import app
from ratecard.service.triggers import create_trigger
from ratecard.store.database import Database

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_import_fires_deliver_sends_signed_and_the_log_shows_it(
    tmp_path: Path, monkeypatch: Any, receiver: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RATECARD_DATABASE_URL", url)
    ok("db", "init")
    sid = json.loads(ok("accounts", "create", "--name", "Alert Co", "--format", "json"))["sid"]
    now = datetime.now(UTC).replace(microsecond=0)
    db = Database(url)
    trigger = create_trigger(
        db, load_catalog("us"), sid, now, callback_url=receiver.url, trigger_value="10",
        usage_category="sms-outbound", trigger_by="count", recurring="",
    )  # fmt: skip
    db.dispose()
    events = tmp_path / "sms.jsonl"
    moment = (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    lines = [
        {"type": "message", "id": f"m{i}", "account": sid, "time": moment, "direction": "outbound",
         "country": "US", "channel": "longcode", "segments": 1}
        for i in range(12)
    ]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ok("import", str(events))
    assert ok("triggers", "evaluate") == "triggers fired: 0\n"  # the import fired it already
    assert ok("triggers", "deliver") == "webhooks: delivered 1, to retry 0, failed 0\n"
    assert ok("triggers", "deliver") == "webhooks: delivered 0, to retry 0, failed 0\n"
    key = re.fullmatch(rf"{sid}: webhook signing key ([0-9a-f]{{32}})\n", ok("triggers",
                       "signing-key", sid))  # fmt: skip
    assert key is not None
    (request,) = receiver.requests
    assert receiver.valid(key.group(1), request)
    assert request["params"]["CurrentValue"] == "12"
    log = json.loads(ok("triggers", "deliveries", sid, trigger.sid, "--format", "json"))
    assert [d["status"] for d in log["deliveries"]] == ["delivered"]
    assert "delivered" in ok("triggers", "deliveries", sid, trigger.sid)
    rotated = ok("triggers", "signing-key", sid, "--rotate")
    assert key.group(1) not in rotated
