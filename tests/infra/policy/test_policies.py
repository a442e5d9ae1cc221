"""Each voice policy passes on the example stacks and fails on a crafted violation, exercised
through the analyzer servicer with real protobuf requests (the engine's code path)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys

import grpc
import pulumi
import pytest
from google.protobuf import empty_pb2
from policy_support import (
    PACK_DIR,
    ROOT,
    analyze,
    example_run,
    find,
    good_prod_spec,
    policies_hit,
    run_program,
    stack_spec,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.policy import context
from infra.policy.policies import ALL, PACK_NAME

pytestmark = pytest.mark.xdist_group("pulumi-mocks")


@pytest.mark.parametrize("stack", ["local", "dev", "prod"])
def test_example_stacks_pass(stack: str) -> None:
    assert analyze(example_run(stack)) == []


def test_https_webhooks_outside_local() -> None:
    # The local stack's http:// webhook URLs, judged as if it were `dev`.
    diags = analyze(example_run("local"), {"voice-https-webhooks": {"environment": "dev"}})
    https = [d for d in diags if d[0] == "voice-https-webhooks"]
    assert https
    assert all(level == "mandatory" for _, level, _ in https)
    # the number enters a call flow: /voice/inbound?flow=<name>
    assert "voice_url is 'http://127.0.0.1:8080/voice/inbound" in " ".join(m for *_, m in https)


def test_sip_domain_without_call_auth() -> None:
    spec = stack_spec("dev")
    spec["sip_domains"][0]["auth"]["calls"] = {
        "credential_lists": [],
        "ip_access_control_lists": [],
    }
    diags = analyze(run_program("dev", spec))
    assert diags == [
        (
            "voice-sip-domain-call-auth",
            "mandatory",
            "SIP domain acme-dev.sip.twilio.com has no call authentication: map a credential "
            "list or IP ACL under sip_domains[].auth.calls",
        )
    ]


def test_prod_trunk_not_secure() -> None:
    records = run_program("prod", good_prod_spec())
    assert analyze(records) == []
    [trunk] = find(records, "Trunk", lambda r: r.name == "pbx-trunk")
    trunk.inputs.update({"secure": False})
    diags = analyze(records)
    assert policies_hit(diags) == {"voice-prod-trunks-secure"}
    assert diags[0][1] == "mandatory"
    # the same trunk outside production is fine
    records = example_run("dev")
    find(records, "Trunk")[0].inputs.update({"secure": False})
    assert analyze(records) == []


def test_recording_trunk_needs_notice_attestation() -> None:
    diags = analyze(run_program("prod", good_prod_spec()), config={})
    assert diags == [
        (
            "voice-recording-consent",
            "mandatory",
            "trunk acme-pbx.pstn.twilio.com records (record-from-answer-dual) but nothing "
            "attests a recording notice: calls on a trunk run no TwiML, so the PBX must announce "
            "it; once it does, add 'acme-pbx.pstn.twilio.com' to policy config noticeTrunks, or "
            "set recording.mode do-not-record",
        )
    ]


def test_number_straight_into_recording_flow() -> None:
    spec = stack_spec("dev")
    spec["numbers"][0]["flow"] = "conference_transfer"
    diags = analyze(run_program("dev", spec))
    assert policies_hit(diags) == {"voice-recording-consent"}
    assert "flow 'conference_transfer', which records without a notice" in diags[0][2]
    # voicemail announces itself (its prompt precedes the beep): allowed
    spec["numbers"][0]["flow"] = "voicemail"
    assert analyze(run_program("dev", spec)) == []


def test_unprotected_number() -> None:
    records = example_run("dev")
    number = find(records, "IncomingPhoneNumber")[0]
    number.protect = False
    diags = analyze(records)
    assert diags == [
        (
            "voice-numbers-protected",
            "mandatory",
            f"number {number.name} is not protected: pass ResourceOptions(protect=True) so "
            "removing it from the spec cannot release or reset it by accident",
        )
    ]


def test_mixed_edges_are_advisory() -> None:
    spec = stack_spec("dev")
    urls = spec["trunks"][0]["origination_urls"]
    urls.append(
        {
            **urls[0],
            "name": "dev-pbx-2",
            "sip_url": urls[0]["sip_url"].replace("edge=dublin", "edge=frankfurt"),
        }
    )
    diags = analyze(run_program("dev", spec))
    assert [(p, level) for p, level, _ in diags] == [("voice-one-edge", "advisory")]
    assert diags[0][2] == (
        "2 edges in one environment (dublin: dev-trunk/origination/dev-pbx; frankfurt: "
        "dev-trunk/origination/dev-pbx-2); pick one edge for the environment (spec `edge`) and "
        "use it in every SIP URI"
    )
    # with the environment's edge configured, the odd one out is named
    diags = analyze(run_program("dev", spec), {"voice-one-edge": {"edge": "dublin"}})
    assert [m for *_, m in diags] == [
        "edge=frankfurt on dev-trunk/origination/dev-pbx-2, but this environment's edge is "
        "dublin; use edge=dublin"
    ]


def test_origination_url_without_edge() -> None:
    spec = stack_spec("dev")
    url = spec["trunks"][0]["origination_urls"][0]
    url["sip_url"] = url["sip_url"].replace(";edge=dublin", "")
    diags = analyze(run_program("dev", spec))
    assert [(p, level) for p, level, _ in diags] == [("voice-origination-url-edge", "advisory")]
    # the spec rejects unknown edges; the policy still guards resources built some other way
    records = example_run("dev")
    [origination] = find(records, "OriginationUrl")
    origination.inputs.update({"sip_url": "sip:pbx.example.com;edge=mars"})
    diags = analyze(records)
    assert "names unknown edge 'mars'" in diags[0][2]


def test_credential_password_must_be_secret() -> None:
    records = example_run("dev")
    cred = find(records, "Credential")[0]
    cred.additional_secret_outputs = []
    diags = analyze(records)
    assert [(p, level) for p, level, _ in diags] == [
        ("voice-credential-password-secret", "mandatory")
    ]
    assert "password, password_hash not in additional_secret_outputs" in diags[0][2]


def test_prod_connection_policy_needs_two_enabled_targets() -> None:
    spec = good_prod_spec()
    spec["connection_policies"][0]["targets"][1]["enabled"] = False
    diags = analyze(run_program("prod", spec))
    assert diags == [
        (
            "voice-prod-connection-policy-redundancy",
            "mandatory",
            "connection policy Carrier A SBCs has 1 enabled target(s) in production; add "
            "targets up to 2 so one SBC outage does not stop inbound BYOC calls",
        )
    ]
    # dev may run on one SBC
    assert analyze(run_program("dev", stack_spec("dev"))) == []


def test_environment_detection() -> None:
    urn = "urn:pulumi:prod::twilio-voice::pulumi-python:dynamic/twilio:Trunk::t"
    assert context.stack_of(urn) == "prod"
    assert context.environment({}, urn) == "prod"
    assert context.environment({"environment": "staging"}, urn) == "staging"
    assert context.is_production({"productionEnvironments": ["live"]}, urn) is False
    assert context.flow_of("https://h/prefix/voice/voicemail") == "voicemail"
    assert context.sip_params("sip:a.example.com:5061;transport=tls;edge=tokyo") == {
        "transport": "tls",
        "edge": "tokyo",
    }


def test_policy_pack_serves_over_grpc() -> None:
    """Launch the pack as pulumi-analyzer-policy-python does and ask for its info."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        # The pack prints its port first; a pack that never starts fails here, not by hanging.
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else b""
        if not line.strip():
            proc.kill()
            pytest.fail(f"the policy pack printed no port: {proc.stderr.read().decode()[-2000:]}")
        port = int(line)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            request = analyzer_pb2.AnalyzeRequest(
                type="pulumi-python:dynamic/twilio:IncomingPhoneNumber",
                urn="urn:pulumi:prod::twilio-voice::pulumi-python:dynamic/twilio:IncomingPhoneNumber::n",
                name="n",
            )
            request.properties.update({"phone_number": "+14155550100", "voice_url": "http://x/y"})
            diags = stub.Analyze(request, timeout=30).diagnostics
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert info.name == PACK_NAME
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {
        p.name: (
            analyzer_pb2.MANDATORY
            if p.enforcement_level.value == "mandatory"
            else analyzer_pb2.ADVISORY
        )
        for p in ALL
    }
    assert {d.policyName for d in diags} == {"voice-https-webhooks", "voice-numbers-protected"}


def test_one_edge_uses_the_spec_edge_from_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the engine hands the analyzer the stack config, the spec's `edge` is the one."""
    records = example_run("dev")
    [origination] = find(records, "OriginationUrl")
    origination.inputs.update({"sip_url": "sip:pbx.example.com:5061;transport=tls;edge=tokyo"})
    spec = json.dumps({"edge": "dublin"})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"twilio-voice:environment": spec}))
    try:
        diags = analyze(records)
    finally:
        pulumi.runtime.set_all_config({}, [])  # the analyzer copied PULUMI_CONFIG into CONFIG
    assert diags == [
        (
            "voice-one-edge",
            "advisory",
            f"edge=tokyo on {origination.name}, but this environment's edge is dublin; "
            "use edge=dublin",
        )
    ]
