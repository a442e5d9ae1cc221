"""`VoiceEnvironment`: the whole voice estate of one stack as one Pulumi component.

Every Twilio resource of the spec becomes a child of the component (or of the resource it belongs
to: a credential of its list, an origination URL of its trunk, ...). Logical resource names come
from spec names, never from SIDs, so URNs stay stable across accounts and re-creations:
`pbx` (SIP domain), `pbx-users/alice` (credential), `pbx/calls/credential-lists/pbx-users`
(domain auth mapping), `+14155550100` (number), `pbx-trunk/origination/primary` (origination
URL), `pbx/region` (inbound processing region). docs/program.md has the full table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra import props, spec
from infra import resources as twilio

COMPONENT_TYPE = "twilio-voice:index:VoiceEnvironment"


class SpecGraphError(ValueError):
    """The spec cannot be turned into a resource graph (e.g. a reference cycle)."""


@dataclass
class _Built:
    """Resources created so far, by spec name, so references resolve to the same object."""

    credential_lists: dict[str, pulumi.Resource] = field(default_factory=dict)
    credentials: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    ip_acls: dict[str, pulumi.Resource] = field(default_factory=dict)
    ip_addresses: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    applications: dict[str, pulumi.Resource] = field(default_factory=dict)
    connection_policies: dict[str, pulumi.Resource] = field(default_factory=dict)
    policy_targets: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    byoc_trunks: dict[str, pulumi.Resource] = field(default_factory=dict)
    sip_domains: dict[str, pulumi.Resource] = field(default_factory=dict)
    trunks: dict[str, pulumi.Resource] = field(default_factory=dict)
    numbers: dict[str, pulumi.Resource] = field(default_factory=dict)
    ip_records: dict[str, pulumi.Resource] = field(default_factory=dict)
    in_progress: list[str] = field(default_factory=list)


def _sid(resource: pulumi.Resource) -> pulumi.Output[str]:
    sid: pulumi.Output[str] = resource.sid  # type: ignore[attr-defined]
    return sid


class VoiceEnvironment(pulumi.ComponentResource):
    """Twilio numbers, apps, SIP domains, lists, trunks and BYOC of one environment spec."""

    def __init__(
        self,
        name: str,
        env: spec.Environment,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self._env = env
        self._built = _Built()
        self._account = env.credentials.account_sid
        b = self._built

        for clist in env.credential_lists:
            self._credential_list(clist)
        for acl in env.ip_access_control_lists:
            self._ip_acl(acl)
        for app in env.applications:
            self._application(app)
        for policy in env.connection_policies:
            self._connection_policy(policy)
        for domain in env.sip_domains:
            self._sip_domain(domain.name)
        for byoc in env.byoc_trunks:
            self._byoc_trunk(byoc.name)
        for trunk in env.trunks:
            self._trunk(trunk)
        for number in env.numbers:
            self._number(number)
        for record in env.ip_records:
            self._ip_record(record)
        for mapping in env.source_ip_mappings:
            self._source_ip_mapping(mapping)

        self.sip_domain_sids: dict[str, pulumi.Output[str]] = {
            n: _sid(r) for n, r in b.sip_domains.items()
        }
        self.trunk_sids: dict[str, pulumi.Output[str]] = {n: _sid(r) for n, r in b.trunks.items()}
        self.byoc_trunk_sids: dict[str, pulumi.Output[str]] = {
            n: _sid(r) for n, r in b.byoc_trunks.items()
        }
        self.number_sids: dict[str, pulumi.Output[str]] = {n: _sid(r) for n, r in b.numbers.items()}
        self.register_outputs(
            {
                "sip_domain_sids": self.sip_domain_sids,
                "trunk_sids": self.trunk_sids,
                "byoc_trunk_sids": self.byoc_trunk_sids,
                "number_sids": self.number_sids,
            }
        )

    # -- helpers -----------------------------------------------------------------------------

    def _opts(
        self,
        parent: pulumi.Resource | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        **kwargs: Any,
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent or self, depends_on=list(depends_on) or None, **kwargs
        )

    def _find(self, items: Sequence[Any], name: str, what: str) -> Any:
        for item in items:
            if item.name == name:
                return item
        raise SpecGraphError(f"unknown {what} {name!r} (run `python -m infra validate`)")

    def _new(
        self,
        cls: Callable[..., pulumi.Resource],
        name: str,
        declared: Mapping[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        # Every provider checks the configured credentials against the spec's account.
        inputs = {**declared, "expected_account_sid": self._account}
        return cls(name, opts=opts, **{k: v for k, v in inputs.items() if v is not None})

    # -- lists -------------------------------------------------------------------------------

    def _credential_list(self, clist: spec.CredentialList) -> None:
        b = self._built
        parent = self._new(
            twilio.CredentialList,
            clist.name,
            props.credential_list_props(clist),
            self._opts(),
        )
        b.credential_lists[clist.name] = parent
        b.credentials[clist.name] = [
            self._new(
                twilio.Credential,
                f"{clist.name}/{cred.username}",
                {
                    "credential_list_sid": _sid(parent),
                    "username": cred.username,
                    # require_object hands the program decrypted plaintext: make it secret again
                    "password": pulumi.Output.secret(cred.password.reveal()),
                },
                self._opts(parent, additional_secret_outputs=["password"]),
            )
            for cred in clist.credentials
        ]

    def _ip_acl(self, acl: spec.IpAccessControlList) -> None:
        b = self._built
        parent = self._new(
            twilio.IpAccessControlList,
            acl.name,
            props.ip_access_control_list_props(acl),
            self._opts(),
        )
        b.ip_acls[acl.name] = parent
        b.ip_addresses[acl.name] = [
            self._new(
                twilio.IpAddress,
                f"{acl.name}/{ip.name}",
                {"ip_access_control_list_sid": _sid(parent), **props.ip_address_props(ip)},
                self._opts(parent),
            )
            for ip in acl.ip_addresses
        ]

    # -- voice endpoints ---------------------------------------------------------------------

    def _application(self, app: spec.Application) -> None:
        self._built.applications[app.name] = self._new(
            twilio.Application,
            app.name,
            props.application_props(self._env.public_base_url, app),
            self._opts(),
        )

    def _connection_policy(self, policy: spec.ConnectionPolicy) -> None:
        b = self._built
        parent = self._new(
            twilio.ConnectionPolicy,
            policy.name,
            props.connection_policy_props(policy),
            self._opts(),
        )
        b.connection_policies[policy.name] = parent
        b.policy_targets[policy.name] = [
            self._new(
                twilio.ConnectionPolicyTarget,
                f"{policy.name}/{target.name}",
                {
                    "connection_policy_sid": _sid(parent),
                    **props.connection_policy_target_props(target),
                },
                self._opts(parent),
            )
            for target in policy.targets
        ]

    def _guard(self, key: str) -> None:
        """Refuse reference cycles (a domain's BYOC trunk whose from_domain is that domain)."""
        stack = self._built.in_progress
        if key in stack:
            chain = " -> ".join([*stack[stack.index(key) :], key])
            raise SpecGraphError(
                f"reference cycle {chain}: each needs the other's SID before it can be created; "
                "remove one side (sip_domains[].byoc_trunk or byoc_trunks[].from_domain)"
            )

    def _byoc_trunk(self, name: str) -> pulumi.Resource:
        b = self._built
        if name in b.byoc_trunks:
            return b.byoc_trunks[name]
        key = f"byoc_trunks[{name}]"
        self._guard(key)
        b.in_progress.append(key)
        byoc: spec.ByocTrunk = self._find(self._env.byoc_trunks, name, "BYOC trunk")
        deps: list[pulumi.Resource] = []
        policy_sid: pulumi.Output[str] | None = None
        if byoc.connection_policy:
            policy = b.connection_policies[byoc.connection_policy]
            policy_sid = _sid(policy)
            # Calls only reach the carrier once the policy has its targets.
            deps += [policy, *b.policy_targets[byoc.connection_policy]]
        domain_sid: pulumi.Output[str] | None = None
        if byoc.from_domain:
            domain = self._sip_domain(byoc.from_domain)
            domain_sid = _sid(domain)
            deps.append(domain)
        resource = self._new(
            twilio.ByocTrunk,
            byoc.name,
            {
                **props.byoc_trunk_props(self._env.public_base_url, byoc),
                "connection_policy_sid": policy_sid,
                "from_domain_sid": domain_sid,
            },
            self._opts(depends_on=deps),
        )
        b.in_progress.pop()
        b.byoc_trunks[name] = resource
        return resource

    def _sip_domain(self, name: str) -> pulumi.Resource:
        b = self._built
        if name in b.sip_domains:
            return b.sip_domains[name]
        key = f"sip_domains[{name}]"
        self._guard(key)
        b.in_progress.append(key)
        domain: spec.SipDomain = self._find(self._env.sip_domains, name, "SIP domain")
        deps: list[pulumi.Resource] = []
        byoc_sid: pulumi.Output[str] | None = None
        if domain.byoc_trunk:
            byoc = self._byoc_trunk(domain.byoc_trunk)
            byoc_sid = _sid(byoc)
            deps.append(byoc)
        resource = self._new(
            twilio.SipDomain,
            domain.name,
            {
                **props.sip_domain_props(self._env.public_base_url, domain),
                "byoc_trunk_sid": byoc_sid,
            },
            self._opts(depends_on=deps),
        )
        b.in_progress.pop()
        b.sip_domains[name] = resource
        self._domain_auth(domain, resource)
        self._region({"sip_domain": domain.domain_name}, domain.region, resource, domain.name)
        return resource

    def _domain_auth(self, domain: spec.SipDomain, parent: pulumi.Resource) -> None:
        b = self._built
        auth = domain.auth
        mappings: list[tuple[Callable[..., pulumi.Resource], str, str, str]] = [
            *(
                (twilio.SipDomainCallsCredentialListMapping, "calls/credential-lists", n, "cl")
                for n in auth.calls.credential_lists
            ),
            *(
                (twilio.SipDomainCallsIpAccessControlListMapping, "calls/ip-acls", n, "acl")
                for n in auth.calls.ip_access_control_lists
            ),
            *(
                (
                    twilio.SipDomainRegistrationsCredentialListMapping,
                    "registrations/credential-lists",
                    n,
                    "cl",
                )
                for n in auth.registrations.credential_lists
            ),
        ]
        for cls, path, ref, kind in mappings:
            if kind == "cl":
                target, members = b.credential_lists[ref], b.credentials[ref]
                prop = "credential_list_sid"
            else:
                target, members = b.ip_acls[ref], b.ip_addresses[ref]
                prop = "ip_access_control_list_sid"
            # Map a list only once it holds its entries, so auth never opens on an empty list
            # (and on destroy the mapping goes before the entries).
            self._new(
                cls,
                f"{domain.name}/{path}/{ref}",
                {"domain_sid": _sid(parent), prop: _sid(target)},
                self._opts(parent, depends_on=[target, *members]),
            )

    def _trunk(self, trunk: spec.Trunk) -> None:
        b = self._built
        resource = self._new(
            twilio.Trunk,
            trunk.name,
            props.trunk_props(self._env.public_base_url, trunk),
            self._opts(),
        )
        b.trunks[trunk.name] = resource
        for url in trunk.origination_urls:
            self._new(
                twilio.OriginationUrl,
                f"{trunk.name}/origination/{url.name}",
                {"trunk_sid": _sid(resource), **props.origination_url_props(url)},
                self._opts(resource),
            )
        for ref in trunk.termination.credential_lists:
            target = b.credential_lists[ref]
            self._new(
                twilio.TrunkCredentialList,
                f"{trunk.name}/termination/credential-lists/{ref}",
                {"trunk_sid": _sid(resource), "credential_list_sid": _sid(target)},
                self._opts(resource, depends_on=[target, *b.credentials[ref]]),
            )
        for ref in trunk.termination.ip_access_control_lists:
            target = b.ip_acls[ref]
            self._new(
                twilio.TrunkIpAccessControlList,
                f"{trunk.name}/termination/ip-acls/{ref}",
                {"trunk_sid": _sid(resource), "ip_access_control_list_sid": _sid(target)},
                self._opts(resource, depends_on=[target, *b.ip_addresses[ref]]),
            )
        self._region({"sip_trunk_domain": trunk.domain_name}, trunk.region, resource, trunk.name)

    def _number(self, number: spec.PhoneNumber) -> None:
        b = self._built
        deps: list[pulumi.Resource] = []
        app_sid: pulumi.Output[str] | None = None
        trunk_sid: pulumi.Output[str] | None = None
        if number.application:
            app = b.applications[number.application]
            app_sid = _sid(app)
            deps.append(app)
        if number.trunk:
            # The number's own TrunkSid is the association: one resource owns that field (a
            # separate TrunkPhoneNumber would fight it). It is set once the trunk exists, and
            # on destroy the number lets go of the trunk before the trunk goes.
            trunk = b.trunks[number.trunk]
            trunk_sid = _sid(trunk)
            deps.append(trunk)
        resource = self._new(
            twilio.IncomingPhoneNumber,
            number.e164,
            {
                **props.incoming_phone_number_props(self._env.public_base_url, number),
                "voice_application_sid": app_sid,
                "trunk_sid": trunk_sid,
                "release_on_destroy": number.release_on_destroy,
            },
            # Numbers are adopted, not bought: `protect` makes removing one a deliberate act.
            # No retain_on_delete: the provider's delete resets the voice config (or releases
            # the number when release_on_destroy is set), which is what destroy should do.
            self._opts(depends_on=deps, protect=True),
        )
        b.numbers[number.e164] = resource
        self._region({"phone_number": number.e164}, number.region, resource, number.e164)

    # -- BYOC IP records, inbound processing regions ------------------------------------------

    def _ip_record(self, record: spec.IpRecord) -> None:
        self._built.ip_records[record.name] = self._new(
            twilio.IpRecord,
            record.name,
            props.ip_record_props(record),
            self._opts(),
        )

    def _source_ip_mapping(self, mapping: spec.SourceIpMapping) -> None:
        b = self._built
        record = b.ip_records[mapping.ip_record]
        domain = b.sip_domains[mapping.sip_domain]
        self._new(
            twilio.SourceIpMapping,
            f"{mapping.ip_record}/{mapping.sip_domain}",
            {"ip_record_sid": _sid(record), "sip_domain_sid": _sid(domain)},
            self._opts(record, depends_on=[record, domain]),
        )

    def _region(
        self,
        target_key: Mapping[str, str],
        region: str | None,
        target: pulumi.Resource,
        name: str,
    ) -> None:
        """Pin the inbound processing region of one number / SIP domain / trunk (routes v2).

        The resource's own `region` wins; otherwise the environment's default `region` applies.
        `target_key` names what is pinned: phone_number, sip_domain or sip_trunk_domain.
        """
        region = region or self._env.region
        if region is None:
            return
        self._new(
            twilio.InboundProcessingRegion,
            f"{name}/region",
            {**target_key, "voice_region": region},
            self._opts(target, depends_on=[target]),
        )
