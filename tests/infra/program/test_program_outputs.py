"""The stack outputs operators read after `pulumi up`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webhook_app.routes import ROUTES_BY_FLOW

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

ProgramRun = Any  # conftest.ProgramRun


def declared(run: ProgramRun) -> dict[str, Any]:
    env: dict[str, Any] = json.loads(run.config.values["twilio-voice:environment"])
    return env


def test_uris_and_routing(run: ProgramRun) -> None:
    env = declared(run)
    out = run.outputs
    assert out["sip_domain_uris"] == {
        d["name"]: f"sip:{d['domain_name']}" for d in env.get("sip_domains") or []
    }
    assert out["trunk_termination_uris"] == {
        t["name"]: t["domain_name"] for t in env.get("trunks") or []
    }
    base = env["public_base_url"].rstrip("/")
    assert out["number_flow_urls"] == {
        n["e164"]: base + ROUTES_BY_FLOW[n["flow"]].path
        if n.get("flow")
        else f"{base}/voice/inbound?flow={n['call_flow']}"
        for n in env.get("numbers") or []
        if n.get("flow") or n.get("call_flow")
    }
    for number in env.get("numbers") or []:
        kind = next(
            k
            for k in ("call_flow", "flow", "application", "trunk", "external_url")
            if number.get(k)
        )
        name = "external" if kind == "external_url" else kind
        assert out["number_routing"][number["e164"]] == f"{name}:{number[kind]}"


def test_account_edge_region(run: ProgramRun) -> None:
    env = declared(run)
    out = run.outputs
    assert out["account_sid"] == (env.get("credentials") or {}).get("account_sid")
    assert out["edge"] == env.get("edge")
    assert out["region"] == env.get("region")


def test_sids_are_exported_by_spec_name(run: ProgramRun) -> None:
    env = declared(run)
    out = run.outputs
    # the mocks answer every SID as `mock-sid:<logical name>`
    assert out["byoc_trunk_sids"] == {
        b["name"]: f"mock-sid:{b['name']}" for b in env.get("byoc_trunks") or []
    }
    assert set(out["sip_domain_sids"]) == {d["name"] for d in env.get("sip_domains") or []}
    assert set(out["number_sids"]) == {n["e164"] for n in env.get("numbers") or []}
    assert set(out["trunk_sids"]) == {t["name"] for t in env.get("trunks") or []}


def test_outputs_hold_no_secrets(run: ProgramRun) -> None:
    text = json.dumps(run.outputs)
    for secret in run.config.secrets:
        assert secret not in text
