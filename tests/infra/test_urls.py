"""infra.urls: flow names become webhook URLs from the app's route table, never typed by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_samples import on_call_flows, valid_spec

from infra import spec
from infra.urls import (
    CALL_FLOW_ROUTES,
    UnknownFlowError,
    Webhook,
    call_flow_url,
    disaster_recovery_webhook,
    entry_webhooks,
    flow_url,
    join_url,
    route_for,
    voice_webhooks,
    webhook,
    webhook_url,
)
from webhook_app.rendering import route_urls
from webhook_app.routes import ROUTES, ROUTES_BY_FLOW, Route, url_for

BASE = "https://voice.example.com"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://voice.example.com", "https://voice.example.com/voice/inbound"),
        ("https://voice.example.com/", "https://voice.example.com/voice/inbound"),
        ("https://voice.example.com/twilio", "https://voice.example.com/twilio/voice/inbound"),
        ("https://voice.example.com/twilio//", "https://voice.example.com/twilio/voice/inbound"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/voice/inbound"),
    ],
)
def test_webhook_url_joins_without_double_slashes(base: str, expected: str) -> None:
    assert webhook_url(base, "ivr_main") == expected
    assert flow_url(base, "ivr_main") == expected


@given(
    prefix=st.lists(st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True), max_size=3),
    trailing=st.booleans(),
    route=st.sampled_from([r for r in ROUTES if r.twilio]),
)
def test_joined_path_is_prefix_plus_route(prefix: list[str], trailing: bool, route: Route) -> None:
    base = BASE + "".join("/" + p for p in prefix) + ("/" if trailing else "")
    url = webhook_url(base, route.flow)
    path = url.removeprefix(BASE)
    assert "//" not in path
    assert path == "".join("/" + p for p in prefix) + route.path


@pytest.mark.parametrize("flow", ["nope", "healthz", "metrics"])
def test_unknown_or_non_twilio_flow_raises_listing_valid_flows(flow: str) -> None:
    with pytest.raises(UnknownFlowError, match=r"use one of: byoc_inbound, call_status"):
        webhook_url(BASE, flow)


def test_every_twilio_route_resolves_with_its_method() -> None:
    for flow, route in ROUTES_BY_FLOW.items():
        if route.twilio:
            assert route_for(flow) is route
            assert webhook(BASE, flow) == Webhook(BASE + route.path, "POST")


def test_join_url_drops_query_and_keeps_port() -> None:
    assert join_url("https://h.example:8443/a/", "/b") == "https://h.example:8443/a/b"


def _env() -> spec.Environment:
    return spec.load_environment(valid_spec(), "prod", secrets_decrypted=False)


def test_number_routed_by_flow_gets_all_three_webhooks() -> None:
    hooks = voice_webhooks(BASE, _env().numbers[0])
    assert hooks.voice == Webhook(f"{BASE}/voice/inbound", "POST")
    assert hooks.fallback == Webhook(f"{BASE}/voice/fallback", "POST")
    assert hooks.status_callback == Webhook(f"{BASE}/voice/status", "POST")


def test_number_routed_by_application_has_no_voice_url() -> None:
    hooks = voice_webhooks(BASE, _env().numbers[1])
    assert (hooks.voice, hooks.fallback, hooks.status_callback) == (None, None, None)


def test_sip_domain_byoc_and_application_webhooks() -> None:
    env = _env()
    domain_hooks = voice_webhooks(env.public_base_url, env.sip_domains[0])
    assert domain_hooks.voice == Webhook(f"{BASE}/voice/sip/inbound", "POST")
    assert domain_hooks.fallback is None
    assert voice_webhooks(BASE, env.byoc_trunks[0]).voice == Webhook(
        f"{BASE}/voice/byoc/inbound", "POST"
    )
    assert voice_webhooks(BASE, env.applications[0]).fallback == Webhook(
        f"{BASE}/voice/fallback", "POST"
    )


def test_trunk_disaster_recovery_webhook() -> None:
    trunk = _env().trunks[0]
    assert disaster_recovery_webhook(BASE, trunk) == Webhook(
        f"{BASE}/voice/trunk/disaster-recovery", "POST"
    )
    bare = spec.Trunk.model_validate({"name": "t", "domain_name": "t.pstn.twilio.com"})
    assert disaster_recovery_webhook(BASE, bare) is None


def test_one_join_of_flow_and_base_for_infra_and_the_app() -> None:
    for base in ("https://voice.example.com", "https://h.example/app/", "http://127.0.0.1:8080"):
        rendered = route_urls(base)
        for route in ROUTES:
            url = url_for(route.flow, base)
            assert url.endswith(rendered[route.flow])
            if route.twilio:
                assert webhook_url(base, route.flow) == url


def test_a_call_flow_adds_the_flow_to_the_voice_and_fallback_urls() -> None:
    raw = valid_spec()
    on_call_flows(raw, {"flows": {"main": {"start": {"hangup": "Bye."}}}})
    raw["numbers"][0]["status_callback_flow"] = "call_status"
    env = spec.load_environment(raw, "dev", secrets_decrypted=True)
    base = env.public_base_url
    hooks = voice_webhooks(base, env.numbers[0])
    assert hooks.voice == Webhook(f"{base}/voice/inbound?flow=main", "POST")
    assert hooks.fallback == Webhook(f"{base}/voice/fallback?flow=main", "POST")
    assert hooks.status_callback == Webhook(f"{base}/voice/status", "POST")  # no ?flow=
    assert entry_webhooks(base, "numbers", env.numbers[0]) == hooks
    assert entry_webhooks(base, "sip_domains", env.sip_domains[0]).voice == Webhook(
        f"{base}/voice/sip/inbound?flow=main", "POST"
    )
    assert entry_webhooks(base, "byoc_trunks", env.byoc_trunks[0]).voice == Webhook(
        f"{base}/voice/byoc/inbound?flow=main", "POST"
    )
    assert call_flow_url(base, CALL_FLOW_ROUTES["applications"], "a.b-c") == (
        f"{base}/voice/inbound?flow=a.b-c"
    )


def test_an_app_url_typed_with_a_flow_becomes_a_call_flow() -> None:
    raw = valid_spec()
    on_call_flows(raw, {"flows": {"main": {"start": {"hangup": "Bye."}}}})
    raw["numbers"][0] = {
        "e164": "+14155550100",
        "external_url": "https://voice.example.com/voice/inbound?flow=main",
    }
    with pytest.raises(spec.SpecError) as caught:
        spec.load_environment(raw, "dev", secrets_decrypted=True)
    assert any(
        i.path == "numbers[0].external_url" and i.message.endswith("use call_flow: main instead")
        for i in caught.value.issues
    )
