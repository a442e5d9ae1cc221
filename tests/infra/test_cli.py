"""`python -m infra validate`: each invalid spec -> exit 1 and a message at the exact path."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from spec_samples import valid_spec, write_project

from infra import cli

REPO = Path(__file__).resolve().parents[2]
Spec = dict[str, Any]
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(spec: Spec, path: str) -> tuple[Any, str | int]:
    keys: list[str | int] = [int(index) if index else name for name, index in _TOKEN.findall(path)]
    node: Any = spec
    for key in keys[:-1]:
        node = node[key]
    return node, keys[-1]


def set_(path: str, value: Any) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        node, key = _walk(spec, path)
        node[key] = value

    return mutate


def delete(path: str) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        node, key = _walk(spec, path)
        del node[key]

    return mutate


def append(path: str, value: Any) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        node, key = _walk(spec, path)
        node[key].append(value)

    return mutate


def both(*mutations: Callable[[Spec], None]) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        for m in mutations:
            m(spec)

    return mutate


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Spec], None]
    path: str
    fragment: str
    stack: str = "prod"


PLAIN_OK = "Str0ngLocalPass"
CASES: list[Case] = [
    # E.164
    Case(
        "e164-spaces",
        set_("numbers[0].e164", "+1 415 555 0100"),
        "numbers[0].e164",
        "not in E.164 form; write it as '+14155550100'",
    ),
    Case(
        "e164-invalid",
        set_("numbers[0].e164", "+1415555010"),
        "numbers[0].e164",
        "is not a valid phone number",
    ),
    Case(
        "e164-garbage",
        set_("numbers[0].e164", "call me"),
        "numbers[0].e164",
        "is not a phone number in E.164 form",
    ),
    Case("e164-no-plus", set_("numbers[0].e164", "14155550100"), "numbers[0].e164", "E.164"),
    Case(
        "e164-unquoted-yaml",
        set_("numbers[0].e164", 14155550100),
        "numbers[0].e164",
        "expected a string (quote it in YAML)",
    ),
    Case(
        "e164-duplicate",
        set_("numbers[1].e164", "+14155550100"),
        "numbers[1].e164",
        "duplicate number '+14155550100' (first at numbers[0].e164)",
    ),
    # number routing
    Case(
        "number-two-routes",
        set_("numbers[0].trunk", "pbx-trunk"),
        "numbers[0]",
        "exactly one of flow, call_flow, external_url, application or trunk (found: flow, trunk)",
    ),
    Case(
        "number-no-route",
        delete("numbers[0].flow"),
        "numbers[0]",
        "exactly one of flow, call_flow, external_url, application or trunk (found: none)",
    ),
    Case(
        "number-fallback-with-app",
        set_("numbers[1].fallback_flow", "voice_fallback"),
        "numbers[1]",
        "fallback_flow: Twilio ignores a number's own fallback and status callback URLs",
    ),
    # flows
    Case(
        "flow-unknown",
        set_("numbers[0].flow", "ivr_nope"),
        "numbers[0].flow",
        "unknown flow 'ivr_nope'; use one of the app's flows: byoc_inbound, call_status",
    ),
    Case(
        "flow-healthz",
        set_("sip_domains[0].flow", "healthz"),
        "sip_domains[0].flow",
        "flow 'healthz' is not a Twilio webhook route (/healthz)",
    ),
    Case(
        "flow-dr-unknown",
        set_("trunks[0].disaster_recovery_flow", "dr"),
        "trunks[0].disaster_recovery_flow",
        "unknown flow 'dr'",
    ),
    Case(
        "flow-callback-as-voice-url",
        set_("numbers[0].flow", "call_status"),
        "numbers[0].flow",
        "flow 'call_status' takes call progress events; a voice, fallback or disaster-recovery "
        "URL must answer a new call with TwiML: use byoc_inbound, conference_transfer, ivr_main,",
    ),
    Case(
        "flow-twiml-as-status-callback",
        set_("byoc_trunks[0].status_callback_flow", "ivr_main"),
        "byoc_trunks[0].status_callback_flow",
        "flow 'ivr_main' answers a call with TwiML; a status callback URL receives call "
        "progress events: use call_status",
    ),
    Case(
        "flow-conference-events-as-status-callback",
        set_("numbers[0].status_callback_flow", "conference_status"),
        "numbers[0].status_callback_flow",
        "flow 'conference_status' takes the app's own conference events; a status callback URL "
        "receives call progress events: use call_status",
    ),
    Case(
        "flow-recording-as-status-callback",
        set_("numbers[0].status_callback_flow", "recording_status"),
        "numbers[0].status_callback_flow",
        "flow 'recording_status' takes the app's own recording events; a status callback URL "
        "receives call progress events: use call_status",
    ),
    Case(
        "flow-action-as-voice-url",
        set_("sip_domains[0].flow", "ivr_menu"),
        "sip_domains[0].flow",
        "flow 'ivr_menu' continues a flow the app's own TwiML started; a voice, fallback or "
        "disaster-recovery URL must answer a new call with TwiML: use",
    ),
    Case(
        "flow-status-unknown",
        set_("byoc_trunks[0].status_callback_flow", "status"),
        "byoc_trunks[0].status_callback_flow",
        "unknown flow 'status'",
    ),
    # references
    Case(
        "ref-number-application",
        set_("numbers[1].application", "nope"),
        "numbers[1].application",
        "unknown application 'nope'; declare it under applications or fix the name",
    ),
    Case(
        "ref-number-trunk",
        set_("numbers[2].trunk", "nope"),
        "numbers[2].trunk",
        "unknown trunk 'nope'; declare it under trunks or fix the name (declared: pbx-trunk)",
    ),
    Case(
        "ref-domain-calls-cl",
        set_("sip_domains[1].auth.calls.credential_lists[0]", "pbx-userz"),
        "sip_domains[1].auth.calls.credential_lists[0]",
        "unknown credential list 'pbx-userz'; declare it under credential_lists or fix the name",
    ),
    Case(
        "ref-domain-calls-acl",
        set_("sip_domains[0].auth.calls.ip_access_control_lists[0]", "branch"),
        "sip_domains[0].auth.calls.ip_access_control_lists[0]",
        "unknown IP access control list 'branch'",
    ),
    Case(
        "ref-domain-registrations",
        set_("sip_domains[0].auth.registrations.credential_lists[0]", "x"),
        "sip_domains[0].auth.registrations.credential_lists[0]",
        "unknown credential list 'x'",
    ),
    Case(
        "ref-domain-byoc",
        set_("sip_domains[1].byoc_trunk", "carrier-b"),
        "sip_domains[1].byoc_trunk",
        "unknown BYOC trunk 'carrier-b'",
    ),
    Case(
        "ref-trunk-termination-cl",
        set_("trunks[0].termination.credential_lists[0]", "x"),
        "trunks[0].termination.credential_lists[0]",
        "unknown credential list 'x'",
    ),
    Case(
        "ref-trunk-termination-acl",
        set_("trunks[0].termination.ip_access_control_lists[0]", "x"),
        "trunks[0].termination.ip_access_control_lists[0]",
        "unknown IP access control list",
    ),
    Case(
        "ref-byoc-policy",
        set_("byoc_trunks[0].connection_policy", "x"),
        "byoc_trunks[0].connection_policy",
        "unknown connection policy 'x'",
    ),
    Case(
        "ref-byoc-from-domain",
        set_("byoc_trunks[0].from_domain", "x"),
        "byoc_trunks[0].from_domain",
        "unknown SIP domain 'x'; declare it under sip_domains",
    ),
    Case(
        "ref-mapping-ip-record",
        set_("source_ip_mappings[0].ip_record", "x"),
        "source_ip_mappings[0].ip_record",
        "unknown IP record 'x'",
    ),
    Case(
        "ref-mapping-domain",
        set_("source_ip_mappings[0].sip_domain", "x"),
        "source_ip_mappings[0].sip_domain",
        "unknown SIP domain 'x'",
    ),
    Case(
        "ref-listed-twice",
        append("sip_domains[0].auth.calls.credential_lists", "pbx-users"),
        "sip_domains[0].auth.calls.credential_lists[1]",
        "credential list listed twice",
    ),
    Case(
        "byoc-domain-cycle",
        set_("sip_domains[0].byoc_trunk", "carrier-a"),
        "sip_domains[0].byoc_trunk",
        "refer to each other",
    ),
    Case(
        "registration-without-list",
        set_("sip_domains[1].sip_registration", True),
        "sip_domains[1].sip_registration",
        "add auth.registrations.credential_lists",
    ),
    # duplicates
    Case(
        "dup-domain-name",
        set_("sip_domains[1].name", "pbx"),
        "sip_domains[1].name",
        "duplicate SIP domain name 'pbx' (first at sip_domains[0].name)",
    ),
    Case(
        "dup-domain-domain-name",
        set_("sip_domains[1].domain_name", "acme-pbx.sip.twilio.com"),
        "sip_domains[1].domain_name",
        "duplicate SIP domain name 'acme-pbx.sip.twilio.com'",
    ),
    Case(
        "dup-credential-list",
        set_("credential_lists[1].name", "pbx-users"),
        "credential_lists[1].name",
        "duplicate credential list name",
    ),
    Case(
        "dup-username",
        set_("credential_lists[0].credentials[1].username", "alice"),
        "credential_lists[0].credentials[1].username",
        "duplicate username 'alice'",
    ),
    Case(
        "dup-trunk-domain",
        append("trunks", {"name": "t2", "domain_name": "acme-pbx.pstn.twilio.com"}),
        "trunks[1].domain_name",
        "duplicate trunk domain name",
    ),
    Case(
        "dup-origination-name",
        set_("trunks[0].origination_urls[1].name", "primary"),
        "trunks[0].origination_urls[1].name",
        "duplicate origination URL name",
    ),
    Case(
        "dup-acl-entry-name",
        set_("ip_access_control_lists[0].ip_addresses[1].name", "hq"),
        "ip_access_control_lists[0].ip_addresses[1].name",
        "duplicate IP address name",
    ),
    Case(
        "dup-mapping",
        append("source_ip_mappings", {"ip_record": "sbc1", "sip_domain": "pbx"}),
        "source_ip_mappings[1]",
        "duplicate source IP mapping",
    ),
    # domain names
    Case(
        "sip-domain-suffix",
        set_("sip_domains[0].domain_name", "pbx.sip.example.com"),
        "sip_domains[0].domain_name",
        "must be <label>.sip.twilio.com",
    ),
    Case(
        "sip-domain-regional",
        set_("sip_domains[0].domain_name", "pbx.sip.us1.twilio.com"),
        "sip_domains[0].domain_name",
        "is regional; Twilio documents only <label>.sip.twilio.com",
    ),
    Case(
        "sip-domain-two-labels",
        set_("sip_domains[0].domain_name", "pbx.acme.sip.twilio.com"),
        "sip_domains[0].domain_name",
        "must be one DNS label",
    ),
    Case(
        "sip-domain-uppercase",
        set_("sip_domains[0].domain_name", "ACME.sip.twilio.com"),
        "sip_domains[0].domain_name",
        "lowercase",
    ),
    Case(
        "trunk-domain-suffix",
        set_("trunks[0].domain_name", "acme.sip.twilio.com"),
        "trunks[0].domain_name",
        "must be <label>.pstn.twilio.com",
    ),
    # sip: URIs
    Case(
        "origination-sips",
        set_("trunks[0].origination_urls[0].sip_url", "sips:pbx.example.com"),
        "trunks[0].origination_urls[0].sip_url",
        "uses sips:, which Twilio does not support",
    ),
    Case(
        "origination-http",
        set_("trunks[0].origination_urls[0].sip_url", "https://pbx.example.com"),
        "trunks[0].origination_urls[0].sip_url",
        "must use the sip: scheme",
    ),
    Case(
        "target-sips",
        set_("connection_policies[0].targets[0].target", "sips:sbc.example.net"),
        "connection_policies[0].targets[0].target",
        "sips:",
    ),
    Case(
        "target-transport",
        set_("connection_policies[0].targets[0].target", "sip:h.example;transport=sctp"),
        "connection_policies[0].targets[0].target",
        "transport='sctp' is not valid",
    ),
    Case(
        "target-space",
        set_("connection_policies[0].targets[1].target", "sip:bad host"),
        "connection_policies[0].targets[1].target",
        "is not a SIP URI",
    ),
    Case(
        "origination-bad-edge",
        set_("trunks[0].origination_urls[0].sip_url", "sip:a.example.com;edge=mars"),
        "trunks[0].origination_urls[0].sip_url",
        "edge='mars' is not valid",
    ),
    # ranges
    Case(
        "priority-too-big",
        set_("trunks[0].origination_urls[0].priority", 70000),
        "trunks[0].origination_urls[0].priority",
        "70000 is out of range; Twilio accepts 0..65535",
    ),
    Case(
        "weight-negative",
        set_("connection_policies[0].targets[1].weight", -1),
        "connection_policies[0].targets[1].weight",
        "out of range",
    ),
    Case(
        "priority-string",
        set_("trunks[0].origination_urls[1].priority", "10"),
        "trunks[0].origination_urls[1].priority",
        "expected a whole number",
    ),
    # CIDRs and IPs
    Case(
        "cidr-33",
        set_("ip_access_control_lists[0].ip_addresses[0].cidr_prefix_length", 33),
        "ip_access_control_lists[0].ip_addresses[0].cidr_prefix_length",
        "Twilio accepts 8..32",
    ),
    Case(
        "cidr-4",
        set_("ip_records[0].cidr_prefix_length", 4),
        "ip_records[0].cidr_prefix_length",
        "Twilio accepts 8..32",
    ),
    Case(
        "cidr-host-bits",
        set_("ip_access_control_lists[0].ip_addresses[1].ip_address", "203.0.113.17"),
        "ip_access_control_lists[0].ip_addresses[1].ip_address",
        "203.0.113.17/28 is not a network address: host bits are set; use ip_address 203.0.113.16",
    ),
    Case(
        "ip-bad",
        set_("ip_access_control_lists[0].ip_addresses[0].ip_address", "203.0.113.300"),
        "ip_access_control_lists[0].ip_addresses[0].ip_address",
        "is not an IP address",
    ),
    Case(
        "ip-with-prefix",
        set_("ip_records[0].ip_address", "198.51.100.0/24"),
        "ip_records[0].ip_address",
        "put the prefix length in cidr_prefix_length",
    ),
    Case(
        "ip-v6",
        set_("ip_records[0].ip_address", "2001:db8::1"),
        "ip_records[0].ip_address",
        "Twilio accepts IPv4 addresses only",
    ),
    # edges and regions
    Case(
        "edge-unknown", set_("edge", "london"), "edge", "unknown edge 'london'; use one of: ashburn"
    ),
    Case(
        "region-unknown", set_("region", "eu1"), "region", "unknown region 'eu1'; use one of: us1"
    ),
    Case(
        "number-region-unknown",
        set_("numbers[0].region", "US1"),
        "numbers[0].region",
        "unknown region 'US1'",
    ),
    Case(
        "trunk-region-unknown",
        set_("trunks[0].region", "ashburn"),
        "trunks[0].region",
        "unknown region",
    ),
    # public URL
    Case(
        "http-on-prod",
        set_("public_base_url", "http://voice.example.com"),
        "public_base_url",
        "uses plain http; Twilio webhooks outside the `local` stack must use https://",
    ),
    Case(
        "http-on-dev",
        set_("public_base_url", "http://voice.example.com"),
        "public_base_url",
        "plain http",
        stack="dev",
    ),
    Case(
        "ftp-on-local",
        set_("public_base_url", "ftp://127.0.0.1"),
        "public_base_url",
        "must be an absolute https:// URL",
        stack="local",
    ),
    Case(
        "url-with-query",
        set_("public_base_url", "https://voice.example.com/?x=1"),
        "public_base_url",
        "must not have a query",
    ),
    # secrets
    Case(
        "plaintext-on-prod",
        set_("credential_lists[0].credentials[0].password", PLAIN_OK),
        "credential_lists[0].credentials[0].password",
        "password is plain text; outside the `local` stack it must be a Pulumi secret",
    ),
    Case(
        "plaintext-on-dev",
        set_("credential_lists[1].credentials[0].password", PLAIN_OK),
        "credential_lists[1].credentials[0].password",
        "pulumi config set --secret --path",
        stack="dev",
    ),
    Case(
        "weak-short-local",
        set_("credential_lists[0].credentials[0].password", "Sh0rtPass"),
        "credential_lists[0].credentials[0].password",
        "at least 12 characters",
        stack="local",
    ),
    Case(
        "weak-no-digit-local",
        set_("credential_lists[0].credentials[1].password", "NoDigitsHereAtAll"),
        "credential_lists[0].credentials[1].password",
        "a digit",
        stack="local",
    ),
    Case(
        "weak-lowercase-local",
        set_("credential_lists[0].credentials[1].password", "alllower12345"),
        "credential_lists[0].credentials[1].password",
        "upper and lower case",
        stack="local",
    ),
    Case(
        "secure-extra-key",
        set_("credential_lists[0].credentials[0].password", {"secure": "v1:x", "salt": "y"}),
        "credential_lists[0].credentials[0].password",
        "{secure: <ciphertext>}",
    ),
    Case(
        "username-too-long",
        set_("credential_lists[0].credentials[0].username", "u" * 33),
        "credential_lists[0].credentials[0].username",
        "Twilio allows up to 32",
    ),
    # extra and missing keys, types
    Case(
        "extra-root-key",
        set_("numbrs", []),
        "numbrs",
        "unknown key 'numbrs'; allowed keys here: public_base_url, edge, region",
    ),
    Case(
        "extra-nested-key",
        set_("sip_domains[0].auth.calls.users", ["x"]),
        "sip_domains[0].auth.calls.users",
        "unknown key 'users'; allowed keys here: credential_lists, ip_access_control_lists",
    ),
    Case(
        "extra-origination-key",
        set_("trunks[0].origination_urls[0].url", "sip:x"),
        "trunks[0].origination_urls[0].url",
        "allowed keys here: name, sip_url, priority",
    ),
    Case(
        "missing-public-url",
        delete("public_base_url"),
        "public_base_url",
        "required key 'public_base_url' is missing",
    ),
    Case("missing-e164", delete("numbers[2].e164"), "numbers[2].e164", "required key 'e164'"),
    Case(
        "transfer-mode",
        set_("trunks[0].transfer_mode", "all"),
        "trunks[0].transfer_mode",
        "'all' is not allowed; use one of: 'disable-all'",
    ),
    Case(
        "recording-mode",
        set_("trunks[0].recording.mode", "always"),
        "trunks[0].recording.mode",
        "is not allowed",
    ),
    Case(
        "enabled-not-bool",
        set_("trunks[0].origination_urls[0].enabled", "maybe"),
        "trunks[0].origination_urls[0].enabled",
        "expected true or false",
    ),
    Case(
        "numbers-not-list", set_("numbers", {"e164": "+14155550100"}), "numbers", "expected a list"
    ),
    Case(
        "api-key-without-sid",
        set_("credentials.auth", "api_key"),
        "credentials",
        "auth: api_key needs api_key_sid",
    ),
    Case(
        "account-sid-bad",
        set_("credentials.account_sid", "AC123"),
        "credentials.account_sid",
        "expected AC followed by 32 lowercase hex digits",
    ),
    Case(
        "policy-no-targets",
        set_("connection_policies[0].targets", []),
        "connection_policies[0].targets",
        "needs at least one target",
    ),
    Case(
        "name-invalid",
        set_("applications[0].name", "main app!"),
        "applications[0].name",
        "invalid name 'main app!'",
    ),
]


def _run_cli(tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    spec = valid_spec()
    if case.stack == "local":
        for clist in spec["credential_lists"]:
            for cred in clist["credentials"]:
                cred["password"] = PLAIN_OK
    case.mutate(spec)
    write_project(tmp_path, case.stack, spec)
    code = cli.main(["validate", "--stack", case.stack, "--project-dir", str(tmp_path)])
    return code, capsys.readouterr().err


def test_the_table_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_spec_exits_1_and_names_the_path(
    tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run_cli(tmp_path, case, capsys)
    assert code == cli.EXIT_INVALID, err
    line = next((ln for ln in err.splitlines() if f"{case.stack}: {case.path}: " in ln), None)
    assert line is not None, f"no issue at {case.path!r}:\n{err}"
    assert case.fragment in line, err


def test_the_base_spec_is_valid_on_prod_and_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, "prod", valid_spec())
    assert cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "prod: valid" in out
    assert "3 of 3 are Pulumi secrets" in out
    assert "    pbx-users: alice (secure), bob (secure)\n" in out
    assert "still encrypted" in out


def test_every_issue_is_listed_not_just_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = valid_spec()
    spec["edge"] = "mars"
    spec["numbers"][0]["e164"] = "+1415"
    spec["trunks"][0]["origination_urls"][0]["priority"] = 99999
    write_project(tmp_path, "prod", spec)
    assert cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "3 problems" in err
    for path in ("edge", "numbers[0].e164", "trunks[0].origination_urls[0].priority"):
        assert f"prod: {path}: " in err


def test_weak_password_is_never_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = valid_spec()
    spec["credential_lists"][0]["credentials"][0]["password"] = "hunter2hunter"
    write_project(tmp_path, "local", spec)
    code = cli.main(["validate", "--stack", "local", "--project-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "hunter2hunter" not in captured.err + captured.out


def test_plaintext_password_is_rejected_on_prod_but_accepted_on_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = valid_spec()
    spec["credential_lists"][0]["credentials"][0]["password"] = PLAIN_OK
    for stack, expected in (("prod", 1), ("local", 0)):
        write_project(tmp_path, stack, spec)
        code = cli.main(["validate", "--stack", stack, "--project-dir", str(tmp_path)])
        assert code == expected, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "1 in plain text (allowed on the local stack only)" in out
    assert "pbx-users: alice (plain text), bob (secure)" in out
    assert PLAIN_OK not in out


# --- the Twilio provider keys next to the spec ----------------------------------------------

PROVIDER_CASES = [
    (
        "auth-token-plain",
        {"twilio:authToken": "plain-token-value"},
        "twilio:authToken",
        "plain text; outside the `local` stack it must be a Pulumi secret",
    ),
    ("api-secret-plain", {"twilio:apiSecret": "s3cret"}, "twilio:apiSecret", "--secret"),
    (
        "account-mismatch",
        {"twilio:accountSid": "AC" + "f" * 32},
        "twilio:accountSid",
        "but the spec's credentials.account_sid is",
    ),
    (
        "edge-mismatch",
        {"twilio:edge": "dublin"},
        "twilio:edge",
        "twilio:edge is 'dublin' but the spec's edge is 'ashburn'",
    ),
]


@pytest.mark.parametrize(
    ("extra", "path", "fragment"),
    [c[1:] for c in PROVIDER_CASES],
    ids=[c[0] for c in PROVIDER_CASES],
)
def test_provider_keys_are_checked(
    tmp_path: Path,
    extra: dict[str, Any],
    path: str,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_project(tmp_path, "prod", valid_spec(), extra)
    code = cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    line = next(ln for ln in err.splitlines() if f"prod: {path}: " in ln)
    assert fragment in line
    assert "plain-token-value" not in err


def test_provider_secrets_may_be_secure_or_plain_on_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secure = {"twilio:authToken": {"secure": "v1:abc:def"}, "twilio:accountSid": spec_sid()}
    write_project(tmp_path, "prod", valid_spec(), secure)
    assert cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)]) == 0
    local = valid_spec()
    for clist in local["credential_lists"]:
        for cred in clist["credentials"]:
            cred["password"] = PLAIN_OK
    write_project(tmp_path, "local", local, {"twilio:authToken": "emulator-token"})
    assert cli.main(["validate", "--stack", "local", "--project-dir", str(tmp_path)]) == 0
    assert "emulator-token" not in capsys.readouterr().out


def spec_sid() -> str:
    sid: str = valid_spec()["credentials"]["account_sid"]
    return sid


def test_provider_and_spec_issues_are_listed_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = valid_spec()
    spec["edge"] = "mars"
    write_project(tmp_path, "prod", spec, {"twilio:authToken": "plain"})
    assert cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "prod: twilio:authToken: " in err
    assert "prod: edge: " in err


# --- infra/__main__.py serves two masters ------------------------------------------------------


def test_main_module_runs_the_cli_without_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sys.modules.get("pulumi.runtime.settings")
    if settings is not None:  # another test in this worker may have left mocks configured
        monkeypatch.setattr(settings, "get_monitor", lambda: None)
    monkeypatch.setattr(
        sys, "argv", ["infra", "validate", "--stack", "prod", "--project-dir", str(REPO)]
    )
    with pytest.raises(SystemExit) as info:
        runpy.run_module("infra.__main__", run_name="__main__")
    assert info.value.code == 0


def test_main_module_runs_the_program_under_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi.runtime.settings

    calls: list[str] = []
    fake_program = types.ModuleType("infra.program")
    fake_program.main = lambda: calls.append("program")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "infra.program", fake_program)
    monkeypatch.setattr(pulumi.runtime.settings, "get_monitor", lambda: object())
    runpy.run_module("infra.__main__", run_name="__main__")
    assert calls == ["program"]


# --- where in the file ----------------------------------------------------------------------

HAND_WRITTEN = """\
config:
  twilio:authToken: plain-token
  twilio-voice:environment:
    public_base_url: https://voice.example.com
    edge: mars
    numbers:
      - e164: "+14155550100"
        flow: ivr_main
        colour: blue
