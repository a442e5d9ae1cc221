"""The declared diff table and check rules, table-driven over pure provider methods."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from infra.resources import KINDS, PROVIDERS
from infra.resources.fingerprint import fingerprint
from infra.resources.kind import PROVIDER_KEY, diff_props

TK = "TK" + "a" * 32
AP = "AP" + "a" * 32
SD_OLD = {
    "domain_name": "acme.sip.twilio.com",
    "friendly_name": "Acme",
    "voice_url": "https://a.example/v",
    "voice_method": "POST",
    "voice_fallback_url": None,
    "voice_fallback_method": "POST",
    "voice_status_callback_url": None,
    "voice_status_callback_method": "POST",
    "sip_registration": False,
    "emergency_calling_enabled": False,
    "secure": False,
    "byoc_trunk_sid": None,
    "emergency_caller_sid": None,
    "expected_account_sid": None,
    "sid": "SD" + "b" * 32,
    "account_sid": "AC" + "c" * 32,
}
SD_NEW = {"domain_name": "acme.sip.twilio.com", "voice_url": "https://a.example/v"}
OU_OLD = {
    "trunk_sid": TK,
    "friendly_name": "o",
    "sip_url": "sip:pbx.example.com",
    "priority": 10.0,  # numbers come back from the engine as floats
    "weight": 10.0,
    "enabled": True,
}
OU_NEW = {
    "trunk_sid": TK,
    "friendly_name": "o",
    "sip_url": "sip:pbx.example.com",
    "priority": 10,
    "weight": 10,
}
PW = "Str0ngPassw0rd!"
CR_OLD = {
    "credential_list_sid": "CL" + "a" * 32,
    "username": "alice",
    "password_hash": fingerprint(PW),
}
CR_NEW = {"credential_list_sid": "CL" + "a" * 32, "username": "alice", "password": PW}

DIFF_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], list[str], list[str]]] = [
    ("same inputs", "SipDomain", SD_OLD, SD_NEW, [], []),
    ("__provider is ignored", "SipDomain", SD_OLD, {**SD_NEW, PROVIDER_KEY: "new-blob"}, [], []),
    (
        "unknown value is a change",
        "SipDomain",
        SD_OLD,
        {**SD_NEW, "voice_url": Unknown()},
        ["voice_url"],
        [],
    ),
    (
        "unknown parent sid (parent updated in preview): update, not replace",
        "OriginationUrl",
        OU_OLD,
        {**OU_NEW, "trunk_sid": Unknown()},
        ["trunk_sid"],
        [],
    ),
    (
        "unset input compares as its default",
        "SipDomain",
        {**SD_OLD, "voice_method": "GET"},
        SD_NEW,
        ["voice_method"],
        [],
    ),
    (
        "removed clearable field is a change",
        "SipDomain",
        SD_OLD,
        {"domain_name": SD_NEW["domain_name"]},
        ["voice_url"],
        [],
    ),
    ("unset non-clearable field is not compared", "SipDomain", SD_OLD, SD_NEW, [], []),
    ("empty string equals null", "SipDomain", {**SD_OLD, "voice_fallback_url": ""}, SD_NEW, [], []),
    ("update-in-place field", "SipDomain", SD_OLD, {**SD_NEW, "secure": True}, ["secure"], []),
    (
        "domain name updates in place",
        "SipDomain",
        SD_OLD,
        {**SD_NEW, "domain_name": "b.sip.twilio.com"},
        ["domain_name"],
        [],
    ),
    ("floats from state equal ints", "OriginationUrl", OU_OLD, OU_NEW, [], []),
    ("float change", "OriginationUrl", OU_OLD, {**OU_NEW, "weight": 20.0}, ["weight"], []),
    (
        "parent change replaces",
        "OriginationUrl",
        OU_OLD,
        {**OU_NEW, "trunk_sid": "TK" + "b" * 32},
        ["trunk_sid"],
        ["trunk_sid"],
    ),
    ("same password: no diff", "Credential", CR_OLD, CR_NEW, [], []),
    (
        "rotated password: update",
        "Credential",
        CR_OLD,
        {**CR_NEW, "password": "0therPassw0rdX"},
        ["password"],
        [],
    ),
    (
        "unknown password: update",
        "Credential",
        CR_OLD,
        {**CR_NEW, "password": Unknown()},
        ["password"],
        [],
    ),
    (
        "username change replaces",
        "Credential",
        CR_OLD,
        {**CR_NEW, "username": "bob"},
        ["username"],
        ["username"],
    ),
    (
        "ip record address replaces",
        "IpRecord",
        {"ip_address": "198.51.100.1", "cidr_prefix_length": 32.0, "friendly_name": "a"},
        {"ip_address": "198.51.100.2", "friendly_name": "a"},
        ["ip_address"],
        ["ip_address"],
    ),
    (
        "local field is an update",
        "IncomingPhoneNumber",
        {
            "phone_number": "+14155550100",
            "release_on_destroy": False,
            "voice_method": "POST",
            "voice_fallback_method": "POST",
            "status_callback_method": "POST",
            "voice_caller_id_lookup": False,
            "voice_receive_mode": "voice",
        },
        {"phone_number": "+14155550100", "release_on_destroy": True},
        ["release_on_destroy"],
        [],
    ),
    (
        "app replaces trunk: both fields change, in place",
        "IncomingPhoneNumber",
        {
            "phone_number": "+14155550100",
            "trunk_sid": TK,
            "release_on_destroy": False,
            "voice_method": "POST",
            "voice_fallback_method": "POST",
            "status_callback_method": "POST",
            "voice_caller_id_lookup": False,
            "voice_receive_mode": "voice",
        },
        {"phone_number": "+14155550100", "voice_application_sid": AP},
        ["voice_application_sid", "trunk_sid"],
        [],
    ),
    (
        "expected account change is an update (re-checks the guard)",
        "ConnectionPolicy",
        {"friendly_name": "p", "expected_account_sid": None},
        {"friendly_name": "p", "expected_account_sid": "AC" + "d" * 32},
        ["expected_account_sid"],
        [],
    ),
    (
        "routes target change replaces",
        "InboundProcessingRegion",
        {"phone_number": "+14155550100", "voice_region": "ie1"},
        {"phone_number": "+14155550101", "voice_region": "ie1"},
        ["phone_number"],
        ["phone_number"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "olds", "news", "changed", "replaces"),
    [c[1:] for c in DIFF_CASES],
    ids=[c[0] for c in DIFF_CASES],
)
def test_diff_props(
    kind: str, olds: dict[str, Any], news: dict[str, Any], changed: list[str], replaces: list[str]
) -> None:
    assert diff_props(KINDS[kind], olds, news) == (changed, replaces)


def test_provider_diff_is_explicit() -> None:
    p = PROVIDERS["OriginationUrl"]()
    same = p.diff("OU1", OU_OLD, {**OU_NEW, PROVIDER_KEY: "x"})
    assert same.changes is False
    assert same.replaces == []
    assert same.delete_before_replace is None
    moved = p.diff("OU1", OU_OLD, {**OU_NEW, "trunk_sid": "TK" + "b" * 32})
    assert moved.changes is True
    assert moved.replaces == ["trunk_sid"]
    assert moved.delete_before_replace is True  # the unique key is looked up on create


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_declared_table_is_consistent(kind: str) -> None:
    spec = KINDS[kind]
    assert set(spec.input_names) == set(spec.args.model_fields)
    assert not (spec.replaces & spec.updates)
    assert spec.replaces | spec.updates | spec.local | spec.write_only == set(spec.input_names)
    for name in spec.write_only:
        assert name not in spec.output_names
        assert f"{name}_hash" in spec.output_names
    assert {"sid", "account_sid"} <= set(spec.output_names)


CHECK_CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("valid", "SipDomain", SD_NEW, []),
    ("bad domain suffix", "SipDomain", {"domain_name": "acme.example.com"}, ["domain_name"]),
    ("missing required", "SipDomain", {"voice_url": "https://a.example/v"}, ["domain_name"]),
    ("unknown input name", "SipDomain", {**SD_NEW, "voice_ulr": "x"}, ["voice_ulr"]),
    ("bad url", "Application", {"friendly_name": "a", "voice_url": "ftp://x"}, ["voice_url"]),
    ("bad E.164", "IncomingPhoneNumber", {"phone_number": "4155550100"}, ["phone_number"]),
    (
        "app and trunk together",
        "IncomingPhoneNumber",
        {"phone_number": "+14155550100", "trunk_sid": TK, "voice_application_sid": AP},
        ["IncomingPhoneNumber"],
    ),
    (
        "sips is not allowed",
        "ConnectionPolicyTarget",
        {"connection_policy_sid": "NY" + "a" * 32, "target": "sips:x"},
        ["target"],
    ),
    ("weight out of range", "OriginationUrl", {**OU_NEW, "weight": 70000}, ["weight"]),
    ("bad sid prefix", "OriginationUrl", {**OU_NEW, "trunk_sid": "XX" + "a" * 32}, ["trunk_sid"]),
    ("bad ip", "IpRecord", {"ip_address": "300.1.1.1"}, ["ip_address"]),
    (
        "two route targets",
        "InboundProcessingRegion",
        {"phone_number": "+14155550100", "sip_domain": "a.sip.twilio.com", "voice_region": "ie1"},
        ["InboundProcessingRegion"],
    ),
    ("trunk needs a key", "Trunk", {"secure": True}, ["Trunk"]),
    ("unknown tolerated for required field", "SipDomain", {"domain_name": Unknown()}, []),
    (
        "unknown tolerated, other field still checked",
        "SipDomain",
        {"domain_name": Unknown(), "voice_url": "nope"},
        ["voice_url"],
    ),
    ("unknown parent sid", "OriginationUrl", {**OU_NEW, "trunk_sid": Unknown()}, []),
]


@pytest.mark.parametrize(
    ("kind", "news", "paths"), [c[1:] for c in CHECK_CASES], ids=[c[0] for c in CHECK_CASES]
)
def test_check_failures(kind: str, news: dict[str, Any], paths: list[str]) -> None:
    result = PROVIDERS[kind]().check({}, {**news, PROVIDER_KEY: "blob"})
    assert [f.property for f in result.failures] == paths
    assert all(f.reason for f in result.failures)


def test_check_fills_defaults_casts_floats_and_keeps_provider() -> None:
    result = PROVIDERS["OriginationUrl"]().check(
        {}, {**OU_NEW, "weight": 20.0, PROVIDER_KEY: "blob"}
    )
    assert result.failures == []
    assert result.inputs["weight"] == 20
    assert isinstance(result.inputs["weight"], int)
    assert result.inputs["enabled"] is True
    assert result.inputs[PROVIDER_KEY] == "blob"


def test_check_with_unknowns_returns_news_untouched() -> None:
    news = {"domain_name": Unknown(), PROVIDER_KEY: "blob"}
    assert PROVIDERS["SipDomain"]().check({}, news).inputs is news


def test_check_never_echoes_a_password() -> None:
    weak = "weakpassword-no-digits"
    result = PROVIDERS["Credential"]().check(
        {}, {"credential_list_sid": "CL" + "a" * 32, "username": "u", "password": weak}
    )
    assert [f.property for f in result.failures] == ["password"]
    assert weak not in result.failures[0].reason


def test_create_with_invalid_inputs_never_echoes_a_password() -> None:
    from infra.errors import ProviderError

    weak = "weakpassword-no-digits"
    with pytest.raises(ProviderError) as info:
        PROVIDERS["Credential"]().create(
            {"credential_list_sid": "CL" + "a" * 32, "username": "u", "password": weak}
        )
    assert "password" in str(info.value)
    assert weak not in str(info.value)
