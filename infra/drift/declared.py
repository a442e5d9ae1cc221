"""The spec as drift items: what `pulumi up` would make the account look like.

Field names are Twilio's response fields; webhook URLs and methods come from `infra.urls`, the
same source the Pulumi program uses. References are held as the referenced resource's key
(`voice_application: "Support IVR"`), which `collect` also produces from live SIDs.
"""

from __future__ import annotations

from infra.drift.model import Item, Value
from infra.spec import models as spec
from infra.urls import Webhook, optional_webhook


def _hook(prefix: str, hook: Webhook | None, url_field: str | None = None) -> dict[str, Value]:
    """`{<prefix>_url: ..., <prefix>_method: ...}`; a missing hook declares a cleared URL."""
    fields: dict[str, Value] = {url_field or f"{prefix}_url": hook.url if hook else None}
    if hook is not None:  # the method only matters (and is only sent) with a URL
        fields[f"{prefix}_method"] = hook.method
    return fields


def _voice(
    base: str, res: spec.PhoneNumber | spec.Application | spec.SipDomain | spec.ByocTrunk
) -> dict[str, Value]:
    return {
        **_hook("voice", optional_webhook(base, res.flow)),
        **_hook("voice_fallback", optional_webhook(base, res.fallback_flow)),
    }


def application_key(app: spec.Application) -> str:
    return app.friendly_name or app.name


