"""Full create/fetch/list/update/delete for every resource kind, driven by the real twilio SDK.

These tests are also the traffic the OpenAPI contract test validates (tests/contract), so
together they must touch every operation the providers use.
"""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from devtools.emulator_testing import RunningEmulator

PASSWORD = "IWasAtSignal2018"


def assert_gone(fetch: Any) -> None:
    with pytest.raises(TwilioRestException) as info:
        fetch()
    assert (info.value.status, info.value.code) == (404, 20404)


def test_incoming_phone_number_crud(account: Any) -> None:
    owned = account.incoming_phone_numbers.list(page_size=50)
    assert owned, "the emulator seeds owned numbers"
    bought = account.incoming_phone_numbers.create(
        phone_number="+14155550199", voice_url="https://a.example/v"
    )
    assert bought.sid.startswith("PN")
    assert len(bought.sid) == 34
    assert bought.phone_number == "+14155550199"
    assert bought.voice_method == "POST"
    fetched = account.incoming_phone_numbers(bought.sid).fetch()
    assert fetched.voice_url == "https://a.example/v"
    assert fetched.uri.endswith(f"/IncomingPhoneNumbers/{bought.sid}.json")
    listed = account.incoming_phone_numbers.list(phone_number="+14155550199")
    assert [n.sid for n in listed] == [bought.sid]
    updated = account.incoming_phone_numbers(bought.sid).update(
        voice_url="", friendly_name="Main line", voice_receive_mode="voice"
    )
    assert updated.voice_url is None  # an empty value clears the field
    assert updated.friendly_name == "Main line"
    assert account.incoming_phone_numbers(bought.sid).delete() is True
    assert_gone(account.incoming_phone_numbers(bought.sid).fetch)


def test_number_routing_application_and_trunk_clear_each_other(account: Any, client: Any) -> None:
    number = account.incoming_phone_numbers.list(limit=1)[0]
    app = account.applications.create(friendly_name="ivr", voice_url="https://a.example/ivr")
    trunk = client.trunking.v1.trunks.create(friendly_name="pbx")
    on_trunk = account.incoming_phone_numbers(number.sid).update(trunk_sid=trunk.sid)
    assert on_trunk.trunk_sid == trunk.sid
    on_app = account.incoming_phone_numbers(number.sid).update(voice_application_sid=app.sid)
    assert (on_app.voice_application_sid, on_app.trunk_sid) == (app.sid, None)
    back = account.incoming_phone_numbers(number.sid).update(trunk_sid=trunk.sid)
    assert (back.voice_application_sid, back.trunk_sid) == (None, trunk.sid)


def test_application_crud(account: Any) -> None:
    app = account.applications.create(
        friendly_name="ivr", voice_url="https://a.example/ivr", voice_method="GET"
    )
    assert app.sid.startswith("AP")
    assert account.applications(app.sid).fetch().voice_method == "GET"
    assert [a.sid for a in account.applications.list(friendly_name="ivr")] == [app.sid]
    updated = account.applications(app.sid).update(voice_fallback_url="https://a.example/fb")
    assert updated.voice_fallback_url == "https://a.example/fb"
    assert updated.voice_url == "https://a.example/ivr"
    account.applications(app.sid).delete()
    assert_gone(account.applications(app.sid).fetch)


def test_sip_domain_crud(account: Any) -> None:
    domain = account.sip.domains.create(
        domain_name="acme.sip.twilio.com",
        friendly_name="Acme",
        voice_url="https://a.example/sip",
        sip_registration=True,
    )
    assert domain.sid.startswith("SD")
    assert domain.sip_registration is True
    assert "credential_list_mappings" in domain.subresource_uris
    assert account.sip.domains(domain.sid).fetch().domain_name == "acme.sip.twilio.com"
    assert [d.sid for d in account.sip.domains.list()] == [domain.sid]
    updated = account.sip.domains(domain.sid).update(secure=True, voice_url="")
    assert (updated.secure, updated.voice_url) == (True, None)
    account.sip.domains(domain.sid).delete()
    assert_gone(account.sip.domains(domain.sid).fetch)


