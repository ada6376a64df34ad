"""Importing an account's resources from the vendor's REST shapes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ratecard.deflex.resources import (
    AccountResources,
    flex_workspace_sids,
    parse_resources,
    without_flex_workspace,
)
from ratecard.errors import ResourcesError

from .conftest import ACCOUNT, sid


def _fields(error: ResourcesError) -> dict[str | None, str]:
    return {p.field: p.reason for p in error.problems}


def test_realistic_export_loads_every_list_and_ignores_vendor_fields(
    resources: AccountResources,
) -> None:
    assert resources.account == ACCOUNT
    assert [f.friendly_name for f in resources.studio_flows] == [
        "Voice IVR",
        "Messaging Flow",
        "After Hours",
    ]
    (workspace,) = resources.taskrouter_workspaces
    assert [q.sid for q in workspace.task_queues] == [sid("WQ", 0xB2), sid("WQ", 0xB3)]
    assert [w.sid for w in workspace.workflows] == [sid("WW", 0xB4)]
    assert len(resources.workers) == 3
    assert [a.flex for a in resources.twiml_apps] == [True, False, False]
    assert len(resources.phone_numbers) == 4


def test_flow_is_flex_integrated_by_its_send_to_flex_states(resources: AccountResources) -> None:
    flows = {f.friendly_name: f for f in resources.studio_flows}
    assert flows["Voice IVR"].flex_states == ("SendCallToAgent",)
    assert flows["Messaging Flow"].is_flex_integrated
    assert not flows["After Hours"].is_flex_integrated


def test_blank_vendor_handlers_read_as_not_set(resources: AccountResources) -> None:
    number = resources.phone_numbers[0]
    assert number.voice_application_sid is None
    assert number.sms_application_sid is None


def test_missing_lists_mean_none_of_that_kind() -> None:
    resources = parse_resources({"workers": []}, ACCOUNT)
    assert resources.studio_flows == []
    assert resources.phone_numbers == []


def test_problems_name_the_field_path(export: dict[str, Any]) -> None:
    del export["studio_flows"][2]["definition"]["states"]
    export["phone_numbers"][1]["phone_number"] = "415-555-0101"
    export["taskrouter_workspaces"][0]["task_queues"][1]["sid"] = "WQ123"
    with pytest.raises(ResourcesError) as caught:
        parse_resources(export, ACCOUNT, "export.json")
    assert _fields(caught.value) == {
        "studio_flows[2].definition.states": "is required",
        "phone_numbers[1].phone_number": "must be an E.164 phone number, e.g. +14155550100",
        "taskrouter_workspaces[0].task_queues[1].sid": (
            "must be a TaskRouter task queue sid: WQ followed by 32 lowercase hex digits"
        ),
    }
    assert all(p.where == "export.json" for p in caught.value.problems)


def test_a_string_is_not_the_flex_flag(export: dict[str, Any]) -> None:
    export["twiml_apps"][1]["flex"] = "yes"
    with pytest.raises(ResourcesError) as caught:
        parse_resources(export, ACCOUNT)
    assert _fields(caught.value) == {"twiml_apps[1].flex": "must be true or false"}


def test_a_resource_of_another_account_is_refused(export: dict[str, Any]) -> None:
    other = "AC" + "0" * 32
    export["workers"][0]["account_sid"] = other
    with pytest.raises(ResourcesError) as caught:
        parse_resources(export, ACCOUNT)
    assert _fields(caught.value) == {
        "workers[0].account_sid": f"belongs to account {other}, not {ACCOUNT}"
    }


def test_a_sid_given_twice_is_refused(export: dict[str, Any]) -> None:
    export["workers"].append(copy.deepcopy(export["workers"][0]))
    with pytest.raises(ResourcesError) as caught:
        parse_resources(export, ACCOUNT)
    assert _fields(caught.value) == {
        "workers[3].sid": f"sid {sid('WK', 0xF3)} was already given at workers[0].sid"
    }


def test_not_an_object_is_refused() -> None:
    with pytest.raises(ResourcesError, match="must be a JSON object"):
        parse_resources([], ACCOUNT)


def test_a_bad_account_sid_is_refused() -> None:
    with pytest.raises(ResourcesError, match="32 lowercase hex"):
        parse_resources({}, "AC123")


def test_decommission_removes_the_flex_workspace_and_keeps_flows_and_numbers(
    resources: AccountResources,
) -> None:
    removed = flex_workspace_sids(resources)
    assert sid("WS", 0xB1) in removed
    assert sid("WQ", 0xB3) in removed
    assert sid("WW", 0xB4) in removed
    assert sid("WK", 0xF1) in removed
    assert sid("AP", 0xC1) in removed
    assert sid("AP", 0xC2) not in removed  # the customer's own app
    after = without_flex_workspace(resources)
    assert after.taskrouter_workspaces == []
    assert after.workers == []
    assert [a.sid for a in after.twiml_apps] == [sid("AP", 0xC2), sid("AP", 0xC3)]
    assert after.studio_flows == resources.studio_flows
    assert after.phone_numbers == resources.phone_numbers
