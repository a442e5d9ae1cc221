"""What drift knows about each kind: how to fix an unmanaged one, what it cannot compare.

Labels, spec paths, report order and parent fields are those of the one kind table
(`infra.kinds`); kind names are the Pulumi type names (`pulumi-python:dynamic/twilio:<Kind>`),
so a report line points at the same thing `pulumi preview` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.drift.model import NotCompared
from infra.kinds import KIND_META, KINDS, KindMeta
from infra.resources import PROVIDERS
from infra.resources.kind import Kind

# Report order and labels come from the one kind table (infra.kinds).
KIND_INFO: dict[str, KindMeta] = KIND_META
KIND_ORDER: dict[str, int] = {k.name: i for i, k in enumerate(KINDS)}

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


def label(kind: str) -> str:
    info = KIND_META.get(kind)
    return info.label if info else kind


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
    if kind == "DialingPermissionsCountry":
        return (
            f"declare it in {where} with the risk classes it needs; or switch {key} off in the "
            "Console (Voice > Settings > Geo permissions); `pulumi up --refresh` switches it off"
        )
    if info and info.association:
        return f"adopt: declare it in {where}; or remove the association ({ident}) in Twilio"
    return f"adopt: declare it in {where}; or delete {ident} in Twilio"


# --- what "declared" means, shared with the providers (infra.resources) -----------------------

# Fields naming the parent resource: implied by matching under the parent, never compared.
PARENT_FIELDS: dict[str, str] = {k.name: k.parent_field for k in KINDS if k.parent_field}
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
    info = KIND_META.get(kind)
    if table is None or (info is not None and info.association):
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
    outs = table.normalise(record)
    names = compared_fields(kind)
    return {k: v for k, v in outs.items() if k in names}
