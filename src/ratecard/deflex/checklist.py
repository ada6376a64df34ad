"""The pre-removal checklist (SPEC section 5): what will break when Flex is removed.

:func:`checklist` reads an account's resources and returns one :class:`Finding` per resource
the customer must deal with before the request is submitted:

* Studio flows with a ``send-to-flex`` widget (they will break);
* TwiML apps of the Flex instance (``flex: true``) or whose handlers run such a flow;
* every TaskRouter workspace, task queue and workflow (they stop working under no Flex license);
* phone numbers whose voice or SMS handler points at such a flow (its webhook URL) or app (its
  application sid).

Findings come in a fixed order: by kind (:data:`KINDS`), then by sid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ratecard.deflex.resources import (
    AccountResources,
    PhoneNumber,
    StudioFlow,
    TaskQueue,
    TwimlApp,
    Workflow,
)

Kind = Literal[
    "studio_flow", "twiml_app", "taskrouter_workspace", "task_queue", "workflow", "phone_number"
]

#: Order of findings: the things that break first, then what routes traffic to them.
KINDS: tuple[Kind, ...] = (
    "studio_flow",
    "twiml_app",
    "taskrouter_workspace",
    "task_queue",
    "workflow",
    "phone_number",
)

WEBHOOK_HOST = "webhooks.twilio.com"
_FLOW_PATH = re.compile(r"^/v1/Accounts/(AC[0-9a-f]{32})/Flows/(FW[0-9a-f]{32})/?$")


@dataclass(frozen=True)
class Finding:
    """One resource to deal with before removal: what is wrong and what to do, in plain words."""

    kind: Kind
    sid: str
    name: str
    problem: str
    action: str


def flow_webhook_url(account_sid: str, flow_sid: str) -> str:
    """The URL a number or app uses to run a Studio flow."""
    return f"https://{WEBHOOK_HOST}/v1/Accounts/{account_sid}/Flows/{flow_sid}"


def flow_of_url(url: str | None, account_sid: str) -> str | None:
    """The flow sid ``url`` runs, when it is this account's flow webhook URL, else None.

    A trailing slash, a query string and a fragment are tolerated; scheme and host compare
    case-insensitively, the path exactly (the vendor's paths are case-sensitive).
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or parts.netloc.lower() != WEBHOOK_HOST:
        return None
    match = _FLOW_PATH.match(parts.path)
    if match is None or match.group(1) != account_sid:
        return None
    return match.group(2)


def _label(name: str, sid: str) -> str:
    return f"'{name}' ({sid})"


def _flow_finding(flow: StudioFlow) -> Finding:
    widgets = ", ".join(f"'{s}'" for s in flow.flex_states)
    return Finding(
        "studio_flow",
        flow.sid,
        flow.friendly_name,
        f"Studio flow {_label(flow.friendly_name, flow.sid)} uses the Send to Flex widget "
        f"({widgets}); the flow will break once Flex is removed.",
        "Replace the Send to Flex widget(s) with a widget that does not need Flex (for "
        "example Enqueue Call or Connect Call To), or stop using the flow, before the "
        "removal is processed.",
    )


def _app_finding(app: TwimlApp, flows: dict[str, StudioFlow], account_sid: str) -> Finding:
    label = _label(app.friendly_name, app.sid)
    if app.flex:
        problem = f"TwiML app {label} belongs to the Flex instance and stops working with it."
        action = "Move anything that uses this app to another app or flow before removal."
    else:
        runs = _app_flows(app, account_sid) & flows.keys()
        names = sorted(_label(flows[s].friendly_name, s) for s in runs)
        problem = (
            f"TwiML app {label} runs Studio flow {', '.join(names)}, which sends to Flex; "
            "the app will stop working once Flex is removed."
        )
        action = "Point the app's voice and messaging URLs at something that does not use Flex."
    return Finding("twiml_app", app.sid, app.friendly_name, problem, action)


def _app_flows(app: TwimlApp, account_sid: str) -> set[str]:
    urls = (app.voice_url, app.sms_url)
    return {flow for url in urls if (flow := flow_of_url(url, account_sid)) is not None}


def _number_finding(
    number: PhoneNumber,
    flows: dict[str, StudioFlow],
    apps: dict[str, TwimlApp],
    account_sid: str,
) -> Finding | None:
    handlers = []
    for channel, url, app_sid in (
        ("voice calls", number.voice_url, number.voice_application_sid),
        ("messages", number.sms_url, number.sms_application_sid),
    ):
        # The vendor runs the application when one is set, ignoring the URL: look at it first.
        if app_sid is not None:
            if app_sid in apps:
                app = apps[app_sid]
                handlers.append(f"{channel} go to TwiML app {_label(app.friendly_name, app.sid)}")
            continue
        flow_sid = flow_of_url(url, account_sid)
        if flow_sid in flows:
            flow = flows[flow_sid]
            handlers.append(f"{channel} go to Studio flow {_label(flow.friendly_name, flow.sid)}")
    if not handlers:
        return None
    return Finding(
        "phone_number",
        number.sid,
        number.phone_number,
        f"Phone number {number.phone_number} ({number.sid}): {'; '.join(handlers)}, which "
        "use(s) Flex; calls or messages to this number will fail once Flex is removed.",
        "Point the number's voice and messaging handlers at a flow or app that does not use "
        "Flex before the removal is processed.",
    )


def _taskrouter_findings(resources: AccountResources) -> list[Finding]:
    findings = []
    for ws in resources.taskrouter_workspaces:
        findings.append(
            Finding(
                "taskrouter_workspace",
                ws.sid,
                ws.friendly_name,
                f"TaskRouter workspace {_label(ws.friendly_name, ws.sid)} will no longer "
                "function under a Flex license.",
                "Plan routing without this workspace: move workers, queues and workflows you "
                "still need to a workspace outside Flex, or accept that routing stops.",
            )
        )
        parts: tuple[tuple[Kind, list[TaskQueue] | list[Workflow], str], ...] = (
            ("task_queue", ws.task_queues, "Task queue"),
            ("workflow", ws.workflows, "Workflow"),
        )
        for kind, items, noun in parts:
            for item in items:
                findings.append(
                    Finding(
                        kind,
                        item.sid,
                        item.friendly_name,
                        f"{noun} {_label(item.friendly_name, item.sid)} in workspace "
                        f"{_label(ws.friendly_name, ws.sid)} will no longer function under a "
                        "Flex license.",
                        f"Stop sending tasks to this {noun.lower()}, or recreate it outside "
                        "Flex if you still need it.",
                    )
                )
    return findings


def checklist(account_sid: str, resources: AccountResources) -> list[Finding]:
    """Every finding for ``account_sid``'s resources, ordered by kind then sid."""
    flows = {f.sid: f for f in resources.studio_flows if f.is_flex_integrated}
    flex_apps = {
        a.sid: a
        for a in resources.twiml_apps
        if a.flex or _app_flows(a, account_sid) & flows.keys()
    }
    findings = [_flow_finding(f) for f in flows.values()]
    findings += [_app_finding(a, flows, account_sid) for a in flex_apps.values()]
    findings += _taskrouter_findings(resources)
    for number in resources.phone_numbers:
        finding = _number_finding(number, flows, flex_apps, account_sid)
        if finding is not None:
            findings.append(finding)
    return sorted(findings, key=lambda f: (KINDS.index(f.kind), f.sid))
