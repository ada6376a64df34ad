"""An account's Flex-related resources, in the vendor's REST shapes (issue 5).

:func:`parse_resources` validates one account's export: a JSON object with the lists
``studio_flows``, ``taskrouter_workspaces``, ``twiml_apps``, ``workers`` and ``phone_numbers``.
Real exports carry many more vendor fields than ratecard reads (``date_created``, ``links``,
``url``, ...), so unknown fields are ignored; the fields ratecard relies on are required and
checked, and every problem is reported at once with its path (``studio_flows[2].definition``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from ratecard.accounts import ACCOUNT_SID
from ratecard.errors import Problem, ResourcesError

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

#: The list fields of an export, in the order findings and errors are reported.
RESOURCE_LISTS: tuple[str, ...] = (
    "studio_flows",
    "taskrouter_workspaces",
    "twiml_apps",
    "workers",
    "phone_numbers",
)


def _sid(prefix: str, what: str) -> Any:
    """A validator for a vendor sid: two-letter prefix + 32 lowercase hex digits."""
    pattern = re.compile(rf"^{prefix}[0-9a-f]{{32}}$")

    def check(value: object) -> object:
        if isinstance(value, str) and not pattern.match(value.strip()):
            raise ValueError(f"must be a {what} sid: {prefix} followed by 32 lowercase hex digits")
        return value

    return BeforeValidator(check)


def _blank_is_none(value: object) -> object:
    # The vendor returns "" (not null) for a handler that is not set.
    if isinstance(value, str) and not value.strip():
        return None
    return value


Name = Annotated[str, Field(min_length=1, max_length=256)]
Handler = Annotated[str | None, BeforeValidator(_blank_is_none)]


class _Vendor(BaseModel):
    # extra="ignore": vendor objects carry dozens of fields ratecard does not read.
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class StudioState(_Vendor):
    """One widget of a Studio flow definition (``states[]``)."""

    name: Name
    type: Name
    properties: dict[str, Any] = Field(default_factory=dict)


class FlowDefinition(_Vendor):
    """A Studio flow definition: its widgets (``states``) and where it starts."""

    states: list[StudioState]
    initial_state: str | None = None
    description: str | None = None


class StudioFlow(_Vendor):
    """A Studio flow (``FW...``) with its definition."""

    sid: Annotated[str, _sid("FW", "Studio flow")]
    friendly_name: Name
    definition: FlowDefinition

    @property
    def flex_states(self) -> tuple[str, ...]:
        """Names of the flow's ``send-to-flex`` widgets, in definition order."""
        return tuple(s.name for s in self.definition.states if s.type == "send-to-flex")

    @property
    def is_flex_integrated(self) -> bool:
        """True when the flow hands contacts to Flex (a ``send-to-flex`` widget)."""
        return bool(self.flex_states)


class TaskQueue(_Vendor):
    """A TaskRouter task queue (``WQ...``)."""

    sid: Annotated[str, _sid("WQ", "TaskRouter task queue")]
    friendly_name: Name


class Workflow(_Vendor):
    """A TaskRouter workflow (``WW...``)."""

    sid: Annotated[str, _sid("WW", "TaskRouter workflow")]
    friendly_name: Name


class TaskRouterWorkspace(_Vendor):
    """A TaskRouter workspace (``WS...``) with its task queues and workflows."""

    sid: Annotated[str, _sid("WS", "TaskRouter workspace")]
    friendly_name: Name
    task_queues: list[TaskQueue] = Field(default_factory=list)
    workflows: list[Workflow] = Field(default_factory=list)


class TwimlApp(_Vendor):
    """A TwiML application (``AP...``); ``flex`` marks the Flex instance's own apps."""

    sid: Annotated[str, _sid("AP", "TwiML app")]
    friendly_name: Name
    voice_url: Handler = None
    sms_url: Handler = None
    flex: StrictBool = False


class Worker(_Vendor):
    """A TaskRouter worker (``WK...``): under User + Usage, a seat while it exists."""

    sid: Annotated[str, _sid("WK", "TaskRouter worker")]
    friendly_name: Name


class PhoneNumber(_Vendor):
    """An incoming phone number (``PN...``) and where its voice and SMS handlers point."""

    sid: Annotated[str, _sid("PN", "phone number")]
    phone_number: str
    voice_url: Handler = None
    voice_application_sid: Handler = None
    sms_url: Handler = None
    sms_application_sid: Handler = None

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("must be an E.164 phone number, e.g. +14155550100")
        return value


