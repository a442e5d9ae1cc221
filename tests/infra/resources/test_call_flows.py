"""The state-only `CallFlows` provider: checks its inputs, echoes them, diffs by hash (update,
never replace), reads back what state has, deletes nothing; no Twilio call, no credentials."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from infra.resources.call_flows import (
    STATE_ID,
    CallFlowsArgs,
    CallFlowsProvider,
    call_flows_args,
    stack_entries,
    stack_hash,
)
from infra.spec import load_environment
from webhook_app.callflow import artifact

SPEC: dict[str, Any] = {
    "public_base_url": "https://voice.example.com",
    "credentials": {"account_sid": "AC" + "0" * 32},
    "numbers": [
        {"e164": "+14155550100", "call_flow": "main"},
        {"e164": "+14155550101", "call_flow": "main"},
    ],
    "sip_domains": [],
    "call_flows": {
        "voicemail_boxes": {"general": {}},
        "flows": {"main": {"start": {"voicemail": "general"}}},
    },
}


def env(**changes: Any) -> Any:
    return load_environment(SPEC | changes, "dev", secrets_decrypted=True)


def inputs(**changes: Any) -> dict[str, Any]:
    args = call_flows_args(env(**changes))
    assert args is not None
    return {"__provider": "blob", **args.model_dump(mode="json")}


def test_the_inputs_follow_the_stack() -> None:
    e = env()
    args = call_flows_args(e)
    assert args is not None
    assert args.hash == stack_hash(e) == artifact.content_hash(e.call_flows, None)
    assert args.entries == {"number +14155550100": "main", "number +14155550101": "main"}
    assert args.dial_countries is None
    with_countries = env(dialing_permissions={"countries": [{"iso_code": "US"}]})
    assert stack_hash(with_countries) == artifact.content_hash(e.call_flows, ["US"])
    assert stack_hash(with_countries) != args.hash
    # no section: no resource, and the hash is the built-in flow's
    plain = env(call_flows=None, numbers=[{"e164": "+14155550100", "flow": "ivr_main"}])
    assert call_flows_args(plain) is None
    assert stack_entries(plain) == {}
    assert stack_hash(plain) == artifact.built_in().hash


def test_check_canonicalises_and_refuses_what_the_program_would_not_send() -> None:
    provider = CallFlowsProvider()
    news = inputs()
    # the host hands numbers over as floats: the section is stored with ints again
    news["call_flows"]["dial_timeout"] = 20.0
    checked = provider.check({}, news)
    assert checked.failures == []
    assert checked.inputs["call_flows"]["dial_timeout"] == 20
    assert isinstance(checked.inputs["call_flows"]["dial_timeout"], int)
    assert checked.inputs["__provider"] == "blob"
    bad_hash = provider.check({}, {**news, "hash": "sha256:" + "0" * 64})
    assert [f.property for f in bad_hash.failures] == ["hash"]
    broken = {**news, "call_flows": {"flows": {}}}
    assert [f.property for f in provider.check({}, broken).failures] == ["call_flows.flows"]
    assert provider.check({}, {**news, "entries": Unknown()}).failures == []


def test_create_read_update_delete_echo_state() -> None:
    provider = CallFlowsProvider()
    checked = provider.check({}, inputs()).inputs
    created = provider.create(checked)
    assert created.id == STATE_ID
    assert "__provider" not in (created.outs or {})
    assert created.outs == {k: v for k, v in checked.items() if k != "__provider" and v is not None}
    read = provider.read(STATE_ID, {**(created.outs or {}), "__provider": "blob"})
    assert (read.id, read.outs) == (STATE_ID, created.outs)
    assert provider.diff(STATE_ID, created.outs or {}, checked).changes is False

    changed = provider.check(
        {}, inputs(call_flows={"flows": {"main": {"start": {"hangup": "Closed."}}}})
    ).inputs
    diff = provider.diff(STATE_ID, created.outs or {}, changed)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = provider.update(STATE_ID, created.outs or {}, changed)
    assert updated.outs is not None
    assert updated.outs["hash"] == changed["hash"]
    assert provider.delete(STATE_ID, updated.outs) is None


def test_a_new_entry_point_is_an_update_too() -> None:
    provider = CallFlowsProvider()
    old = provider.create(provider.check({}, inputs()).inputs).outs or {}
    more = inputs(numbers=[{"e164": "+14155550100", "call_flow": "main"}])
    diff = provider.diff(STATE_ID, old, provider.check({}, more).inputs)
    assert old["hash"] == more["hash"]
    assert (diff.changes, diff.replaces) == (True, [])


@pytest.mark.parametrize("missing", [None, {}])
def test_no_entries_in_state_compare_as_none(missing: Any) -> None:
    # the engine may drop an empty map from state: {} and a missing value are the same entries
    news = {k: v for k, v in inputs(numbers=[]).items() if k != "__provider"}
    args = CallFlowsArgs.model_validate(news)
    assert args.entries == {}
    old = {**news, "entries": missing}
    assert CallFlowsProvider().diff(STATE_ID, old, news).changes is False
