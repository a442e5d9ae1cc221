"""Drift's idea of "declared" is the Pulumi program's: same kinds, keys and props per stack.

The program runs under mocks (tests/program_mocks.py, shared with the program and policy tests);
every registered resource's inputs, with SIDs of other resources turned into their keys, must
equal drift's declared item.
"""

from __future__ import annotations

from typing import Any

import pytest
from program_mocks import ROOT, kind_sid, run_program
from pulumi.runtime import rpc

from infra.drift.declared import declared_items
from infra.drift.kinds import KIND_INFO, PARENT_FIELDS
from infra.kinds import KIND_META
from infra.spec import load_stack_file

NOT_PROPS = {"__provider", "expected_account_sid", "release_on_destroy", "password"}
TOP_KEY = {
    "IncomingPhoneNumber": "phone_number",
    "SipDomain": "domain_name",
    "Trunk": "domain_name",
}
CHILD_KEY = {
    "Credential": ("credential_list_sid", "username"),
    "IpAddress": ("ip_access_control_list_sid", "ip_address"),
    "OriginationUrl": ("trunk_sid", "sip_url"),
    "ConnectionPolicyTarget": ("connection_policy_sid", "target"),
}
ASSOC_KEY = {
    "SipDomainCallsCredentialListMapping": ("domain_sid", "credential_list_sid"),
    "SipDomainCallsIpAccessControlListMapping": ("domain_sid", "ip_access_control_list_sid"),
    "SipDomainRegistrationsCredentialListMapping": ("domain_sid", "credential_list_sid"),
    "TrunkCredentialList": ("trunk_sid", "credential_list_sid"),
    "TrunkIpAccessControlList": ("trunk_sid", "ip_access_control_list_sid"),
    "SourceIpMapping": ("ip_record_sid", "sip_domain_sid"),
}


def _plain(value: Any) -> Any:
    """Unwrap secrets; the engine hands numbers over as floats."""
    value = rpc.unwrap_rpc_secret(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def program_view(stack: str) -> dict[tuple[str, str], dict[str, Any]]:
    records = [
        (r, {k: _plain(v) for k, v in rpc.deserialize_properties(r.struct).items()})
        for r in run_program(stack, sid=kind_sid).records
        # CallFlows lives in the state only (no Twilio resource, nothing for drift to list)
        if r.custom and r.kind != "InboundProcessingRegion" and not r.typ.endswith(":CallFlows")
    ]
    keys: dict[str, str] = {}  # mock SID -> drift key
    for r, props in records:
        if r.kind in TOP_KEY:
            keys[kind_sid(r.typ, r.name)] = props[TOP_KEY[r.kind]]
        elif r.kind == "IpRecord":
            keys[kind_sid(r.typ, r.name)] = KIND_META["IpRecord"].natural_key(props)
        elif r.kind not in CHILD_KEY and r.kind not in ASSOC_KEY:
            keys[kind_sid(r.typ, r.name)] = props["friendly_name"]
    view: dict[tuple[str, str], dict[str, Any]] = {}
    for r, props in records:
        props = {k: v for k, v in props.items() if k not in NOT_PROPS and v is not None}
        if r.kind in ASSOC_KEY:
            a, b = ASSOC_KEY[r.kind]
            view[(r.kind, f"{keys[props[a]]}/{keys[props[b]]}")] = {}
            continue
        if r.kind in CHILD_KEY:
            parent, field = CHILD_KEY[r.kind]
            key = f"{keys[props[parent]]}/{props[field]}"
        else:
            key = keys[kind_sid(r.typ, r.name)]
        props.pop(PARENT_FIELDS.get(r.kind, ""), None)
        view[(r.kind, key)] = {
            k: keys.get(v, v) if isinstance(v, str) else v for k, v in props.items()
        }
    return view


@pytest.mark.xdist_group("pulumi-mocks")
@pytest.mark.parametrize("stack", ["local", "dev", "prod"])
def test_declared_items_equal_program_inputs(stack: str) -> None:
    env = load_stack_file(ROOT, stack)
    drift = {
        (i.kind, i.key): {k: v for k, v in i.fields.items() if v is not None}
        for i in declared_items(env)
    }
    program = program_view(stack)
    assert sorted(drift) == sorted(program)
    for key, props in program.items():
        if not KIND_INFO[key[0]].association:
            assert drift[key] == props, key
