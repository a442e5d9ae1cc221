"""The spec as drift items: the same props the Pulumi program passes to each provider.

Field names and values are those of `infra.environment.VoiceEnvironment` (webhook URLs and
methods from `infra.urls`), so drift and `pulumi up` compare the same things with the providers'
rules. The one difference: a reference to another resource holds that resource's key
(`voice_application_sid: "Support IVR"`) instead of its SID, which drift does not know until it
lists the account; `collect` turns live SIDs into the same keys. Keys are the providers'
adoption keys (`KIND.key`), prefixed by the parent's key for child resources.
"""

from __future__ import annotations

from typing import Any

from infra import props
from infra.drift.model import Item
from infra.spec import models as spec


def ip_record_key(ip_address: str, cidr_prefix_length: int) -> str:
    return f"{ip_address}/{cidr_prefix_length}"


def declared_items(env: spec.Environment) -> list[Item]:
    """Every resource and association the spec declares, as comparable items."""
    base = env.public_base_url
    items: list[Item] = []

    def add(kind: str, key: str, fields: dict[str, Any] | None = None, parent: Any = None) -> None:
        items.append(Item(kind, key, fields or {}, parent=parent))

    apps = {a.name: a.friendly_name or a.name for a in env.applications}
    clists = {c.name: c.friendly_name or c.name for c in env.credential_lists}
    acls = {a.name: a.friendly_name or a.name for a in env.ip_access_control_lists}
    domains = {d.name: d.domain_name for d in env.sip_domains}
    trunks = {t.name: t.domain_name for t in env.trunks}
    byocs = {b.name: b.friendly_name or b.name for b in env.byoc_trunks}
    policies = {p.name: p.friendly_name or p.name for p in env.connection_policies}
    records = {r.name: ip_record_key(r.ip_address, r.cidr_prefix_length) for r in env.ip_records}

    for clist in env.credential_lists:
        key = clists[clist.name]
        add("CredentialList", key, props.credential_list_props(clist))
        for cred in clist.credentials:
            # password: write-only, Twilio never returns it (see kinds.NOT_COMPARED)
            add(
                "Credential",
                f"{key}/{cred.username}",
                {"username": cred.username},
                ("CredentialList", key),
            )

    for acl in env.ip_access_control_lists:
        key = acls[acl.name]
        add("IpAccessControlList", key, props.ip_access_control_list_props(acl))
        for ip in acl.ip_addresses:
            add(
                "IpAddress",
                f"{key}/{ip.ip_address}",
                props.ip_address_props(ip),
                ("IpAccessControlList", key),
            )

    for app in env.applications:
        add("Application", apps[app.name], props.application_props(base, app))

    for policy in env.connection_policies:
        key = policies[policy.name]
        add("ConnectionPolicy", key, props.connection_policy_props(policy))
        for target in policy.targets:
            add(
                "ConnectionPolicyTarget",
                f"{key}/{target.target}",
                props.connection_policy_target_props(target),
                ("ConnectionPolicy", key),
            )

    for domain in env.sip_domains:
        key = domain.domain_name
        add(
            "SipDomain",
            key,
            {
                **props.sip_domain_props(base, domain),
                "byoc_trunk_sid": byocs[domain.byoc_trunk] if domain.byoc_trunk else None,
            },
        )
        parent = ("SipDomain", key)
        auth = domain.auth
        for kind, names, keys in (
            ("SipDomainCallsCredentialListMapping", auth.calls.credential_lists, clists),
            ("SipDomainCallsIpAccessControlListMapping", auth.calls.ip_access_control_lists, acls),
            (
                "SipDomainRegistrationsCredentialListMapping",
                auth.registrations.credential_lists,
                clists,
            ),
        ):
            for name in names:
                add(kind, f"{key}/{keys[name]}", parent=parent)

    for byoc in env.byoc_trunks:
        key = byocs[byoc.name]
        add(
            "ByocTrunk",
            key,
            {
                **props.byoc_trunk_props(base, byoc),
                "connection_policy_sid": policies[byoc.connection_policy]
                if byoc.connection_policy
                else None,
                "from_domain_sid": domains[byoc.from_domain] if byoc.from_domain else None,
            },
        )

    for trunk in env.trunks:
        key = trunk.domain_name
        add(
            "Trunk",
            key,
            props.trunk_props(base, trunk),
        )
        parent = ("Trunk", key)
        for url in trunk.origination_urls:
            add(
                "OriginationUrl",
                f"{key}/{url.sip_url}",
                props.origination_url_props(url),
                parent,
            )
        for name in trunk.termination.credential_lists:
            add("TrunkCredentialList", f"{key}/{clists[name]}", parent=parent)
        for name in trunk.termination.ip_access_control_lists:
            add("TrunkIpAccessControlList", f"{key}/{acls[name]}", parent=parent)

    for number in env.numbers:
        # The number's own trunk_sid is its trunk association, as in the program.
        add(
            "IncomingPhoneNumber",
            number.e164,
            {
                **props.incoming_phone_number_props(base, number),
                "voice_application_sid": apps[number.application] if number.application else None,
                "trunk_sid": trunks[number.trunk] if number.trunk else None,
            },
        )

    for record in env.ip_records:
        add(
            "IpRecord",
            records[record.name],
            props.ip_record_props(record),
        )
    for mapping in env.source_ip_mappings:
        record_key = records[mapping.ip_record]
        add(
            "SourceIpMapping",
            f"{record_key}/{domains[mapping.sip_domain]}",
            parent=("IpRecord", record_key),
        )
    return items
