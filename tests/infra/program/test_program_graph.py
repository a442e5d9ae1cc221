"""The program's resource graph for each stack, as the engine would receive it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.environment import COMPONENT_TYPE
from infra.program import COMPONENT_NAME
from infra.resources.call_flows import TYPE as CALL_FLOWS_TYPE
from webhook_app.routes import ROUTES_BY_FLOW

# set_mocks is process-global: keep the program runs in one worker, computed once per stack.
pytestmark = pytest.mark.xdist_group("pulumi-mocks")

ProgramRun = Any  # conftest.ProgramRun


def declared(run: ProgramRun) -> dict[str, Any]:
    env: dict[str, Any] = json.loads(run.config.values["twilio-voice:environment"])
    return env


def expected_counts(env: dict[str, Any]) -> dict[str, int]:
    """Resource counts per kind, computed from the raw spec independently of the program."""
    domains = env.get("sip_domains") or []
    trunks = env.get("trunks") or []
    numbers = env.get("numbers") or []
    region = env.get("region")

    def auth(d: dict[str, Any], section: str, key: str) -> int:
        return len(((d.get("auth") or {}).get(section) or {}).get(key) or [])

    counts = {
        "IncomingPhoneNumber": len(numbers),
        "Application": len(env.get("applications") or []),
        "SipDomain": len(domains),
        "SipDomainCallsCredentialListMapping": sum(
            auth(d, "calls", "credential_lists") for d in domains
        ),
        "SipDomainCallsIpAccessControlListMapping": sum(
            auth(d, "calls", "ip_access_control_lists") for d in domains
        ),
        "SipDomainRegistrationsCredentialListMapping": sum(
            auth(d, "registrations", "credential_lists") for d in domains
        ),
        "CredentialList": len(env.get("credential_lists") or []),
        "Credential": sum(
            len(c.get("credentials") or []) for c in env.get("credential_lists") or []
        ),
        "IpAccessControlList": len(env.get("ip_access_control_lists") or []),
        "IpAddress": sum(
            len(a.get("ip_addresses") or []) for a in env.get("ip_access_control_lists") or []
        ),
        "Trunk": len(trunks),
        "OriginationUrl": sum(len(t.get("origination_urls") or []) for t in trunks),
        "TrunkCredentialList": sum(
            len((t.get("termination") or {}).get("credential_lists") or []) for t in trunks
        ),
        "TrunkIpAccessControlList": sum(
            len((t.get("termination") or {}).get("ip_access_control_lists") or []) for t in trunks
        ),
        # a number's trunk association is its own TrunkSid (no separate TrunkPhoneNumber)
        "ByocTrunk": len(env.get("byoc_trunks") or []),
        "ConnectionPolicy": len(env.get("connection_policies") or []),
        "ConnectionPolicyTarget": sum(
            len(p.get("targets") or []) for p in env.get("connection_policies") or []
        ),
        "IpRecord": len(env.get("ip_records") or []),
        "SourceIpMapping": len(env.get("source_ip_mappings") or []),
        "InboundProcessingRegion": sum(
            1 for r in [*numbers, *domains, *trunks] if r.get("region") or region
        ),
        # not a Twilio record: the call flows in state, one per stack that declares them
        CALL_FLOWS_TYPE: 1 if env.get("call_flows") else 0,
    }
    return {kind: n for kind, n in counts.items() if n}


def test_one_resource_per_declared_item(run: ProgramRun) -> None:
    counts = run.counts()
    assert counts.pop(COMPONENT_TYPE) == 1
    assert counts == expected_counts(declared(run))


def test_every_resource_hangs_under_the_component(run: ProgramRun) -> None:
    component = run.by_name(COMPONENT_NAME)
    assert component.typ == COMPONENT_TYPE
    assert not component.custom
    for record in run.records:
        if record is component:
            continue
        chain, cursor = [], record
        while cursor.parent and cursor.parent != component.urn:
            cursor = run.by_urn(cursor.parent)
            chain.append(cursor.name)
        assert cursor.parent == component.urn, f"{record.name} is not under the component"
        assert record.custom
        assert record.typ.startswith("pulumi-python:dynamic/twilio:") or (
            record.typ == CALL_FLOWS_TYPE and record.parent == component.urn
        )


def test_children_are_parented_to_what_they_belong_to(run: ProgramRun) -> None:
    env = declared(run)
    for clist in env.get("credential_lists") or []:
        parent = run.by_name(clist["name"])
        for cred in clist.get("credentials") or []:
            child = run.by_name(f"{clist['name']}/{cred['username']}")
            assert child.parent == parent.urn
            assert child.kind == "Credential"
    for trunk in env.get("trunks") or []:
        parent = next(r for r in run.of_kind("Trunk") if r.name == trunk["name"])
        for url in trunk.get("origination_urls") or []:
            child = run.by_name(f"{trunk['name']}/origination/{url['name']}")
            assert child.parent == parent.urn
    for policy in env.get("connection_policies") or []:
        parent = next(r for r in run.of_kind("ConnectionPolicy") if r.name == policy["name"])
        for target in policy["targets"]:
            assert run.by_name(f"{policy['name']}/{target['name']}").parent == parent.urn


def test_auth_mappings_wait_for_the_list_entries(run: ProgramRun) -> None:
    mapping_kinds = (
        "SipDomainCallsCredentialListMapping",
        "SipDomainRegistrationsCredentialListMapping",
        "TrunkCredentialList",
    )
    mappings = [r for k in mapping_kinds for r in run.of_kind(k)]
    credentials = run.of_kind("Credential")
    for mapping in mappings:
        list_name = mapping.name.rsplit("/", 1)[-1]
        members = [c.urn for c in credentials if c.name.startswith(f"{list_name}/")]
        assert set(members) <= set(mapping.dependencies), mapping.name
    for mapping in [
        *run.of_kind("SipDomainCallsIpAccessControlListMapping"),
        *run.of_kind("TrunkIpAccessControlList"),
    ]:
        acl = mapping.name.rsplit("/", 1)[-1]
        members = [a.urn for a in run.of_kind("IpAddress") if a.name.startswith(f"{acl}/")]
        assert set(members) <= set(mapping.dependencies), mapping.name


def test_number_routing_edges(run: ProgramRun) -> None:
    for number in declared(run).get("numbers") or []:
        record = run.by_name(number["e164"])
        assert record.kind == "IncomingPhoneNumber"
        assert record.protect, "numbers are adopted: they must be protected"
        assert not record.retain_on_delete, "destroy resets the voice config, it does not retain"
        if number.get("trunk"):
            trunk = next(r for r in run.of_kind("Trunk") if r.name == number["trunk"])
            assert trunk.urn in record.dependencies
            assert record.plain("trunk_sid") == f"mock-sid:{trunk.name}"
            assert record.plain("voice_application_sid") is None
        if number.get("application"):
            app = next(r for r in run.of_kind("Application") if r.name == number["application"])
            assert app.urn in record.dependencies
            assert record.plain("voice_application_sid") == f"mock-sid:{app.name}"
            assert record.plain("trunk_sid") is None
    assert not run.of_kind("TrunkPhoneNumber")


def test_webhook_urls_come_from_the_route_table(run: ProgramRun) -> None:
    env = declared(run)
    base = env["public_base_url"].rstrip("/")

    def url(entry: dict[str, Any], entry_route: str) -> str | None:
        """A route's URL; a call flow enters its list's route with `?flow=<name>`."""
        if entry.get("call_flow"):
            return f"{base}{ROUTES_BY_FLOW[entry_route].path}?flow={entry['call_flow']}"
        if entry.get("flow"):
            return base + ROUTES_BY_FLOW[entry["flow"]].path
        return entry.get("external_url")

    for number in env.get("numbers") or []:
        record = run.by_name(number["e164"])
        assert record.plain("voice_url") == url(number, "ivr_main")
    for domain in env.get("sip_domains") or []:
        record = next(r for r in run.of_kind("SipDomain") if r.name == domain["name"])
        assert record.plain("voice_url") == url(domain, "sip_inbound")
        assert record.plain("domain_name") == domain["domain_name"]
    for app in env.get("applications") or []:
        record = next(r for r in run.of_kind("Application") if r.name == app["name"])
        assert record.plain("voice_url") == url(app, "ivr_main")


def test_passwords_are_secret(run: ProgramRun) -> None:
    credentials = run.of_kind("Credential")
    assert credentials, f"stack {run.stack} declares no credentials: the test would prove nothing"
    for cred in credentials:
        assert cred.is_secret("password"), f"{cred.name}: password registered in plain text"
        assert "password" in cred.additional_secret_outputs
    placeholders = set(run.config.secrets)
    for record in run.records:
        for key, value in record.inputs.items():
            if key in ("password", "__provider"):
                continue
            assert not (set(json.dumps(value, default=str).split('"')) & placeholders), (
                f"{record.name}.{key} carries a secret in plain text"
            )


def test_byoc_edges(run: ProgramRun) -> None:
    env = declared(run)
    for byoc in env.get("byoc_trunks") or []:
        record = next(r for r in run.of_kind("ByocTrunk") if r.name == byoc["name"])
        if byoc.get("connection_policy"):
            policy = byoc["connection_policy"]
            needed = {r.urn for r in run.of_kind("ConnectionPolicy") if r.name == policy}
            needed |= {
                r.urn
                for r in run.of_kind("ConnectionPolicyTarget")
                if r.name.startswith(f"{policy}/")
            }
            assert needed <= set(record.dependencies), "BYOC trunk must wait for policy + targets"
            assert record.plain("connection_policy_sid") == f"mock-sid:{policy}"
        if byoc.get("from_domain"):
            domain = next(r for r in run.of_kind("SipDomain") if r.name == byoc["from_domain"])
            assert domain.urn in record.dependencies
            assert record.plain("from_domain_sid") == f"mock-sid:{domain.name}"
    for domain in env.get("sip_domains") or []:
        record = next(r for r in run.of_kind("SipDomain") if r.name == domain["name"])
        if domain.get("byoc_trunk"):
            byoc = next(r for r in run.of_kind("ByocTrunk") if r.name == domain["byoc_trunk"])
            assert byoc.urn in record.dependencies
            assert record.plain("byoc_trunk_sid") == f"mock-sid:{byoc.name}"
        else:
            assert record.plain("byoc_trunk_sid") is None


def test_source_ip_mappings_and_region_pins(run: ProgramRun) -> None:
    for mapping in run.of_kind("SourceIpMapping"):
        record_name, domain_name = mapping.name.split("/")
        record = next(r for r in run.of_kind("IpRecord") if r.name == record_name)
        domain = next(r for r in run.of_kind("SipDomain") if r.name == domain_name)
        assert {record.urn, domain.urn} <= set(mapping.dependencies)
        assert mapping.parent == record.urn
    env = declared(run)
    targets = {
        **{
            n["e164"]: ("phone_number", n["e164"], n.get("region"))
            for n in env.get("numbers") or []
        },
        **{
            d["name"]: ("sip_domain", d["domain_name"], d.get("region"))
            for d in env.get("sip_domains") or []
        },
        **{
            t["name"]: ("sip_trunk_domain", t["domain_name"], t.get("region"))
            for t in env.get("trunks") or []
        },
    }
    for pin in run.of_kind("InboundProcessingRegion"):
        owner = pin.name.removesuffix("/region")
        key, value, region = targets[owner]
        assert pin.plain(key) == value
        assert pin.plain("voice_region") == (region or env.get("region"))
        assert run.by_urn(pin.parent).name == owner
        assert pin.parent in pin.dependencies


def test_trunk_settings_and_origination(run: ProgramRun) -> None:
    env = declared(run)
    base = env["public_base_url"].rstrip("/")
    for trunk in env.get("trunks") or []:
        record = next(r for r in run.of_kind("Trunk") if r.name == trunk["name"])
        recording = trunk.get("recording") or {}
        assert record.plain("recording_mode") == recording.get("mode", "do-not-record")
        assert record.plain("recording_trim") == recording.get("trim", "do-not-trim")
        flow = trunk.get("disaster_recovery_flow")
        expected = base + ROUTES_BY_FLOW[flow].path if flow else None
        assert record.plain("disaster_recovery_url") == expected
        for url in trunk.get("origination_urls") or []:
            child = run.by_name(f"{trunk['name']}/origination/{url['name']}")
            assert child.plain("sip_url") == url["sip_url"]  # edge= passes through as declared
            assert child.plain("trunk_sid") == f"mock-sid:{trunk['name']}"


def test_every_resource_carries_the_declared_account(run: ProgramRun) -> None:
    account = (declared(run).get("credentials") or {}).get("account_sid")
    for record in run.records:
        if record.custom and record.typ != CALL_FLOWS_TYPE:  # not a Twilio record: no account
            assert record.plain("expected_account_sid") == account, record.name
