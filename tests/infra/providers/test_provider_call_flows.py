"""`CallFlows` inside Pulumi's real dynamic-provider host (gRPC): the blob resolves by import, no
credentials are configured (it calls no API), numbers come back as the host's floats and are
stored canonical, and a changed section is an update, never a replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.provider_host import DynamicHost, serialize_provider
from infra.resources.call_flows import STATE_ID, TYPE, CallFlowsProvider, call_flows_args
from infra.spec import load_environment

SPEC: dict[str, Any] = {
    "public_base_url": "https://voice.example.com",
    "credentials": {"account_sid": "AC" + "0" * 32},
    "numbers": [{"e164": "+14155550100", "call_flow": "main"}],
    "call_flows": {
        "dial_timeout": 25,
        "voicemail_boxes": {"general": {"max_seconds": 60}},
        "flows": {"main": {"start": {"voicemail": "general"}}},
    },
}


def props(spec: dict[str, Any], blob: str) -> dict[str, Any]:
    args = call_flows_args(load_environment(spec, "dev", secrets_decrypted=True))
    assert args is not None
    return {"__provider": blob, **args.model_dump(mode="json", exclude_none=True)}


def test_call_flows_lifecycle_through_the_host(tmp_path: Path) -> None:
    blob = serialize_provider(CallFlowsProvider())
    with DynamicHost(tmp_path, "twilio-voice", "test", env={}) as host:
        host.configure({})  # no credentials: the provider never calls Twilio
        urn = host.urn(TYPE, "call-flows")
        news = props(SPEC, blob)
        inputs, failures = host.check(urn, {}, news)
        assert failures == []
        id_, outs = host.create(urn, inputs)
        assert id_ == STATE_ID
        assert outs["hash"] == news["hash"]
        assert outs["entries"] == {"number +14155550100": "main"}
        assert outs["call_flows"]["dial_timeout"] == 25
        assert host.diff(urn, id_, outs, inputs, inputs).changes is False
        read = host.read(urn, id_, outs, inputs)
        assert (read.id, read.outputs) == (id_, outs)

        changed_spec = {**SPEC, "call_flows": {**SPEC["call_flows"], "dial_timeout": 30}}
        changed, failures = host.check(urn, inputs, props(changed_spec, blob))
        assert failures == []
        diff = host.diff(urn, id_, outs, changed, inputs)
        assert diff.changes is True
        assert diff.replaces == ()
        new_outs = host.update(urn, id_, outs, changed, inputs)
        assert new_outs["hash"] != outs["hash"]
        assert new_outs["call_flows"]["dial_timeout"] == 30

        _, failures = host.check(urn, inputs, {**changed, "hash": outs["hash"]})
        assert [name for name, _ in failures] == ["hash"]
        broken = {**changed["call_flows"], "dial_timeout": 1}
        _, failures = host.check(urn, inputs, {**changed, "call_flows": broken})
        assert [name for name, _ in failures] == ["call_flows.dial_timeout"]
        host.delete(urn, id_, new_outs, changed)
