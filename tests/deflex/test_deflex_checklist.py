"""The pre-removal checklist: one finding per resource that Flex removal would break."""

from __future__ import annotations

from typing import Any

import pytest

from ratecard.deflex.checklist import Finding, checklist, flow_of_url, flow_webhook_url
from ratecard.deflex.resources import AccountResources, parse_resources
from ratecard.deflex.serialize import checklist_json

from .conftest import ACCOUNT, sid

VOICE_IVR = sid("FW", 0xA1)
MESSAGING = sid("FW", 0xA2)
AFTER_HOURS = sid("FW", 0xA3)


@pytest.fixture
def findings(resources: AccountResources) -> dict[str, Finding]:
    return {f.sid: f for f in checklist(ACCOUNT, resources)}


def test_findings_cover_each_kind_in_a_fixed_order(resources: AccountResources) -> None:
    assert [(f.kind, f.sid) for f in checklist(ACCOUNT, resources)] == [
        ("studio_flow", VOICE_IVR),
        ("studio_flow", MESSAGING),
        ("twiml_app", sid("AP", 0xC1)),
        ("twiml_app", sid("AP", 0xC2)),
        ("taskrouter_workspace", sid("WS", 0xB1)),
        ("task_queue", sid("WQ", 0xB2)),
        ("task_queue", sid("WQ", 0xB3)),
        ("workflow", sid("WW", 0xB4)),
        ("phone_number", sid("PN", 0x11)),
        ("phone_number", sid("PN", 0x12)),
    ]


def test_flow_with_send_to_flex_names_the_widget(findings: dict[str, Finding]) -> None:
    finding = findings[VOICE_IVR]
    assert finding.name == "Voice IVR"
    assert finding.problem == (
        f"Studio flow 'Voice IVR' ({VOICE_IVR}) uses the Send to Flex widget "
        "('SendCallToAgent'); the flow will break once Flex is removed."
    )
    assert finding.action.startswith("Replace the Send to Flex widget(s)")


def test_flow_without_flex_widgets_is_not_a_finding(findings: dict[str, Finding]) -> None:
    assert AFTER_HOURS not in findings


def test_flex_instance_app_is_a_finding(findings: dict[str, Finding]) -> None:
    finding = findings[sid("AP", 0xC1)]
    assert finding.kind == "twiml_app"
    assert "'Autocreated Flex Voice App'" in finding.problem
    assert "belongs to the Flex instance" in finding.problem


def test_app_that_runs_a_flex_flow_is_a_finding(findings: dict[str, Finding]) -> None:
    finding = findings[sid("AP", 0xC2)]
    assert finding.problem == (
        f"TwiML app 'Sales Line Router' ({sid('AP', 0xC2)}) runs Studio flow 'Voice IVR' "
        f"({VOICE_IVR}), which sends to Flex; the app will stop working once Flex is removed."
    )


def test_app_without_flex_is_not_a_finding(findings: dict[str, Finding]) -> None:
    assert sid("AP", 0xC3) not in findings


def test_workspace_queues_and_workflows_are_findings(findings: dict[str, Finding]) -> None:
    workspace = findings[sid("WS", 0xB1)]
    assert workspace.kind == "taskrouter_workspace"
    assert workspace.problem == (
        f"TaskRouter workspace 'Flex Task Assignment' ({sid('WS', 0xB1)}) will no longer "
        "function under a Flex license."
    )
    queue = findings[sid("WQ", 0xB3)]
    assert queue.kind == "task_queue"
    assert queue.name == "Spanish Support"
    assert f"in workspace 'Flex Task Assignment' ({sid('WS', 0xB1)})" in queue.problem
    assert queue.action.startswith("Stop sending tasks to this task queue")
    workflow = findings[sid("WW", 0xB4)]
    assert workflow.kind == "workflow"
    assert workflow.problem.startswith(f"Workflow 'Assign to Anyone' ({sid('WW', 0xB4)})")


def test_number_pointing_at_a_flex_flow_url_with_trailing_slash(
    findings: dict[str, Finding],
) -> None:
    finding = findings[sid("PN", 0x11)]
    assert finding.kind == "phone_number"
    assert finding.name == "+14155550100"
    assert finding.problem == (
        f"Phone number +14155550100 ({sid('PN', 0x11)}): voice calls go to Studio flow "
        f"'Voice IVR' ({VOICE_IVR}), which use(s) Flex; calls or messages to this number "
        "will fail once Flex is removed."
    )
    assert finding.action.startswith("Point the number's voice and messaging handlers")


def test_number_pointing_at_a_flex_app_and_a_flow_url_with_query(
    findings: dict[str, Finding],
) -> None:
    problem = findings[sid("PN", 0x12)].problem
    assert f"voice calls go to TwiML app 'Autocreated Flex Voice App' ({sid('AP', 0xC1)})" in (
        problem
    )
    assert f"messages go to Studio flow 'Messaging Flow' ({MESSAGING})" in problem


def test_number_on_a_flow_without_flex_is_not_a_finding(findings: dict[str, Finding]) -> None:
    assert sid("PN", 0x13) not in findings


def test_number_application_wins_over_its_url(findings: dict[str, Finding]) -> None:
    # PN14's voice_url is the Flex flow's webhook, but a voice application is set: the vendor
    # runs the application and ignores the URL, and that application does not use Flex.
    assert sid("PN", 0x14) not in findings


@pytest.mark.parametrize(
    ("url", "flow"),
    [
        (flow_webhook_url(ACCOUNT, VOICE_IVR), VOICE_IVR),
        (flow_webhook_url(ACCOUNT, VOICE_IVR) + "/", VOICE_IVR),
        (flow_webhook_url(ACCOUNT, VOICE_IVR) + "?a=1#x", VOICE_IVR),
        (f"HTTPS://Webhooks.Twilio.com/v1/Accounts/{ACCOUNT}/Flows/{VOICE_IVR}", VOICE_IVR),
        (f"http://webhooks.twilio.com/v1/Accounts/{ACCOUNT}/Flows/{VOICE_IVR}", None),
        (f"https://webhooks.twilio.com/v1/Accounts/{'AC' + '0' * 32}/Flows/{VOICE_IVR}", None),
        (f"https://webhooks.twilio.com/v1/Accounts/{ACCOUNT}/Flows/{VOICE_IVR}/Executions", None),
        ("https://example.com/voice", None),
        (None, None),
    ],
)
def test_flow_of_url(url: str | None, flow: str | None) -> None:
    assert flow_of_url(url, ACCOUNT) == flow


def test_account_without_flex_resources_has_an_empty_checklist() -> None:
    assert checklist(ACCOUNT, parse_resources({}, ACCOUNT)) == []


def test_checklist_is_deterministic_whatever_the_export_order(export: dict[str, Any]) -> None:
    first = checklist(ACCOUNT, parse_resources(export, ACCOUNT))
    for name in ("studio_flows", "twiml_apps", "phone_numbers"):
        export[name].reverse()
    assert checklist(ACCOUNT, parse_resources(export, ACCOUNT)) == first


def test_checklist_json_shape(resources: AccountResources) -> None:
    data = checklist_json(checklist(ACCOUNT, resources))
    first = data["findings"][0]
    assert set(first) == {"kind", "sid", "name", "problem", "action"}
    assert first["kind"] == "studio_flow"
