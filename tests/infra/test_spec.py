"""The environment spec models and loader: secrets, the strict default, the example stacks."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import pytest
from pydantic import ValidationError
from spec_samples import valid_spec

from infra import spec
from infra.spec.load import allowed_keys, format_path
from webhook_app.routes import ROUTES_BY_FLOW

REPO = Path(__file__).resolve().parents[2]
STRONG = "Str0ngEnoughPass"


def _with_password(password: object) -> dict[str, object]:
    raw = valid_spec()
    raw["credential_lists"][0]["credentials"][0]["password"] = password
    return raw


# --- secrets ---------------------------------------------------------------------------------


def test_secure_values_load_without_decrypting() -> None:
    env = spec.load_environment(valid_spec(), "prod", secrets_decrypted=False)
    password = env.credential_lists[0].credentials[0].password
    assert password.is_secure
    assert not password.has_plaintext
    assert password.ciphertext == "v1:bm9uY2Ux:Y2lwaGVydGV4dDE="
    with pytest.raises(ValueError, match="still encrypted"):
        password.reveal()


def test_decrypted_plaintext_from_a_secret_key_counts_as_secure_on_prod() -> None:
    env = spec.load_environment(_with_password(STRONG), "prod", secrets_decrypted=True)
    password = env.credential_lists[0].credentials[0].password
    assert password.is_secure
    assert password.reveal() == STRONG


def test_plaintext_is_rejected_on_prod_when_not_decrypted_from_a_secret() -> None:
    with pytest.raises(spec.SpecError) as info:
        spec.load_environment(_with_password(STRONG), "prod", secrets_decrypted=False)
    assert [i.path for i in info.value.issues] == ["credential_lists[0].credentials[0].password"]
    assert STRONG not in str(info.value)


def test_decrypted_weak_password_is_rejected_without_echoing_it() -> None:
    with pytest.raises(spec.SpecError) as info:
        spec.load_environment(_with_password("weakpassword"), "prod", secrets_decrypted=True)
    message = str(info.value)
    assert "prod: credential_lists[0].credentials[0].password: password is too weak" in message
    assert "a digit, upper and lower case letters" in message
    assert "weakpassword" not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_secret_never_shows_plaintext() -> None:
    env = spec.load_environment(_with_password(STRONG), "local", secrets_decrypted=False)
    password = env.credential_lists[0].credentials[0].password
    assert not password.is_secure
    for text in (
        repr(password),
        str(password),
        repr(env),
        str(env.model_dump()),
        env.model_dump_json(),
    ):
        assert STRONG not in text
    assert env.model_dump()["credential_lists"][1]["credentials"][0]["password"] == {
        "secure": "v1:bm9uY2Uz:Y2lwaGVydGV4dDM="
    }


def test_secret_fingerprint_detects_rotation_without_holding_the_value() -> None:
    a = spec.Secret(plaintext=STRONG)
    assert a.fingerprint() == spec.Secret(plaintext=STRONG, secure=True).fingerprint()
    assert a.fingerprint() != spec.Secret(plaintext=STRONG + "2").fingerprint()
    assert STRONG not in a.fingerprint()


def test_secret_needs_exactly_one_value() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        spec.Secret()
    with pytest.raises(ValueError, match="exactly one"):
        spec.Secret(plaintext="a", ciphertext="b")


def test_secret_rejects_non_strings() -> None:
    with pytest.raises(spec.SpecError, match="expected a string or"):
        spec.load_environment(_with_password(123456789012), "local", secrets_decrypted=False)


# --- models and loader -----------------------------------------------------------------------


def test_models_are_frozen() -> None:
    env = spec.load_environment(valid_spec(), "prod", secrets_decrypted=False)
    with pytest.raises(ValidationError):
        env.numbers[0].flow = "voicemail"  # type: ignore[misc]


def test_bare_model_validate_applies_the_strict_rules() -> None:
    raw = valid_spec()
    raw["public_base_url"] = "http://127.0.0.1:8080"
    with pytest.raises(ValidationError, match="plain http"):
        spec.Environment.model_validate(raw)
    env = spec.load_environment(raw, "local", secrets_decrypted=False)
    assert env.public_base_url == "http://127.0.0.1:8080"


def test_defaults_are_explicit() -> None:
    trunk = spec.Trunk.model_validate({"name": "t", "domain_name": "t.pstn.twilio.com"})
    assert (trunk.recording.mode, trunk.recording.trim) == ("do-not-record", "do-not-trim")
    assert (trunk.transfer_mode, trunk.transfer_caller_id) == ("disable-all", "from-transferee")
    number = spec.PhoneNumber.model_validate({"e164": "+14155550100", "flow": "ivr_main"})
    assert number.release_on_destroy is False
    ip = spec.IpAddress.model_validate({"name": "a", "ip_address": "192.0.2.1"})
    assert ip.cidr_prefix_length == 32


def test_non_mapping_input_is_a_spec_error_at_the_root() -> None:
    with pytest.raises(spec.SpecError) as info:
        spec.load_environment(["nope"], "prod", secrets_decrypted=False)  # type: ignore[arg-type]
    assert str(info.value).endswith("prod: environment: expected a mapping of spec keys, got list")


def test_spec_error_lists_every_issue_with_stack_and_path() -> None:
    raw = valid_spec()
    raw["sip_domains"][1]["auth"]["calls"]["credential_lists"] = ["pbx-users", "gone"]
    raw["byoc_trunks"][0]["from_domain"] = "nowhere"
    with pytest.raises(spec.SpecError) as info:
        spec.load_environment(raw, "prod", secrets_decrypted=False)
    err = info.value
    assert err.stack == "prod"
    assert not err.shape
    assert err.format().splitlines()[1:] == [
        "  prod: sip_domains[1].auth.calls.credential_lists[1]: unknown credential list 'gone'; "
        "declare it under credential_lists or fix the name (declared: pbx-users, soft-users)",
        "  prod: byoc_trunks[0].from_domain: unknown SIP domain 'nowhere'; declare it under "
        "sip_domains or fix the name (declared: pbx, soft)",
    ]


def test_format_path_and_allowed_keys() -> None:
    assert format_path(("sip_domains", 1, "auth", "calls", "credential_lists", 0)) == (
        "sip_domains[1].auth.calls.credential_lists[0]"
    )
    assert allowed_keys(("trunks", 0, "recording")) == ["mode", "trim"]
    assert allowed_keys(("credentials",))[:2] == ["account_sid", "auth"]
    assert allowed_keys(("nope",)) == []


def test_flows_used() -> None:
    env = spec.load_environment(valid_spec(), "prod", secrets_decrypted=False)
    assert env.flows_used() == [
        "byoc_inbound",
        "call_status",
        "ivr_main",
        "sip_inbound",
        "trunk_disaster_recovery",
        "voice_fallback",
    ]


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_e164_accepts_every_region_example_number(region: str) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        pytest.skip(f"no example number for {region}")
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert spec.PhoneNumber.model_validate({"e164": e164, "flow": "ivr_main"}).e164 == e164


@pytest.mark.parametrize(
    "uri",
    [
        "sip:pbx.example.com",
        "sip:pbx.example.com:5061;transport=tls",
        "sip:203.0.113.5:5060;transport=udp;edge=frankfurt",
        "sip:user@pbx.example.com;region=ie1",
        "sip:[2001:db8::1]:5060",
    ],
)
def test_sip_uris_twilio_accepts(uri: str) -> None:
    target = spec.ConnectionPolicyTarget.model_validate({"name": "t", "target": uri})
    assert target.target == uri


@pytest.mark.parametrize(
    "uri",
    ["sip:", "sip:host:0", "sip:host:70000", "sip:-bad-.example.com", "sip:1.2.3.999", "tel:+1415"],
)
def test_sip_uris_twilio_rejects(uri: str) -> None:
    with pytest.raises(ValidationError):
        spec.ConnectionPolicyTarget.model_validate({"name": "t", "target": uri})


# --- the example stacks ----------------------------------------------------------------------


def test_prod_example_is_a_real_estate() -> None:
    env = spec.load_stack_file(REPO, "prod")
    assert (env.edge, env.region) == ("ashburn", "us1")
    assert env.public_base_url.startswith("https://")
    assert len(env.numbers) >= 6
    assert len(env.sip_domains) == 2
    assert len(env.credential_lists) == 2
    assert len(env.ip_access_control_lists) == 2
    assert len(env.trunks) == 2
    assert any(t.recording.mode != "do-not-record" and t.disaster_recovery_flow for t in env.trunks)
    assert len(env.byoc_trunks) == 1
    (policy,) = env.connection_policies
    assert len(policy.targets) == 2
    assert env.ip_records
    assert env.source_ip_mappings
    passwords = [c.password for _, c in env.credentials_with_paths()]
    assert passwords
    assert all(p.ciphertext and p.ciphertext.startswith("v1:") for p in passwords)


def test_dev_example_is_in_europe_with_a_uk_number() -> None:
    env = spec.load_stack_file(REPO, "dev")
    assert (env.edge, env.region) == ("dublin", "ie1")
    assert any(n.e164.startswith("+44") for n in env.numbers)
    assert len(env.numbers) < len(spec.load_stack_file(REPO, "prod").numbers)


def test_local_example_points_at_the_local_app_with_plaintext_passwords() -> None:
    env = spec.load_stack_file(REPO, "local")
    assert env.public_base_url == "http://127.0.0.1:8080"
    assert all(c.password.has_plaintext for _, c in env.credentials_with_paths())


@pytest.mark.parametrize("stack", ["prod", "dev", "local"])
def test_example_stacks_use_only_twilio_flows_of_the_app(stack: str) -> None:
    env = spec.load_stack_file(REPO, stack)
    assert env.flows_used()
    for flow in env.flows_used():
        assert ROUTES_BY_FLOW[flow].twilio


def test_example_numbers_are_fictional() -> None:
    for stack in ("prod", "dev", "local"):
        for number in spec.load_stack_file(REPO, stack).numbers:
            # NANP 555-01xx and Ofcom's 020 7946 0xxx drama ranges are reserved for fiction.
            assert number.e164[5:9] == "5550" or number.e164.startswith("+442079460")


def test_account_sid_pins_every_stack_but_local() -> None:
    raw = valid_spec()
    raw["credentials"] = {k: v for k, v in raw.get("credentials", {}).items() if k != "account_sid"}
    raw["credentials"].pop("api_key_sid", None)
    raw["credentials"]["auth"] = "auth_token"
    with pytest.raises(spec.SpecError) as caught:
        spec.load_environment(raw, "dev", secrets_decrypted=False)
    [issue] = caught.value.issues
    assert issue.path == "credentials.account_sid"
    assert "pins the stack to one Twilio account" in issue.message
    local = {**raw, "public_base_url": "http://127.0.0.1:8080"}
    assert (
        spec.load_environment(local, "local", secrets_decrypted=False).credentials.account_sid
        is None
    )