class AccountResources(_Vendor):
    """Everything :mod:`ratecard.deflex` reads about one account's Flex footprint."""

    account: str
    studio_flows: list[StudioFlow] = Field(default_factory=list)
    taskrouter_workspaces: list[TaskRouterWorkspace] = Field(default_factory=list)
    twiml_apps: list[TwimlApp] = Field(default_factory=list)
    workers: list[Worker] = Field(default_factory=list)
    phone_numbers: list[PhoneNumber] = Field(default_factory=list)


def _path(location: tuple[int | str, ...]) -> str:
    """``('studio_flows', 2, 'definition')`` -> ``studio_flows[2].definition``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _problems(error: ValidationError, where: str) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            reason = "is required"
        elif item["type"] == "bool_type":
            reason = "must be true or false"
        problems.append(Problem(where, reason, _path(tuple(item["loc"])) or None))
    return problems


def _duplicates(resources: AccountResources, where: str) -> list[Problem]:
    # A sid repeated in one export is a broken export; findings would name it twice.
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    places: list[tuple[str, str]] = []
    for name in RESOURCE_LISTS:
        for i, item in enumerate(getattr(resources, name)):
            places.append((f"{name}[{i}].sid", item.sid))
    for w, workspace in enumerate(resources.taskrouter_workspaces):
        for kind in ("task_queues", "workflows"):
            for i, item in enumerate(getattr(workspace, kind)):
                places.append((f"taskrouter_workspaces[{w}].{kind}[{i}].sid", item.sid))
    for place, sid in places:
        if sid in seen:
            problems.append(Problem(where, f"sid {sid} was already given at {seen[sid]}", place))
        else:
            seen[sid] = place
    return problems


def _foreign(data: dict[str, Any], account_sid: str, where: str) -> list[Problem]:
    # Vendor objects carry their own account_sid: one from another account (a subaccount's
    # export imported for its parent, say) would make webhook URLs and findings wrong.
    problems = []
    for name in RESOURCE_LISTS:
        items = data.get(name)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("account_sid") not in (None, account_sid):
                problems.append(
                    Problem(
                        where,
                        f"belongs to account {item['account_sid']}, not {account_sid}",
                        f"{name}[{i}].account_sid",
                    )
                )
    return problems


def parse_resources(data: object, account_sid: str, where: str = "resources") -> AccountResources:
    """Validate one account's resource export; raise ResourcesError listing every problem.

    ``data`` is the decoded JSON object; missing lists mean "none of that kind". ``where``
    names the source in problems (a file name, say).
    """
    if not ACCOUNT_SID.match(account_sid):
        raise ResourcesError(
            [Problem(where, "must be AC followed by 32 lowercase hex digits", "account")]
        )
    if not isinstance(data, dict):
        raise ResourcesError([Problem(where, "resources must be a JSON object of lists")])
    problems = _foreign(data, account_sid, where)
    fields = {name: data[name] for name in RESOURCE_LISTS if name in data}
    try:
        resources = AccountResources.model_validate({"account": account_sid, **fields})
    except ValidationError as exc:
        raise ResourcesError(problems + _problems(exc, where)) from None
    problems += _duplicates(resources, where)
    if problems:
        raise ResourcesError(problems)
    return resources


def flex_workspace_sids(resources: AccountResources) -> tuple[str, ...]:
    """Sids a ``decommission`` removes: workspaces with their queues, workflows and workers,
    and the Flex instance's own TwiML apps. Studio flows and numbers are the customer's and
    stay (the checklist asks the customer to repoint or rework them)."""
    sids: list[str] = []
    for workspace in resources.taskrouter_workspaces:
        sids.append(workspace.sid)
        sids += [q.sid for q in workspace.task_queues] + [w.sid for w in workspace.workflows]
    sids += [w.sid for w in resources.workers]
    sids += [a.sid for a in resources.twiml_apps if a.flex]
    return tuple(sids)


def without_flex_workspace(resources: AccountResources) -> AccountResources:
    """The account's resources after a ``decommission`` (see :func:`flex_workspace_sids`)."""
    return resources.model_copy(
        update={
            "taskrouter_workspaces": [],
            "workers": [],
            "twiml_apps": [a for a in resources.twiml_apps if not a.flex],
        }
    )