def test_credential_list_and_credentials_crud(account: Any) -> None:
    cl = account.sip.credential_lists.create(friendly_name="pbx-users")
    assert cl.sid.startswith("CL")
    assert account.sip.credential_lists(cl.sid).fetch().friendly_name == "pbx-users"
    assert [c.sid for c in account.sip.credential_lists.list()] == [cl.sid]
    assert account.sip.credential_lists(cl.sid).update(friendly_name="pbx").friendly_name == "pbx"
    creds = account.sip.credential_lists(cl.sid).credentials
    cred = creds.create(username="alice", password=PASSWORD)
    assert cred.sid.startswith("CR")
    assert cred.credential_list_sid == cl.sid
    assert not hasattr(cred, "password")
    assert creds(cred.sid).fetch().username == "alice"
    assert [c.username for c in creds.list()] == ["alice"]
    assert creds(cred.sid).update(password="AnotherStrong2024").username == "alice"
    creds(cred.sid).delete()
    assert_gone(creds(cred.sid).fetch)
    account.sip.credential_lists(cl.sid).delete()
    assert_gone(account.sip.credential_lists(cl.sid).fetch)


def test_ip_access_control_list_and_addresses_crud(account: Any) -> None:
    acl = account.sip.ip_access_control_lists.create(friendly_name="carriers")
    assert acl.sid.startswith("AL")
    assert account.sip.ip_access_control_lists(acl.sid).fetch().friendly_name == "carriers"
    assert len(account.sip.ip_access_control_lists.list()) == 1
    renamed = account.sip.ip_access_control_lists(acl.sid).update(friendly_name="edge")
    assert renamed.friendly_name == "edge"
    addresses = account.sip.ip_access_control_lists(acl.sid).ip_addresses
    ip = addresses.create(friendly_name="sbc", ip_address="203.0.113.10", cidr_prefix_length=30)
    assert ip.sid.startswith("IP")
    assert ip.cidr_prefix_length == 30
    assert addresses(ip.sid).fetch().ip_address == "203.0.113.10"
    assert [a.sid for a in addresses.list()] == [ip.sid]
    assert addresses(ip.sid).update(ip_address="203.0.113.11").ip_address == "203.0.113.11"
    addresses(ip.sid).delete()
    assert_gone(addresses(ip.sid).fetch)
    account.sip.ip_access_control_lists(acl.sid).delete()


@pytest.mark.parametrize(
    ("mapping", "target", "auth_type"),
    [
        (lambda d: d.auth.calls.credential_list_mappings, "cl", "CREDENTIAL_LIST"),
        (lambda d: d.auth.calls.ip_access_control_list_mappings, "acl", "IP_ACL"),
        (lambda d: d.auth.registrations.credential_list_mappings, "cl", None),
        (lambda d: d.credential_list_mappings, "cl", "CREDENTIAL_LIST"),
        (lambda d: d.ip_access_control_list_mappings, "acl", "IP_ACL"),
    ],
    ids=["calls-cl", "calls-acl", "registrations-cl", "legacy-cl", "legacy-acl"],
)
def test_domain_mapping_crud(
    account: Any, mapping: Any, target: str, auth_type: str | None
) -> None:
    domain = account.sip.domains.create(domain_name="map.sip.twilio.com")
    if target == "cl":
        listed = account.sip.credential_lists.create(friendly_name="users")
        mappings = mapping(account.sip.domains(domain.sid))
        created = mappings.create(credential_list_sid=listed.sid)
    else:
        listed = account.sip.ip_access_control_lists.create(friendly_name="ips")
        mappings = mapping(account.sip.domains(domain.sid))
        created = mappings.create(ip_access_control_list_sid=listed.sid)
    assert created.sid == listed.sid
    assert created.friendly_name == listed.friendly_name
    assert mappings(listed.sid).fetch().sid == listed.sid
    assert [m.sid for m in mappings.list()] == [listed.sid]
    # Registration mappings authenticate REGISTER, not calls: auth_type counts call auth only.
    assert account.sip.domains(domain.sid).fetch().auth_type == auth_type
    mappings(listed.sid).delete()
    assert_gone(mappings(listed.sid).fetch)
    assert mappings.list() == []


