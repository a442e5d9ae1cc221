"""Every kind through its whole life against the emulator, over real HTTP.

create; read equals outputs; re-diff reports no change; update; removing an optional field
clears it on the emulator; an out-of-band (Console) edit is seen by read; delete twice is fine;
an out-of-band delete makes read return an empty id.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator
from infra.resources.base import TwilioProvider
from infra.resources.kind import PROVIDER_KEY

PASSWORD = "Str0ngPassw0rd!"
NEW_PASSWORD = "An0therPassw0rd"
_counter = itertools.count()


class Parents:
    """Builds the parent resources a kind needs, through the SDK (independent of providers)."""

    def __init__(self, client: Any, emu: RunningEmulator) -> None:
        self.client = client
        self.account = client.api.v2010.accounts(emu.account_sid)

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}{next(_counter)}"

    def domain(self) -> Any:
        return self.account.sip.domains.create(domain_name=f"{self.unique('d')}.sip.twilio.com")

    def credential_list(self) -> str:
        return str(self.account.sip.credential_lists.create(friendly_name=self.unique("cl")).sid)

    def ip_acl(self) -> str:
        acl = self.account.sip.ip_access_control_lists.create(friendly_name=self.unique("acl"))
        return str(acl.sid)

    def trunk(self) -> str:
        trunk = self.client.trunking.v1.trunks.create(
            friendly_name=self.unique("t"), domain_name=f"{self.unique('t')}.pstn.twilio.com"
        )
        return str(trunk.sid)

    def policy(self) -> str:
        return str(
            self.client.voice.v1.connection_policies.create(friendly_name=self.unique("p")).sid
        )

    def ip_record(self) -> str:
        return str(self.client.voice.v1.ip_records.create(ip_address="198.51.100.7").sid)

    def domain_sid(self, domain_name: str) -> str:
        return str(
            next(d.sid for d in self.account.sip.domains.list() if d.domain_name == domain_name)
        )

    def number_sid(self, e164: str) -> str:
        return str(self.account.incoming_phone_numbers.list(phone_number=e164)[0].sid)


@dataclass
class Scenario:
    kind: str
    admin_kind: str
    build: Callable[[Parents], dict[str, Any]]
    update: Callable[[Parents], dict[str, Any]] = lambda _: {}
    clear: str | None = None
    edit: tuple[str, Any] | None = None
    # How to remove it out of band (default: admin delete of the resource itself).
    gone: Callable[[RunningEmulator, Parents, dict[str, Any]], None] | None = None
    admin_key: str = "sid"  # the output the admin API knows the record by
    deletes: bool = True  # False: destroy resets config instead of removing the resource
    extra: dict[str, Any] = field(default_factory=dict)


def _mapping(kind: str, admin: str, parent: str, mapped: str) -> Scenario:
    makers = {"domain_sid": lambda p: p.domain().sid, "trunk_sid": Parents.trunk}
    lists = {
        "credential_list_sid": Parents.credential_list,
        "ip_access_control_list_sid": Parents.ip_acl,
    }
    return Scenario(
        kind,
        admin,
        lambda p: {parent: makers[parent](p), mapped: lists[mapped](p)},
        edit=("friendly_name", "renamed in console"),
    )


SCENARIOS = [
    Scenario(
        "IncomingPhoneNumber",
        "incoming_phone_number",
        lambda p: {
            "phone_number": "+14155550101",
            "voice_url": "https://a.example/voice",
            "status_callback": "https://a.example/status",
        },
        update=lambda p: {"voice_url": "https://b.example/voice", "voice_caller_id_lookup": True},
        clear="status_callback",
        edit=("voice_url", "https://console.example/voice"),
        deletes=False,
    ),
    Scenario(
        "Application",
        "application",
        lambda p: {
            "friendly_name": p.unique("app"),
            "voice_url": "https://a.example/voice",
            "voice_fallback_url": "https://a.example/fallback",
        },
        update=lambda p: {"voice_url": "https://b.example/voice"},
        clear="voice_fallback_url",
        edit=("voice_url", "https://console.example/voice"),
    ),
    Scenario(
        "SipDomain",
        "sip_domain",
        lambda p: {
            "domain_name": f"{p.unique('acme')}.sip.twilio.com",
            "voice_url": "https://a.example/sip",
            "voice_fallback_url": "https://a.example/fallback",
        },
        update=lambda p: {"sip_registration": True, "secure": True},
        clear="voice_fallback_url",
        edit=("voice_url", "https://console.example/sip"),
    ),
    Scenario(
        "CredentialList",
        "sip_credential_list",
        lambda p: {"friendly_name": p.unique("users")},
        update=lambda p: {"friendly_name": p.unique("renamed")},
        edit=("friendly_name", "console name"),
    ),
    Scenario(
        "Credential",
        "sip_credential",
        lambda p: {
            "credential_list_sid": p.credential_list(),
            "username": "alice",
            "password": PASSWORD,
        },
        update=lambda p: {"password": NEW_PASSWORD},
    ),
    Scenario(
        "IpAccessControlList",
        "sip_ip_access_control_list",
        lambda p: {"friendly_name": p.unique("office")},
        update=lambda p: {"friendly_name": p.unique("office")},
        edit=("friendly_name", "console name"),
    ),
    Scenario(
        "IpAddress",
        "sip_ip_address",
        lambda p: {
            "ip_access_control_list_sid": p.ip_acl(),
            "friendly_name": "hq",
            "ip_address": "203.0.113.10",
        },
        update=lambda p: {"friendly_name": "head office", "cidr_prefix_length": 31.0},
        edit=("friendly_name", "console name"),
    ),
    _mapping(
        "SipDomainCallsCredentialListMapping",
        "auth_calls_credential_list_mapping",
        "domain_sid",
        "credential_list_sid",
    ),
    _mapping(
        "SipDomainCallsIpAccessControlListMapping",
        "auth_calls_ip_access_control_list_mapping",
        "domain_sid",
        "ip_access_control_list_sid",
    ),
    _mapping(
        "SipDomainRegistrationsCredentialListMapping",
        "auth_registrations_credential_list_mapping",
        "domain_sid",
        "credential_list_sid",
    ),
    Scenario(
        "Trunk",
        "trunk",
        lambda p: {
            "domain_name": f"{p.unique('pbx')}.pstn.twilio.com",
            "friendly_name": "pbx",
            "disaster_recovery_url": "https://a.example/dr",
            "recording_mode": "record-from-answer-dual",
            "recording_trim": "trim-silence",
        },
        update=lambda p: {"recording_mode": "record-from-ringing", "secure": True},
        clear="disaster_recovery_url",
        edit=("transfer_mode", "enable-all"),
    ),
    Scenario(
        "OriginationUrl",
        "origination_url",
        lambda p: {
            "trunk_sid": p.trunk(),
            "friendly_name": "primary",
            "sip_url": "sip:pbx1.example.com:5061;transport=tls",
        },
        update=lambda p: {"weight": 20.0, "priority": 5.0},
        edit=("priority", 1),
    ),
    _mapping("TrunkCredentialList", "trunk_credential_list", "trunk_sid", "credential_list_sid"),
    _mapping(
        "TrunkIpAccessControlList",
        "trunk_ip_access_control_list",
        "trunk_sid",
        "ip_access_control_list_sid",
    ),
    Scenario(
        "TrunkPhoneNumber",
        "trunk_phone_number",
        lambda p: {"trunk_sid": p.trunk(), "phone_number_sid": p.number_sid("+14155550102")},
        # The association is the number's trunk_sid: a Console edit clearing it removes it.
        gone=lambda emu, p, outs: emu.admin.edit(
            "incoming_phone_number", outs["phone_number_sid"], trunk_sid=None
        ),
    ),
    Scenario(
        "ByocTrunk",
        "byoc_trunk",
        lambda p: {
            "friendly_name": p.unique("carrier"),
            "voice_url": "https://a.example/byoc",
            "connection_policy_sid": p.policy(),
        },
        update=lambda p: {"cnam_lookup_enabled": True},
        clear="connection_policy_sid",
        edit=("voice_url", "https://console.example/byoc"),
    ),
    Scenario(
        "ConnectionPolicy",
        "connection_policy",
        lambda p: {"friendly_name": p.unique("policy")},
        update=lambda p: {"friendly_name": p.unique("policy")},
        edit=("friendly_name", "console name"),
    ),
    Scenario(
        "ConnectionPolicyTarget",
        "connection_policy_target",
        lambda p: {
            "connection_policy_sid": p.policy(),
            "target": "sip:sbc1.carrier.example.com",
            "friendly_name": "sbc-1",
        },
        update=lambda p: {"enabled": False, "weight": 50.0},
        edit=("priority", 1),
    ),
    Scenario(
        "IpRecord",
        "ip_record",
        lambda p: {"ip_address": "198.51.100.10", "friendly_name": "sbc"},
        update=lambda p: {"friendly_name": "sbc-1"},
        edit=("friendly_name", "console name"),
    ),
    Scenario(
        "SourceIpMapping",
        "source_ip_mapping",
        lambda p: {"ip_record_sid": p.ip_record(), "sip_domain_sid": p.domain().sid},
        update=lambda p: {"sip_domain_sid": p.domain().sid},
    ),
    Scenario(
        "InboundProcessingRegion",
        "route_sip_domain",
        lambda p: {"sip_domain": p.domain().domain_name, "voice_region": "ie1"},
        update=lambda p: {"voice_region": "au1"},
        edit=("voice_region", "jp1"),
        admin_key="sip_domain",
        gone=lambda emu, p, outs: emu.admin.delete("sip_domain", p.domain_sid(outs["sip_domain"])),
        deletes=False,
    ),
]


def _checked(provider: TwilioProvider[Any], props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, {**props, PROVIDER_KEY: "blob"})
    assert result.failures == []
    return dict(result.inputs)


def _admin_record(emu: RunningEmulator, kind: str, sid: str) -> dict[str, Any]:
    record: dict[str, Any] = emu.admin.request("GET", f"/resources/{kind}/{sid}")
    return record


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.kind for s in SCENARIOS])
def test_lifecycle(
    scenario: Scenario,
    emu: RunningEmulator,
    client: Any,
    provider: Callable[[str], TwilioProvider[Any]],
) -> None:
    parents = Parents(client, emu)
    p = provider(scenario.kind)
    props = scenario.build(parents)
    checked = _checked(p, props)

    created = p.create(checked)
    assert created.id
    outs = dict(created.outs or {})
    for name in p.kind.input_names:
        if name in p.kind.write_only or name not in checked:
            continue
        assert outs[name] == checked[name], name  # outputs are a superset of the inputs
    assert "password" not in outs
    assert PASSWORD not in json.dumps(outs)

    read = p.read(created.id, {**outs, PROVIDER_KEY: "blob"})
    assert read.id == created.id
    assert read.outs == outs
    assert p.diff(created.id, outs, checked).changes is False

    changes = scenario.update(parents)
    if changes:
        news = _checked(p, {**props, **changes})
        diff = p.diff(created.id, outs, news)
        assert diff.changes is True
        assert not diff.replaces
        updated = p.update(created.id, outs, news)
        outs = dict(updated.outs or {})
        assert set(outs) == set(created.outs or {})  # complete outputs, not a partial set
        for name, value in changes.items():
            if name not in p.kind.write_only:
                assert outs[name] == value, name
        assert p.diff(created.id, outs, news).changes is False
        props = {**props, **changes}

    if scenario.clear:
        props = {k: v for k, v in props.items() if k != scenario.clear}
        news = _checked(p, props)
        assert p.diff(created.id, outs, news).changes is True
        outs = dict(p.update(created.id, outs, news).outs or {})
        assert outs[scenario.clear] is None
        live = _admin_record(emu, scenario.admin_kind, outs[scenario.admin_key])
        assert live[scenario.clear] in (None, "")
        assert p.diff(created.id, outs, news).changes is False

    if scenario.edit:
        name, value = scenario.edit
        emu.admin.edit(scenario.admin_kind, outs[scenario.admin_key], **{name: value})
        refreshed = p.read(created.id, outs)
        assert refreshed.outs is not None
        assert refreshed.outs[name] == value
        if name in p.kind.input_names:
            assert p.diff(created.id, refreshed.outs, _checked(p, props)).changes is True
            assert refreshed.inputs is not None
            assert refreshed.inputs[name] == value

    p.delete(created.id, outs)
    p.delete(created.id, outs)  # already gone (or already reset): still fine
    if scenario.deletes:
        assert p.read(created.id, outs).id == ""

    # Out-of-band delete: recreate, remove it behind the provider's back, refresh.
    again = p.create(_checked(p, props))
    again_outs = dict(again.outs or {})
    if scenario.gone is None:
        emu.admin.delete(scenario.admin_kind, again_outs["sid"])
    else:
        scenario.gone(emu, parents, again_outs)
    gone = p.read(again.id, again_outs)
    assert gone.id == ""
    p.delete(again.id, again_outs)
