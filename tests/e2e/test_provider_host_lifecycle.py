"""Every resource of the `local` stack through Pulumi's own dynamic-provider host, per kind.

Phase 1 applies the stack with the real `pulumi up` and reads each resource's URN, id, inputs
and outputs back from `pulumi stack export --show-secrets`. Phase 2, per resource, makes the
engine's calls directly over gRPC: `Read` (= outputs), `Diff`
(no change), `Check`+`Diff`+`Update` of a field the kind allows to change in place, `Read` +
`Diff` after an out-of-band edit in the emulator's admin API (what `pulumi up --refresh` sees).
Phase 3 deletes in reverse creation order and `Read` must then return an empty id.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine_support import make_project, stack_numbers

from devtools.emulator_testing import RunningEmulator, running_emulator
from devtools.provider_host import PROVIDER_KEY, DynamicHost
from webhook_app.callflow.artifact import content_hash
from webhook_app.callflow.model import CallFlows

pytestmark = pytest.mark.engine
PROJECT = "twilio-voice"
STATE_ONLY = "CallFlows"


@dataclass(frozen=True)
class StepEvent:
    """One created resource as the engine recorded it."""

    urn: str
    id: str
    type: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


def short_type(typ: str) -> str:
    """`pulumi-python:dynamic/twilio:Trunk` -> `Trunk`."""
    return typ.rsplit(":", 1)[-1]


def plain(value: Any) -> Any:
    """A `--show-secrets` export keeps the secret envelope around plaintext: unwrap it."""
    if isinstance(value, dict):
        if "4dabf18193072939515e22adb298388d" in value and "plaintext" in value:
            return json.loads(value["plaintext"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# The in-place change the Update step makes, per kind: (input, new value).
UPDATES: dict[str, tuple[str, Any]] = {
    "Application": ("friendly_name", "lifecycle app v2"),
    "ByocTrunk": ("friendly_name", "lifecycle byoc v2"),
    "ConnectionPolicy": ("friendly_name", "lifecycle policy v2"),
    "ConnectionPolicyTarget": ("priority", 20),
    "Credential": ("password", "Rotated2024Passw0rd"),  # write-only: seen as a new fingerprint
    "CredentialList": ("friendly_name", "lifecycle users v2"),
    "InboundProcessingRegion": ("voice_region", "ie1"),
    "IncomingPhoneNumber": ("friendly_name", "lifecycle number v2"),
    "IpAccessControlList": ("friendly_name", "lifecycle acl v2"),
    "IpAddress": ("friendly_name", "lifecycle ip v2"),
    "IpRecord": ("friendly_name", "lifecycle record v2"),
    "OriginationUrl": ("weight", 30),
    "SipDomain": ("friendly_name", "lifecycle domain v2"),
    "Trunk": ("friendly_name", "lifecycle trunk v2"),
}
# Kinds that are pure associations: nothing changes in place; a changed reference replaces.
ASSOCIATIONS = {
    "SipDomainCallsCredentialListMapping": "credential_list_sid",
    "SipDomainCallsIpAccessControlListMapping": "ip_access_control_list_sid",
    "SipDomainRegistrationsCredentialListMapping": "credential_list_sid",
    "TrunkCredentialList": "credential_list_sid",
    "SourceIpMapping": "ip_record_sid",
}
# The out-of-band edit (emulator kind, field, value); None: deleted out of band instead.
OUT_OF_BAND: dict[str, tuple[str, str, Any] | None] = {
    "Application": ("application", "friendly_name", "edited in console"),
    "ByocTrunk": ("byoc_trunk", "friendly_name", "edited in console"),
    "ConnectionPolicy": ("connection_policy", "friendly_name", "edited in console"),
    "ConnectionPolicyTarget": ("connection_policy_target", "priority", 99),
    "Credential": None,  # its only mutable field is the write-only password
    "CredentialList": ("sip_credential_list", "friendly_name", "edited in console"),
    "IncomingPhoneNumber": ("incoming_phone_number", "friendly_name", "edited in console"),
    "IpAccessControlList": ("sip_ip_access_control_list", "friendly_name", "edited in console"),
    "IpAddress": ("sip_ip_address", "friendly_name", "edited in console"),
    "IpRecord": ("ip_record", "friendly_name", "edited in console"),
    "OriginationUrl": ("origination_url", "weight", 77),
    "SipDomain": ("sip_domain", "friendly_name", "edited in console"),
    "Trunk": ("trunk", "friendly_name", "edited in console"),
    "SipDomainCallsCredentialListMapping": None,
    "SipDomainCallsIpAccessControlListMapping": None,
    "SipDomainRegistrationsCredentialListMapping": None,
    "TrunkCredentialList": None,
    "SourceIpMapping": None,
}
RESET_FIELDS = ("voice_url", "voice_fallback_url", "voice_application_sid", "trunk_sid")
ROUTE_KINDS = {
    "phone_number": "route_phone_number",
    "sip_domain": "route_sip_domain",
    "sip_trunk_domain": "route_trunk",
}


def public(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def emulator_target(kind: str, event: StepEvent) -> tuple[str, str]:
    """(admin kind, admin sid) of a created resource."""
    if kind == "InboundProcessingRegion":
        field = next(f for f in ROUTE_KINDS if event.inputs.get(f))
        return ROUTE_KINDS[field], str(event.inputs[field])
    entry = OUT_OF_BAND[kind]
    assert entry is not None
    return entry[0], event.id


def out_of_band(kind: str, event: StepEvent) -> tuple[str, str, Any] | None:
    if kind == "InboundProcessingRegion":
        admin_kind, _ = emulator_target(kind, event)
        return admin_kind, "voice_region", "au1"
    return OUT_OF_BAND[kind]


def test_every_local_resource_through_the_host(tmp_path: Path) -> None:
    with running_emulator(numbers=stack_numbers("local")) as emu:
        project = make_project(tmp_path, emu, "local")
        project.up()
        exported = json.loads(
            project.engine.run("stack", "export", "--show-secrets", "--stack", "local").stdout
        )
        created = [
            StepEvent(r["urn"], r["id"], r["type"], plain(r["inputs"]), plain(r["outputs"]))
            for r in exported["deployment"]["resources"]
            if r.get("custom") and r["type"].startswith("pulumi-python:dynamic/")
        ]
        # The stack's call flows are state only (no Twilio record): checked on their own.
        [flows] = [e for e in created if short_type(e.type) == STATE_ONLY]
        created = [e for e in created if short_type(e.type) != STATE_ONLY]
        kinds = Counter(short_type(e.type) for e in created)
        assert set(kinds) == set(UPDATES) | set(ASSOCIATIONS), kinds
        # What the engine sends the provider host in Configure: every key, values as strings.
        shown = json.loads(
            project.engine.run("config", "--json", "--show-secrets", "--stack", "local").stdout
        )
        config = {key: entry["value"] for key, entry in shown.items() if "value" in entry}

        problems: list[str] = []
        with DynamicHost(project.folder, PROJECT, "local", env=emu.env()) as host:
            host.configure(config, [])
            try:
                check_call_flows(host, flows)
            except AssertionError as exc:
                problems.append(f"{STATE_ONLY}: {exc}")
            for event in created:
                kind = short_type(event.type)
                try:
                    check_one(host, emu, kind, event)
                except AssertionError as exc:
                    problems.append(f"{kind} {event.urn.rsplit('::', 1)[-1]}: {exc}")
            for event in reversed(created):
                kind = short_type(event.type)
                outs = dict(event.outputs)
                host.delete(event.urn, event.id, outs, event.inputs)
                gone = host.read(event.urn, event.id, outs, event.inputs)
                if kind == "InboundProcessingRegion":
                    # routes cannot be deleted: destroy puts the default region back
                    admin_kind, sid = emulator_target(kind, event)
                    live = {r["sid"]: r for r in emu.admin.resources(admin_kind)}
                    if live[sid]["voice_region"] != "us1":
                        problems.append(f"{kind}: delete left region {live[sid]['voice_region']}")
                elif kind == "IncomingPhoneNumber":
                    # numbers are adopted, never released: Delete resets their voice config
                    record = next(
                        r
                        for r in emu.admin.resources("incoming_phone_number")
                        if r["sid"] == event.id
                    )
                    routed = {k: record[k] for k in RESET_FIELDS if record.get(k)}
                    if gone.id != event.id or routed:
                        problems.append(f"{kind}: after Delete id={gone.id!r}, still {routed}")
                elif gone.id != "":
                    problems.append(f"{kind}: Read after Delete returned id {gone.id!r}")
        print(f"\nlifecycle: {len(created)} resources, kinds: {dict(sorted(kinds.items()))}")
        assert problems == [], "\n".join(problems)


def check_call_flows(host: DynamicHost, event: StepEvent) -> None:
    """Read keeps the state, no-op Diff, a changed flow is an update (never a replace) with the
    new hash, Delete needs no account; none of it calls Twilio."""
    urn, id_, inputs, outs = event.urn, event.id, event.inputs, event.outputs
    read = host.read(urn, id_, outs, inputs)
    assert (read.id, public(read.outputs)) == (id_, public(outs)), "Read changed the state"
    assert host.diff(urn, id_, outs, inputs, inputs).changes is False, "Diff without change"
    data = CallFlows.model_validate(inputs["call_flows"]).model_dump(mode="json")
    data["flows"]["main"]["menus"]["main"]["prompt"] = "Press 1 for sales."
    changed = CallFlows.model_validate(data)
    new_hash = content_hash(changed, inputs.get("dial_countries"))
    wanted = {
        **inputs,
        "call_flows": changed.model_dump(mode="json", exclude_none=True),
        "hash": new_hash,
    }
    news, failures = host.check(urn, inputs, wanted)
    assert failures == [], f"Check of the changed flows failed: {failures}"
    diff = host.diff(urn, id_, outs, news, inputs)
    assert diff.changes is True, "a changed prompt is not a change"
    assert diff.replaces == (), f"a changed flow replaces: {diff.replaces}"
    outs_v2 = host.update(urn, id_, outs, news, inputs)
    assert outs_v2["hash"] == new_hash != outs["hash"], "Update kept the old hash"
    assert public(host.read(urn, id_, outs_v2, news).outputs) == public(outs_v2)
    host.delete(urn, id_, outs_v2, news)


def check_one(host: DynamicHost, emu: RunningEmulator, kind: str, event: StepEvent) -> None:
    urn, id_, inputs, outs = event.urn, event.id, event.inputs, event.outputs
    read = host.read(urn, id_, outs, inputs)
    assert read.id == id_, f"Read returned id {read.id!r}"
    assert public(read.outputs) == public(outs), "Read differs from Create outputs"
    same = host.diff(urn, id_, outs, inputs, inputs)
    assert same.changes is False, f"Diff without change reported {same}"

    if kind in ASSOCIATIONS:
        field = ASSOCIATIONS[kind]
        moved = {**inputs, field: str(inputs[field])[:2] + "0" * 32}
        diff = host.diff(urn, id_, outs, moved, inputs)
        assert diff.changes is True, f"changing {field} not reported"
        assert field in diff.replaces, f"changing {field} does not replace: {diff}"
    else:
        field, value = UPDATES[kind]
        news, failures = host.check(urn, inputs, {**inputs, field: value})
        assert failures == [], f"Check of the update failed: {failures}"
        diff = host.diff(urn, id_, outs, news, inputs)
        assert diff.changes is True, f"changing {field} not reported"
        assert diff.replaces == (), f"changing {field} replaces: {diff.replaces}"
        outs_v2 = host.update(urn, id_, outs, news, inputs)
        if field == "password":
            assert outs_v2["password_hash"] != outs["password_hash"], "fingerprint unchanged"
            assert value not in repr(outs_v2), "plaintext password in outputs"
        else:
            assert outs_v2[field] == value, f"Update returned {field}={outs_v2.get(field)!r}"
        reread = host.read(urn, id_, outs_v2, news)
        assert public(reread.outputs) == public(outs_v2), "Read after Update differs"
        assert host.diff(urn, id_, outs_v2, news, news).changes is False, "diff after update"
        inputs, outs = news, outs_v2

    edit = out_of_band(kind, event)
    if edit is None:
        admin_kind, sid = (
            OUT_OF_BAND_DELETE[kind](event) if kind in OUT_OF_BAND_DELETE else ("", id_)
        )
        emu.admin.delete(admin_kind, sid)
        gone = host.read(urn, id_, outs, inputs)
        assert gone.id == "", f"Read after out-of-band delete returned {gone.id!r}"
        return
    admin_kind, field, value = edit
    sid = emulator_target(kind, event)[1]
    emu.admin.edit(admin_kind, sid, **{field: value})
    refreshed = host.read(urn, id_, outs, inputs)
    assert refreshed.outputs.get(field) == value, f"Read missed the edit of {field}"
    drift = host.diff(urn, id_, refreshed.outputs, inputs, inputs)
    assert drift.changes is True, f"Diff after out-of-band edit of {field}: {drift}"


OUT_OF_BAND_DELETE = {
    "Credential": lambda e: ("sip_credential", e.id),
    "SipDomainCallsCredentialListMapping": lambda e: ("auth_calls_credential_list_mapping", e.id),
    "SipDomainCallsIpAccessControlListMapping": lambda e: (
        "auth_calls_ip_access_control_list_mapping",
        e.id,
    ),
    "SipDomainRegistrationsCredentialListMapping": lambda e: (
        "auth_registrations_credential_list_mapping",
        e.id,
    ),
    "TrunkCredentialList": lambda e: ("trunk_credential_list", e.id),
    "SourceIpMapping": lambda e: ("source_ip_mapping", e.id),
}