def test_trunk_crud_and_recording(client: Any) -> None:
    trunks = client.trunking.v1.trunks
    trunk = trunks.create(friendly_name="pbx", domain_name="acme.pstn.twilio.com", secure=True)
    assert trunk.sid.startswith("TK")
    assert trunk.url.endswith(f"/trunking/v1/Trunks/{trunk.sid}")
    assert trunk.transfer_mode == "disable-all"
    assert trunks(trunk.sid).fetch().domain_name == "acme.pstn.twilio.com"
    assert [t.sid for t in trunks.list()] == [trunk.sid]
    updated = trunks(trunk.sid).update(
        disaster_recovery_url="https://a.example/dr", transfer_mode="enable-all"
    )
    assert (updated.disaster_recovery_url, updated.transfer_mode) == (
        "https://a.example/dr",
        "enable-all",
    )
    recording = trunks(trunk.sid).recordings().fetch()
    assert (recording.mode, recording.trim) == ("do-not-record", "do-not-trim")
    changed = trunks(trunk.sid).recordings().update(mode="record-from-answer", trim="trim-silence")
    assert changed.mode == "record-from-answer"
    assert trunks(trunk.sid).fetch().recording == {
        "mode": "record-from-answer",
        "trim": "trim-silence",
    }
    trunks(trunk.sid).delete()
    assert_gone(trunks(trunk.sid).fetch)


def test_origination_url_crud(client: Any) -> None:
    trunk = client.trunking.v1.trunks.create(friendly_name="pbx")
    urls = client.trunking.v1.trunks(trunk.sid).origination_urls
    ou = urls.create(
        weight=10, priority=20, enabled=True, friendly_name="pbx-a", sip_url="sip:pbx.example.com"
    )
    assert ou.sid.startswith("OU")
    assert (ou.priority, ou.weight, ou.enabled) == (20, 10, True)
    assert urls(ou.sid).fetch().sip_url == "sip:pbx.example.com"
    assert [u.sid for u in urls.list()] == [ou.sid]
    assert urls(ou.sid).update(enabled=False).enabled is False
    urls(ou.sid).delete()
    assert_gone(urls(ou.sid).fetch)


def test_trunk_associations_crud(account: Any, client: Any) -> None:
    trunk = client.trunking.v1.trunks(client.trunking.v1.trunks.create(friendly_name="t").sid)
    cl = account.sip.credential_lists.create(friendly_name="users")
    acl = account.sip.ip_access_control_lists.create(friendly_name="ips")
    number = account.incoming_phone_numbers.list(limit=1)[0]

    assert trunk.credentials_lists.create(credential_list_sid=cl.sid).sid == cl.sid
    assert trunk.credentials_lists(cl.sid).fetch().friendly_name == "users"
    assert [c.sid for c in trunk.credentials_lists.list()] == [cl.sid]
    assert trunk.ip_access_control_lists.create(ip_access_control_list_sid=acl.sid).sid == acl.sid
    assert trunk.ip_access_control_lists(acl.sid).fetch().friendly_name == "ips"
    assert [a.sid for a in trunk.ip_access_control_lists.list()] == [acl.sid]
    assert sorted(trunk.fetch().auth_type_set) == ["CREDENTIAL_LIST", "IP_ACL"]

    associated = trunk.phone_numbers.create(phone_number_sid=number.sid)
    assert (associated.sid, associated.trunk_sid) == (number.sid, trunk._solution["sid"])
    assert trunk.phone_numbers(number.sid).fetch().phone_number == number.phone_number
    assert [p.sid for p in trunk.phone_numbers.list()] == [number.sid]
    assert account.incoming_phone_numbers(number.sid).fetch().trunk_sid == trunk._solution["sid"]

    trunk.credentials_lists(cl.sid).delete()
    trunk.ip_access_control_lists(acl.sid).delete()
    trunk.phone_numbers(number.sid).delete()
    assert_gone(trunk.phone_numbers(number.sid).fetch)
    assert account.incoming_phone_numbers(number.sid).fetch().trunk_sid is None
    assert trunk.credentials_lists.list() == []


def test_byoc_trunk_crud(account: Any, client: Any) -> None:
    policy = client.voice.v1.connection_policies.create(friendly_name="carrier")
    domain = account.sip.domains.create(domain_name="byoc.sip.twilio.com")
    byoc = client.voice.v1.byoc_trunks
    trunk = byoc.create(
        friendly_name="carrier-a",
        voice_url="https://a.example/byoc",
        connection_policy_sid=policy.sid,
        from_domain_sid=domain.sid,
    )
    assert trunk.sid.startswith("BY")
    assert byoc(trunk.sid).fetch().connection_policy_sid == policy.sid
    assert [t.sid for t in byoc.list()] == [trunk.sid]
    updated = byoc(trunk.sid).update(cnam_lookup_enabled=True, from_domain_sid="")
    assert (updated.cnam_lookup_enabled, updated.from_domain_sid) == (True, None)
    byoc(trunk.sid).delete()
    assert_gone(byoc(trunk.sid).fetch)


