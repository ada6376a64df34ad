"""Deflexification values as JSON-ready plain data (times ISO 8601 in UTC, money as strings).

Adapters (``ratecard deflex show/checklist --format json``, the API) print these; the core
never writes output itself.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from ratecard.deflex.checklist import Finding
from ratecard.deflex.workflow import (
    BILLING_CHANGE_ROWS,
    Acknowledgment,
    AuditEntry,
    DeflexRequest,
)
from ratecard.errors import DeflexRefused


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def finding_json(finding: Finding) -> dict[str, str]:
    """``{"kind", "sid", "name", "problem", "action"}``."""
    return asdict(finding)


def checklist_json(findings: list[Finding]) -> dict[str, Any]:
    """``{"findings": [...]}`` as ``ratecard deflex checklist --format json`` prints it."""
    return {"findings": [finding_json(f) for f in findings]}


def request_json(request: DeflexRequest) -> dict[str, Any]:
    """A request with its acknowledgment, effective time, checklist and audit trail."""
    ack = request.acknowledgment
    return {
        "account": request.account,
        "plan": request.plan,
        "intent": request.intent,
        "status": request.status,
        "allowed_actions": list(request.allowed_actions),
        "effective": _time(request.effective),
        "acknowledgment": None
        if ack is None
        else {"text": ack.text, "accepted_by": ack.accepted_by, "at": _time(ack.at)},
        "billing_change": [row._asdict() for row in BILLING_CHANGE_ROWS],
        "checklist": [finding_json(f) for f in request.checklist],
        "audit": [
            {
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": e.actor,
                "role": e.role,
                "at": _time(e.at),
                "note": e.note,
            }
            for e in request.audit
        ],
    }


def refusal_json(error: DeflexRefused) -> dict[str, Any]:
    """A refusal with its remedy (User + Usage: the seats projected by the catalog's seat
    basis, workers or users, the projected charge, what stops it, and the command)."""
    return {
        "reason": error.reason,
        "workers": [{"sid": w.sid, "friendly_name": w.friendly_name} for w in error.workers],
        "seat_price": None if error.seat_price is None else str(error.seat_price),
        "projected_charge": None if error.projected_charge is None else str(error.projected_charge),
        "currency": error.currency,
        "command": error.command,
        "seat_basis": error.seat_basis,
        "users": list(error.users),
        "stops_charge": error.stops_charge,
    }


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def request_from_json(data: dict[str, Any]) -> DeflexRequest:
    """The request :func:`request_json` wrote (the store keeps requests as this JSON)."""
    ack = data["acknowledgment"]
    return DeflexRequest(
        account=data["account"],
        plan=data["plan"],
        intent=data["intent"],
        status=data["status"],
        audit=tuple(
            AuditEntry(
                action=e["action"],
                from_state=e["from_state"],
                to_state=e["to_state"],
                actor=e["actor"],
                role=e["role"],
                at=_required(e["at"]),
                note=e["note"],
            )
            for e in data["audit"]
        ),
        checklist=tuple(Finding(**f) for f in data["checklist"]),
        acknowledgment=None
        if ack is None
        else Acknowledgment(ack["text"], ack["accepted_by"], _required(ack["at"])),
        effective=_moment(data["effective"]),
    )


def _required(text: str) -> datetime:
    moment = _moment(text)
    assert moment is not None
    return moment