def declared_items(env: spec.Environment) -> list[Item]:
    """Every resource and association the spec declares, as comparable items."""
    base = env.public_base_url
    items: list[Item] = []
    apps = {a.name: application_key(a) for a in env.applications}
    clists = {c.name: c.friendly_name or c.name for c in env.credential_lists}
    acls = {a.name: a.friendly_name or a.name for a in env.ip_access_control_lists}
    domains = {d.name: d.domain_name for d in env.sip_domains}
    trunks = {t.name: t.domain_name for t in env.trunks}
    byocs = {b.name: b.friendly_name or b.name for b in env.byoc_trunks}
    policies = {p.name: p.friendly_name or p.name for p in env.connection_policies}
    records = {r.name: r.friendly_name or r.name for r in env.ip_records}

    for number in env.numbers:
        fields: dict[str, Value] = {
            **_voice(base, number),
            **_hook(
                "status_callback",
                optional_webhook(base, number.status_callback_flow),
                "status_callback",
            ),
            "voice_application": apps[number.application] if number.application else None,
        }
        if number.friendly_name is not None:  # unset: the provider leaves Twilio's name alone
            fields["friendly_name"] = number.friendly_name
        items.append(Item("IncomingPhoneNumber", number.e164, fields))
        if number.trunk:
            trunk_key = trunks[number.trunk]
            items.append(
                Item("TrunkPhoneNumber", f"{trunk_key}/{number.e164}", parent=("Trunk", trunk_key))
            )

    for app in env.applications:
        items.append(
            Item(
                "Application",
                apps[app.name],
                {
                    **_voice(base, app),
                    **_hook(
                        "status_callback",
                        optional_webhook(base, app.status_callback_flow),
                        "status_callback",
                    ),
                },
            )
        )

    for domain in env.sip_domains:
        key = domain.domain_name
        items.append(
            Item(
                "SipDomain",
                key,
                {
                    "friendly_name": domain.friendly_name or domain.name,
                    **_voice(base, domain),
                    **_hook(
                        "voice_status_callback",
                        optional_webhook(base, domain.status_callback_flow),
                    ),
                    "sip_registration": domain.sip_registration,
                    "secure": domain.secure,
                    "emergency_calling_enabled": domain.emergency_calling_enabled,
                    "byoc_trunk": byocs[domain.byoc_trunk] if domain.byoc_trunk else None,
                },
            )
        )
        parent = ("SipDomain", key)
        mapped = (
            ("SipDomainCallsCredentialListMapping", domain.auth.calls.credential_lists, clists),
            (
                "SipDomainCallsIpAccessControlListMapping",
                domain.auth.calls.ip_access_control_lists,
                acls,
            ),
            (
                "SipDomainRegistrationsCredentialListMapping",
                domain.auth.registrations.credential_lists,
                clists,
            ),
        )
        for kind, names, keys in mapped:
            items.extend(Item(kind, f"{key}/{keys[n]}", parent=parent) for n in names)

    for clist in env.credential_lists:
        key = clists[clist.name]
        items.append(Item("CredentialList", key))
        items.extend(
            Item("Credential", f"{key}/{c.username}", parent=("CredentialList", key))
            for c in clist.credentials
        )

    for acl in env.ip_access_control_lists:
        key = acls[acl.name]
        items.append(Item("IpAccessControlList", key))
        items.extend(
            Item(
                "IpAddress",
                f"{key}/{ip.name}",
                {"ip_address": ip.ip_address, "cidr_prefix_length": ip.cidr_prefix_length},
                parent=("IpAccessControlList", key),
            )
            for ip in acl.ip_addresses
        )

    for trunk in env.trunks:
        key = trunk.domain_name
        items.append(
            Item(
                "Trunk",
                key,
                {
                    "friendly_name": trunk.friendly_name or trunk.name,
                    "secure": trunk.secure,
                    "cnam_lookup_enabled": trunk.cnam_lookup_enabled,
                    "transfer_mode": trunk.transfer_mode,
                    "transfer_caller_id": trunk.transfer_caller_id,
                    **_hook(
                        "disaster_recovery", optional_webhook(base, trunk.disaster_recovery_flow)
                    ),
                    "recording_mode": trunk.recording.mode,
                    "recording_trim": trunk.recording.trim,
                },
            )
        )
        parent = ("Trunk", key)
        items.extend(
            Item(
                "OriginationUrl",
                f"{key}/{url.name}",
                {
                    "sip_url": url.sip_url,
                    "priority": url.priority,
                    "weight": url.weight,
                    "enabled": url.enabled,
                },
                parent=parent,
            )
            for url in trunk.origination_urls
        )
        items.extend(
            Item("TrunkCredentialList", f"{key}/{clists[n]}", parent=parent)
            for n in trunk.termination.credential_lists
        )
        items.extend(
            Item("TrunkIpAccessControlList", f"{key}/{acls[n]}", parent=parent)
            for n in trunk.termination.ip_access_control_lists
        )

    for byoc in env.byoc_trunks:
        items.append(
            Item(
                "ByocTrunk",
                byocs[byoc.name],
                {
                    **_voice(base, byoc),
                    **_hook("status_callback", optional_webhook(base, byoc.status_callback_flow)),
                    "cnam_lookup_enabled": byoc.cnam_lookup_enabled,
                    "connection_policy": policies[byoc.connection_policy]
                    if byoc.connection_policy
                    else None,
                    "from_domain": domains[byoc.from_domain] if byoc.from_domain else None,
                },
            )
        )

    for policy in env.connection_policies:
        key = policies[policy.name]
        items.append(Item("ConnectionPolicy", key))
        items.extend(
            Item(
                "ConnectionPolicyTarget",
                f"{key}/{t.name}",
                {
                    "target": t.target,
                    "priority": t.priority,
                    "weight": t.weight,
                    "enabled": t.enabled,
                },
                parent=("ConnectionPolicy", key),
            )
            for t in policy.targets
        )

    for record in env.ip_records:
        items.append(
            Item(
                "IpRecord",
                records[record.name],
                {"ip_address": record.ip_address, "cidr_prefix_length": record.cidr_prefix_length},
            )
        )
    for mapping in env.source_ip_mappings:
        record_key = records[mapping.ip_record]
        items.append(
            Item(
                "SourceIpMapping",
                f"{record_key}/{domains[mapping.sip_domain]}",
                parent=("IpRecord", record_key),
            )
        )
    return items