"""


def test_each_issue_names_its_line_in_the_stack_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, "prod", {})
    (tmp_path / "Pulumi.prod.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    code = cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    lines = {ln.split(": ", 2)[1]: ln for ln in err.splitlines() if ln.startswith("  prod: ")}
    assert lines["twilio:authToken"].endswith("(Pulumi.prod.yaml:2)")
    assert lines["edge"].endswith("(Pulumi.prod.yaml:5)")
    assert lines["numbers[0].colour"].endswith("(Pulumi.prod.yaml:9)")


def test_github_format_prints_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, "prod", {})
    (tmp_path / "Pulumi.prod.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    argv = ["validate", "--stack", "prod", "--project-dir", str(tmp_path), "--format", "github"]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out.splitlines()
    prefix = "::error file=Pulumi.prod.yaml,line=5,title=invalid environment spec::prod: edge: "
    assert any(line.startswith(prefix) for line in out)
    assert len(out) == 3
    assert all(line.startswith("::error file=Pulumi.prod.yaml,line=") for line in out)


# --- exit 2: the stack cannot be read -------------------------------------------------------

UNREADABLE = [
    ("missing-file", None, "stack file not found"),
    ("bad-yaml", "config: [unclosed\n", "invalid YAML at line"),
    ("no-config", "encryptionsalt: x\n", "no 'config:' mapping"),
    ("missing-key", "config:\n  twilio:accountSid: AC1\n", "'twilio-voice:environment' is missing"),
    ("key-not-mapping", "config:\n  twilio-voice:environment: [1]\n", "must be a mapping"),
    ("empty-file", "", "no 'config:' mapping"),
]


@pytest.mark.parametrize(
    ("text", "fragment"), [u[1:] for u in UNREADABLE], ids=[u[0] for u in UNREADABLE]
)
def test_unreadable_stack_exits_2(
    tmp_path: Path, text: str | None, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, "other", {})
    if text is not None:
        (tmp_path / "Pulumi.prod.yaml").write_text(text, encoding="utf-8")
    code = cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err.startswith("prod: cannot read the stack: ")
    assert fragment in err


def test_missing_pulumi_yaml_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["validate", "--stack", "prod", "--project-dir", str(tmp_path)])
    assert code == 2
    assert "no Pulumi.yaml here" in capsys.readouterr().err


def test_stack_name_cannot_escape_the_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(tmp_path, "prod", valid_spec())
    code = cli.main(["validate", "--stack", "../prod", "--project-dir", str(tmp_path)])
    assert code == 2
    assert "invalid stack name" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate"]) == 2
    assert cli.main(["no-such-command"]) == 2
    assert "--stack" in capsys.readouterr().err


# --- the example stacks of the repository, and the real entry point ---------------------------


@pytest.mark.parametrize("stack", ["prod", "dev", "local"])
def test_example_stacks_are_valid(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--stack", stack, "--project-dir", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{stack}: valid (Pulumi.{stack}.yaml)")
    assert "POST " in out


def _python_m_infra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_python_m_infra_validate_prod_from_repo_root() -> None:
    result = _python_m_infra("validate", "--stack", "prod", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "7 numbers" in result.stdout
    assert "edge      ashburn" in result.stdout
    assert "/voice/byoc/inbound?flow=main" in result.stdout


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in ("ref-domain-calls-cl", "http-on-prod", "cidr-host-bits")],
    ids=lambda c: c.id,
)
def test_invalid_specs_through_a_subprocess(tmp_path: Path, case: Case) -> None:
    spec = valid_spec()
    case.mutate(spec)
    write_project(tmp_path, case.stack, spec)
    result = _python_m_infra(
        "validate", "--stack", case.stack, "--project-dir", str(tmp_path), cwd=tmp_path
    )
    assert result.returncode == 1
    line = next(ln for ln in result.stderr.splitlines() if f"{case.stack}: {case.path}: " in ln)
    assert case.fragment in line


def test_subprocess_unreadable_exits_2(tmp_path: Path) -> None:
    result = _python_m_infra(
        "validate", "--stack", "nope", "--project-dir", str(tmp_path), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "cannot read the stack" in result.stderr
