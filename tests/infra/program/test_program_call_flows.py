"""The stack's call flows in the program: one state-only `CallFlows` resource (when declared) and
the `call_flows_hash` output, which is what the app's /healthz reports for the stack's artifact."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import dill
import pytest
import yaml
from program_mocks import ROOT, engine_config, run_program

from infra.commands.app_config import artifact_text
from infra.resources.call_flows import TYPE, CallFlowsProvider
from infra.spec import load_environment
from webhook_app.callflow import artifact
from webhook_app.callflow.model import CallFlows

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

ProgramRun = Any  # conftest.ProgramRun


def spec_of(stack: str) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(doc["config"]["twilio-voice:environment"])


def served_hash(spec: dict[str, Any], stack: str) -> str:
    """The hash the app reports for what `twilio-voice app-config` writes for this spec."""
    env = load_environment(spec, stack, secrets_decrypted=True)
    return artifact.parse(artifact_text(env, stack), "flows.json").hash


def test_call_flows_are_one_state_resource_under_the_component(run: ProgramRun) -> None:
    spec = json.loads(run.config.values["twilio-voice:environment"])
    found = [r for r in run.records if r.typ == TYPE]
    if not spec.get("call_flows"):
        assert found == []
        return
    [flows] = found
    component = next(r for r in run.records if not r.custom)
    assert flows.name == "call-flows"
    assert flows.parent == component.urn
    assert flows.typ == "pulumi-python:dynamic/voice:CallFlows"
    inputs = {k: flows.plain(k) for k in ("hash", "call_flows", "dial_countries", "entries")}
    assert inputs["hash"] == run.outputs["call_flows_hash"]
    declared = CallFlows.model_validate(spec["call_flows"])
    assert CallFlows.model_validate(inputs["call_flows"]) == declared
    assert inputs["call_flows"] == declared.model_dump(mode="json", exclude_none=True)
    entries = {f"number {n['e164']}": n["call_flow"] for n in spec["numbers"] if "call_flow" in n}
    for key, label in (
        ("applications", "application"),
        ("sip_domains", "SIP domain"),
        ("byoc_trunks", "BYOC trunk"),
    ):
        entries |= {
            f"{label} {e['name']}": e["call_flow"] for e in spec.get(key) or [] if "call_flow" in e
        }
    assert inputs["entries"] == entries
    # pickled by reference: existing state names this class (tests/infra/golden SHIPPED)
    provider = dill.loads(base64.b64decode(flows.plain("__provider")))  # noqa: S301
    assert type(provider) is CallFlowsProvider
    assert len(base64.b64decode(flows.plain("__provider"))) < 400


def test_call_flows_hash_is_what_the_app_reports(run: ProgramRun) -> None:
    spec = json.loads(run.config.values["twilio-voice:environment"])
    assert run.outputs["call_flows_hash"] == served_hash(spec, run.stack)


def test_hash_without_call_flows_is_the_built_in_flow_with_the_stack_countries() -> None:
    spec = spec_of("dev")
    spec.pop("call_flows", None)
    for key in ("numbers", "applications", "sip_domains", "byoc_trunks"):
        for entry in spec.get(key) or []:
            if entry.pop("call_flow", None):
                entry["flow"] = "sip_inbound" if key == "sip_domains" else "ivr_main"
    spec.pop("dialing_permissions", None)
    run = run_program("dev", engine_config("dev", spec))
    assert not [r for r in run.records if r.typ == TYPE]
    assert run.outputs["call_flows_hash"] == artifact.built_in().hash
    spec["dialing_permissions"] = {"countries": [{"iso_code": "US"}, {"iso_code": "GB"}]}
    run = run_program("dev", engine_config("dev", spec))
    expected = artifact.content_hash(artifact.DEFAULT_CALL_FLOWS, ["GB", "US"])
    assert run.outputs["call_flows_hash"] == expected == served_hash(spec, "dev")
    assert expected != artifact.built_in().hash


def test_a_flow_change_changes_the_hash_and_the_resource() -> None:
    spec = spec_of("prod")
    assert spec.get("call_flows"), "prod declares call flows"
    before = run_program("prod", engine_config("prod", spec))
    first = next(iter(spec["call_flows"]["flows"].values()))
    first["voice"] = "Polly.Matthew"
    after = run_program("prod", engine_config("prod", spec))
    assert before.outputs["call_flows_hash"] != after.outputs["call_flows_hash"]
    [old] = [r for r in before.records if r.typ == TYPE]
    [new] = [r for r in after.records if r.typ == TYPE]
    assert old.plain("hash") != new.plain("hash")
    diff = CallFlowsProvider().diff("call-flows", dict(old.inputs), dict(new.inputs))
    assert diff.changes is True
    assert diff.replaces == []