def test_connection_policy_and_targets_crud(client: Any) -> None:
    policies = client.voice.v1.connection_policies
    policy = policies.create(friendly_name="carrier")
    assert policy.sid.startswith("NY")
    assert "targets" in policy.links
    assert policies(policy.sid).fetch().friendly_name == "carrier"
    assert [p.sid for p in policies.list()] == [policy.sid]
    assert policies(policy.sid).update(friendly_name="carrier-2").friendly_name == "carrier-2"
    targets = policies(policy.sid).targets
    target = targets.create(target="sip:sbc.example.com", friendly_name="sbc")
    assert target.sid.startswith("NE")
    assert (target.priority, target.weight, target.enabled) == (10, 10, True)
    assert targets(target.sid).fetch().target == "sip:sbc.example.com"
    assert [t.sid for t in targets.list()] == [target.sid]
    assert targets(target.sid).update(priority=1, weight=5).priority == 1
    targets(target.sid).delete()
    assert_gone(targets(target.sid).fetch)
    policies(policy.sid).delete()
    assert_gone(policies(policy.sid).fetch)


def test_ip_record_and_source_ip_mapping_crud(account: Any, client: Any) -> None:
    records = client.voice.v1.ip_records
    record = records.create(ip_address="198.51.100.7", friendly_name="sbc", cidr_prefix_length=32)
    assert record.sid.startswith("IL")
    assert records(record.sid).fetch().ip_address == "198.51.100.7"
    assert [r.sid for r in records.list()] == [record.sid]
    assert records(record.sid).update(friendly_name="sbc-2").friendly_name == "sbc-2"
    first = account.sip.domains.create(domain_name="one.sip.twilio.com")
    second = account.sip.domains.create(domain_name="two.sip.twilio.com")
    mappings = client.voice.v1.source_ip_mappings
    mapping = mappings.create(ip_record_sid=record.sid, sip_domain_sid=first.sid)
    assert mapping.sid.startswith("IB")
    assert mappings(mapping.sid).fetch().sip_domain_sid == first.sid
    assert [m.sid for m in mappings.list()] == [mapping.sid]
    assert mappings(mapping.sid).update(sip_domain_sid=second.sid).sip_domain_sid == second.sid
    mappings(mapping.sid).delete()
    assert_gone(mappings(mapping.sid).fetch)
    records(record.sid).delete()
    assert_gone(records(record.sid).fetch)


def test_routes_fetch_and_update_voice_region(account: Any, client: Any) -> None:
    number = account.incoming_phone_numbers.list(limit=1)[0]
    account.sip.domains.create(domain_name="region.sip.twilio.com")
    client.trunking.v1.trunks.create(domain_name="region.pstn.twilio.com")
    routes = client.routes.v2
    for resource in (
        routes.phone_numbers(number.phone_number),
        routes.sip_domains("region.sip.twilio.com"),
        routes.trunks("region.pstn.twilio.com"),
    ):
        fetched = resource.fetch()
        assert fetched.voice_region == "us1"
        assert fetched.sid.startswith("QQ")
        updated = resource.update(voice_region="ie1", friendly_name="eu")
        assert (updated.voice_region, updated.friendly_name) == ("ie1", "eu")
        assert resource.fetch().voice_region == "ie1"


def test_state_survives_restart(tmp_path: Any) -> None:
    from devtools.emulator_testing import running_emulator

    state = tmp_path / "state.json"
    with running_emulator(state_path=state) as first:
        sid = first.client().trunking.v1.trunks.create(friendly_name="kept").sid
    with running_emulator(state_path=state) as second:
        assert second.client().trunking.v1.trunks(sid).fetch().friendly_name == "kept"


def test_api_key_auth(emu: RunningEmulator) -> None:
    from devtools.emulator_testing import running_emulator

    key, secret = "SK" + "1" * 32, "key-secret"
    with running_emulator(api_keys={key: secret}) as keyed:
        client = keyed.client(username=key, password=secret)
        assert client.voice.v1.ip_records.list() == []
