"""What drift knows about each kind: label, how to fix an unmanaged one, what it cannot compare.

Kind names are the Pulumi resource type names of infra.resources (`pulumi-python:dynamic/
twilio:<Kind>`), so a report line points at the same thing `pulumi preview` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.drift.model import NotCompared
from infra.resources import PROVIDERS
from infra.resources.base import Kind, normalise_fields


@dataclass(frozen=True)
class KindInfo:
    kind: str
    label: str
    spec_path: str  # where to declare one (for the adopt hint)
    association: bool = False  # compared as a set of keys, no fields
    unmanaged_fails: bool = True  # numbers: the account may own numbers no stack declares


KINDS: tuple[KindInfo, ...] = (
    KindInfo("IncomingPhoneNumber", "phone number", "numbers[]", unmanaged_fails=False),
    KindInfo("Application", "TwiML application", "applications[]"),
    KindInfo("SipDomain", "SIP domain", "sip_domains[]"),
    KindInfo(
        "SipDomainCallsCredentialListMapping",
        "SIP domain calls credential list mapping",
        "sip_domains[].auth.calls.credential_lists",
        association=True,
    ),
    KindInfo(
        "SipDomainCallsIpAccessControlListMapping",
        "SIP domain calls IP ACL mapping",
        "sip_domains[].auth.calls.ip_access_control_lists",
        association=True,
    ),
    KindInfo(
        "SipDomainRegistrationsCredentialListMapping",
        "SIP domain registrations credential list mapping",
        "sip_domains[].auth.registrations.credential_lists",
        association=True,
    ),
    KindInfo("CredentialList", "credential list", "credential_lists[]"),
    KindInfo("Credential", "SIP credential", "credential_lists[].credentials[]"),
    KindInfo("IpAccessControlList", "IP access control list", "ip_access_control_lists[]"),
    KindInfo("IpAddress", "IP ACL entry", "ip_access_control_lists[].ip_addresses[]"),
    KindInfo("Trunk", "Elastic SIP trunk", "trunks[]"),
    KindInfo("OriginationUrl", "origination URL", "trunks[].origination_urls[]"),
    KindInfo(
        "TrunkCredentialList",
        "trunk termination credential list",
        "trunks[].termination.credential_lists",
        association=True,
    ),
    KindInfo(
        "TrunkIpAccessControlList",
        "trunk termination IP ACL",
        "trunks[].termination.ip_access_control_lists",
        association=True,
    ),
    KindInfo("TrunkPhoneNumber", "trunk phone number", "numbers[].trunk", association=True),
    KindInfo("ByocTrunk", "BYOC trunk", "byoc_trunks[]"),
    KindInfo("ConnectionPolicy", "connection policy", "connection_policies[]"),
    KindInfo(
        "ConnectionPolicyTarget", "connection policy target", "connection_policies[].targets[]"
    ),
    KindInfo("IpRecord", "IP record", "ip_records[]"),
    KindInfo("SourceIpMapping", "source IP mapping", "source_ip_mappings[]", association=True),
)
KIND_INFO: dict[str, KindInfo] = {k.kind: k for k in KINDS}
KIND_ORDER: dict[str, int] = {k.kind: i for i, k in enumerate(KINDS)}

# Said in every report, so "no drift" never overstates what was checked.
NOT_COMPARED: tuple[NotCompared, ...] = (
    NotCompared(
        "Credential",
        "password",
        "write-only: Twilio never returns it (compared by fingerprint in state by "
        "`pulumi refresh`, not here)",
    ),
    NotCompared(
        "InboundProcessingRegion",
        "voice_region",
        "routes v2 has no list endpoint; one fetch per resource would make calls grow with "
        "resources (`pulumi refresh` reads it)",
    ),
)


_OTHER_LABELS = {"InboundProcessingRegion": "inbound processing region"}


def label(kind: str) -> str:
    info = KIND_INFO.get(kind)
    return info.label if info else _OTHER_LABELS.get(kind, kind)


def unmanaged_hint(kind: str, key: str, sid: str | None) -> str:
    """How to resolve an unmanaged resource: declare (adopt) it or delete it."""
    info = KIND_INFO.get(kind)
    where = info.spec_path if info else "the spec"
    ident = sid or key
    if kind == "IncomingPhoneNumber":
        return (
            f"adopt: add {key} to {where} (it is configured, never bought); or leave it to "
            "another stack / release it in the Console"
        )
    if info and info.association:
        return f"adopt: declare it in {where}; or remove the association ({ident}) in Twilio"
    return f"adopt: declare it in {where}; or delete {ident} in Twilio"


# --- what "declared" means, shared with the providers (infra.resources) -----------------------

# Fields naming the parent resource: implied by matching under the parent, never compared.
PARENT_FIELDS: dict[str, str] = {
    "Credential": "credential_list_sid",
    "IpAddress": "ip_access_control_list_sid",
    "OriginationUrl": "trunk_sid",
    "ConnectionPolicyTarget": "connection_policy_sid",
}
# Fields holding the SID of another resource: drift holds them as that resource's key.
REF_FIELDS: dict[str, tuple[str, ...]] = {
    "IncomingPhoneNumber": ("voice_application_sid", "trunk_sid"),
    "SipDomain": ("byoc_trunk_sid", "emergency_caller_sid"),
    "ByocTrunk": ("connection_policy_sid", "from_domain_sid"),
}


def provider_kind(kind: str) -> Kind[Any] | None:
    """The provider's declarative table for `kind` (field modes, defaults, normaliser)."""
    provider = PROVIDERS.get(kind)
    return provider.kind if provider is not None else None


def compared_fields(kind: str) -> tuple[str, ...]:
    """Fields drift compares: what the provider diffs and Twilio returns, minus the parent."""
    table = provider_kind(kind)
    if table is None or KIND_INFO.get(kind, KindInfo(kind, kind, "")).association:
        return ()
    return tuple(
        f.name
        for f in table.fields
        if f.output and f.mode not in ("local", "write_only") and f.name != PARENT_FIELDS.get(kind)
    )


def normalise_live(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A live record as the provider's `read` sees it (its normaliser), compared fields only."""
    table = provider_kind(kind)
    if table is None:
        return {}
    outs = table.normaliser(record) if table.normaliser else normalise_fields(record, table.fields)
    names = compared_fields(kind)
    return {k: v for k, v in outs.items() if k in names}
