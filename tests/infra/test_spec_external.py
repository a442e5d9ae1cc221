"""What the spec gained for import: explicit external targets (HTTPS outside local, never under
the app's base URL, never together with a flow) and credentials whose password is not managed
(adopted by username, never sent, never rotated)."""

from __future__ import annotations

from typing import Any

import pytest
from spec_samples import valid_spec

from infra.plan import plan
from infra.spec import SpecError, load_environment

STUDIO = "https://webhooks.twilio.com/v1/Accounts/AC0/Flows/FW1"


def issues(raw: dict[str, Any], stack: str = "dev") -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_environment(raw, stack, secrets_decrypted=True)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_a_number_on_an_external_url_plans_its_voice_url() -> None:
    raw = valid_spec()
    raw["numbers"][0] = {
        "e164": "+14155550100",
        "external_url": STUDIO,
        "status_callback_external_url": "https://hooks.example.com/status",
    }
    raw["applications"][0] = {"name": "main-app", "external_url": STUDIO, "external_method": "GET"}
    env = load_environment(raw, "dev", secrets_decrypted=True)
    nodes = {n.name: n for n in plan(env).nodes}
    number = nodes["+14155550100"].props
    assert number["voice_url"] == STUDIO
    assert number["voice_method"] == "POST"
    assert number["voice_fallback_url"] is None
    assert number["status_callback"] == "https://hooks.example.com/status"
    assert nodes["main-app"].props["voice_method"] == "GET"


@pytest.mark.parametrize(
    ("change", "stack", "expected"),
    [
        (
            {"external_url": "http://hooks.example.com/x"},
            "dev",
            "numbers[0].external_url: 'http://hooks.example.com/x' uses plain http",
        ),
        (
            {"external_url": "https://voice.example.com/voice/inbound"},
            "dev",
            "numbers[0].external_url: 'https://voice.example.com/voice/inbound' is under "
            "public_base_url: use flow: ivr_main instead",
        ),
        (
            {"external_url": "https://u:p@hooks.example.com/x"},
            "dev",
            "must not embed credentials",
        ),
        (
            {"external_url": STUDIO, "flow": "ivr_main"},
            "dev",
            "flow and external_url both set",
        ),
    ],
)
def test_external_url_rules(change: dict[str, Any], stack: str, expected: str) -> None:
    raw = valid_spec()
    number = {"e164": "+14155550100", **change}
    raw["numbers"][0] = number
    found = issues(raw, stack)
    assert any(expected in line for line in found), found


def test_plain_http_external_url_is_fine_on_local() -> None:
    raw = valid_spec()
    raw["public_base_url"] = "http://127.0.0.1:8080"
    for clist in raw["credential_lists"]:
        for cred in clist["credentials"]:
            cred["password"] = "Str0ngLocalPassw0rd"
    raw["numbers"][0] = {"e164": "+14155550100", "external_url": "http://127.0.0.1:9000/x"}
    load_environment(raw, "local", secrets_decrypted=False)


def test_sip_domain_and_application_need_a_voice_target() -> None:
    raw = valid_spec()
    del raw["applications"][0]["flow"]
    assert any(
        "applications[0]: needs a flow (one of the app's), a call_flow (one of "
        "call_flows.flows) or an external_url" in line
        for line in issues(raw)
    )


def test_credentials_without_password_plan_no_secret() -> None:
    raw = valid_spec()
    for clist in raw["credential_lists"]:
        for cred in clist["credentials"]:
            del cred["password"]
    env = load_environment(raw, "dev", secrets_decrypted=False)
    creds = [n for n in plan(env).nodes if n.kind == "Credential"]
    assert creds
    assert all(n.props["password"] is None and n.secret == () for n in creds)
