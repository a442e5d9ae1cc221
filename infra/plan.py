"""One walk of the environment spec: the resources the program registers and drift compares.

`plan(env)` turns a validated spec into nodes: kind, logical name (the URN name, made of spec
names, never SIDs, so a resource keeps its URN across re-creations and accounts), natural key
(what Twilio and drift identify it by), parent, the provider props apart from references,
references to other nodes by (kind, logical name), and the ordering the data does not imply. It
owns the naming, the ordering and the cycle check; `infra.environment` only resolves references
to SIDs and registers, `infra.drift.declared` only resolves them to keys. docs/program.md has the
table of names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra import props
from infra.kinds import KIND_META
from infra.spec import models as spec
from infra.spec.secret import Secret

Ref = tuple[str, str]  # (kind, logical name) of a node

# The input a SIP domain auth mapping or a trunk termination association names its list by.
_LIST_SID = {
    "CredentialList": "credential_list_sid",
    "IpAccessControlList": "ip_access_control_list_sid",
}


class SpecGraphError(ValueError):
    """The spec cannot be turned into a resource graph (an unknown reference, a cycle)."""

    def __init__(self, message: str, cycle: tuple[Ref, ...] = ()) -> None:
        super().__init__(message)
        self.cycle = cycle


@dataclass(frozen=True)
class Node:
    """One resource to register (or, for drift, to find in the account)."""

    kind: str
    name: str
    key: str
    props: Mapping[str, Any]  # provider inputs apart from references; None means unset
    parent: Ref | None = None  # None: a child of the component
    refs: Mapping[str, Ref | None] = field(default_factory=dict)  # input -> node it names
    depends_on: tuple[Ref, ...] = ()  # waits for these too (beyond its refs)
    secret: tuple[str, ...] = ()  # props holding spec `Secret`s
    protect: bool = False

    @property
    def id(self) -> Ref:
        return (self.kind, self.name)

    def needs(self) -> Iterator[Ref]:
        """Every node this one cannot be created before."""
        if self.parent is not None:
            yield self.parent
        yield from (ref for ref in self.refs.values() if ref is not None)
        yield from self.depends_on


@dataclass(frozen=True)
class Plan:
    """The nodes in spec order, and the same nodes in an order that creates them (`order`)."""

    nodes: tuple[Node, ...]
    order: tuple[Node, ...]

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]


def plan(env: spec.Environment) -> Plan:
    """The environment's resources; `SpecGraphError` for an unknown reference or a cycle."""
    nodes = _walk(env)
    order, cycles = _creation_order(nodes)
    if cycles:
        raise _cycle_error(cycles[0])
    return Plan(tuple(nodes.values()), order)


def reference_cycles(env: spec.Environment) -> list[tuple[Ref, ...]]:
    """Every reference cycle of a spec whose references resolve (for validation messages)."""
    return _creation_order(_walk(env))[1]


def spec_ref(ref: Ref) -> str:
    """`('SipDomain', 'pbx')` -> `sip_domains[pbx]`: a node as the spec names it."""
    return f"{KIND_META[ref[0]].spec_path.split('[', 1)[0]}[{ref[1]}]"


def _ref(kind: str, name: str | None) -> Ref | None:
    return None if name is None else (kind, name)


def _walk(env: spec.Environment) -> dict[Ref, Node]:
    walk = _Walk(env)
    for clist in env.credential_lists:
        parent = walk.add("CredentialList", clist.name, props.credential_list_props(clist))
        for cred in clist.credentials:
            walk.child(parent, "Credential", cred.username, props.credential_props(cred))
    for acl in env.ip_access_control_lists:
        parent = walk.add("IpAccessControlList", acl.name, props.ip_access_control_list_props(acl))
        for ip in acl.ip_addresses:
            walk.child(parent, "IpAddress", ip.name, props.ip_address_props(ip))
    for app in env.applications:
        walk.add("Application", app.name, props.application_props(walk.base, app))
    for policy in env.connection_policies:
        parent = walk.add("ConnectionPolicy", policy.name, props.connection_policy_props(policy))
        for target in policy.targets:
            walk.child(
                parent,
                "ConnectionPolicyTarget",
                target.name,
                props.connection_policy_target_props(target),
            )
    for domain in env.sip_domains:
        walk.sip_domain(domain)
    for byoc in env.byoc_trunks:
        policy_ref = _ref("ConnectionPolicy", byoc.connection_policy)
        walk.add(
            "ByocTrunk",
            byoc.name,
            props.byoc_trunk_props(walk.base, byoc),
            refs={
                "connection_policy_sid": policy_ref,
                "from_domain_sid": _ref("SipDomain", byoc.from_domain),
            },
            # Calls only reach the carrier once the policy has its targets.
            depends_on=walk.members(policy_ref),
        )
    for trunk in env.trunks:
        walk.trunk(trunk)
    for number in env.numbers:
        walk.number(number)
    for record in env.ip_records:
        walk.add("IpRecord", record.name, props.ip_record_props(record))
    for mapping in env.source_ip_mappings:
        walk.add(
            "SourceIpMapping",
            f"{mapping.ip_record}/{mapping.sip_domain}",
            {},
            parent=("IpRecord", mapping.ip_record),
            refs={"sip_domain_sid": ("SipDomain", mapping.sip_domain)},
        )
    if env.dialing_permissions is not None:
        walk.dialing_permissions(env.dialing_permissions)
    walk.check_references()
    return walk.nodes


class _Walk:
    """Builds the nodes in spec order; names and keys them."""

    def __init__(self, env: spec.Environment) -> None:
        self.env = env
        self.base = env.public_base_url
        self.nodes: dict[Ref, Node] = {}
        self.children: dict[Ref, list[Ref]] = {}

    def node(self, ref: Ref) -> Node:
        found = self.nodes.get(ref)
        if found is None:
            label = KIND_META[ref[0]].label
            raise SpecGraphError(f"unknown {label} {ref[1]!r} (run `python -m infra validate`)")
        return found

    def add(
        self,
        kind: str,
        name: str,
        values: Mapping[str, Any],
        *,
        parent: Ref | None = None,
        refs: Mapping[str, Ref | None] | None = None,
        depends_on: Sequence[Ref] = (),
        protect: bool = False,
    ) -> Ref:
        meta = KIND_META[kind]
        refs = dict(refs or {})
        if parent is not None and meta.parent_field:
            refs = {meta.parent_field: parent, **refs}
        if meta.association:
            own = self.node(next(r for f, r in refs.items() if r and f != meta.parent_field)).key
        else:
            own = meta.natural_key(values)
        key = "/".join(p for p in (self.node(parent).key if parent else "", own) if p)
        secret = tuple(k for k, v in values.items() if isinstance(v, Secret))
        node = Node(kind, name, key, values, parent, refs, tuple(depends_on), secret, protect)
        self.nodes[node.id] = node
        if parent is not None:
            self.children.setdefault(parent, []).append(node.id)
        return node.id

    def child(self, parent: Ref, kind: str, name: str, values: Mapping[str, Any]) -> Ref:
        """An entry of a list, ACL, policy or trunk, named `<parent>/<its name>`."""
        return self.add(kind, f"{parent[1]}/{name}", values, parent=parent)

    def members(self, ref: Ref | None) -> tuple[Ref, ...]:
        return () if ref is None else tuple(self.children.get(ref, ()))

    def associations(
        self, parent: Ref, kind: str, path: str, target_kind: str, names: Sequence[str]
    ) -> None:
        for name in names:
            target = (target_kind, name)
            # Map a list only once it holds its entries, so auth never opens on an empty list
            # (and on destroy the mapping goes before the entries).
            self.add(
                kind,
                f"{parent[1]}/{path}/{name}",
                {},
                parent=parent,
                refs={_LIST_SID[target_kind]: target},
                depends_on=self.members(target),
            )

    def region(self, target: Ref, field_name: str, value: str, region: str | None) -> None:
        """Pin the inbound processing region (its own, else the environment's) of `target`."""
        region = region or self.env.region
        if region is not None:
            values = {field_name: value, "voice_region": region}
            self.add(
                "InboundProcessingRegion",
                f"{target[1]}/region",
                values,
                parent=target,
                depends_on=(target,),
            )

    def sip_domain(self, domain: spec.SipDomain) -> None:
        ref = self.add(
            "SipDomain",
            domain.name,
            props.sip_domain_props(self.base, domain),
            refs={"byoc_trunk_sid": _ref("ByocTrunk", domain.byoc_trunk)},
        )
        auth = domain.auth
        for kind, path, target_kind, names in (
            (
                "SipDomainCallsCredentialListMapping",
                "calls/credential-lists",
                "CredentialList",
                auth.calls.credential_lists,
            ),
            (
                "SipDomainCallsIpAccessControlListMapping",
                "calls/ip-acls",
                "IpAccessControlList",
                auth.calls.ip_access_control_lists,
            ),
            (
                "SipDomainRegistrationsCredentialListMapping",
                "registrations/credential-lists",
                "CredentialList",
                auth.registrations.credential_lists,
            ),
        ):
            self.associations(ref, kind, path, target_kind, names)
        self.region(ref, "sip_domain", domain.domain_name, domain.region)

    def trunk(self, trunk: spec.Trunk) -> None:
        ref = self.add("Trunk", trunk.name, props.trunk_props(self.base, trunk))
        for url in trunk.origination_urls:
            self.child(
                ref, "OriginationUrl", f"origination/{url.name}", props.origination_url_props(url)
            )
        termination = trunk.termination
        self.associations(
            ref,
            "TrunkCredentialList",
            "termination/credential-lists",
            "CredentialList",
            termination.credential_lists,
        )
        self.associations(
            ref,
            "TrunkIpAccessControlList",
            "termination/ip-acls",
            "IpAccessControlList",
            termination.ip_access_control_lists,
        )
        self.region(ref, "sip_trunk_domain", trunk.domain_name, trunk.region)

    def number(self, number: spec.PhoneNumber) -> None:
        ref = self.add(
            "IncomingPhoneNumber",
            number.e164,
            props.incoming_phone_number_props(self.base, number),
            # The number's own TrunkSid is the association: one resource owns that field (a
            # separate TrunkPhoneNumber would fight it). It is set once the trunk exists, and
            # on destroy the number lets go of the trunk before the trunk goes.
            refs={
                "voice_application_sid": _ref("Application", number.application),
                "trunk_sid": _ref("Trunk", number.trunk),
            },
            # Numbers are adopted, not bought: removing one must be a deliberate act.
            protect=True,
        )
        self.region(ref, "phone_number", number.e164, number.region)

    def dialing_permissions(self, permissions: spec.DialingPermissions) -> None:
        """One node per declared country, and the account's settings (which switch off every
        country not declared)."""
        for country in permissions.countries:
            self.add(
                "DialingPermissionsCountry",
                f"dialing-permissions/{country.iso_code}",
                props.dialing_country_props(country),
            )
        self.add(
            "DialingPermissionsSettings",
            "dialing-permissions",
            props.dialing_settings_props(permissions),
        )

    def check_references(self) -> None:
        for node in self.nodes.values():
            for ref in node.needs():
                self.node(ref)


def _creation_order(nodes: Mapping[Ref, Node]) -> tuple[tuple[Node, ...], list[tuple[Ref, ...]]]:
    """Nodes in spec order, each moved after what it needs; and the reference cycles found."""
    done: dict[Ref, Node] = {}
    path: list[Ref] = []
    cycles: list[tuple[Ref, ...]] = []

    def visit(ref: Ref) -> None:
        if ref in done:
            return
        if ref in path:
            cycles.append((*path[path.index(ref) :], ref))
            return
        path.append(ref)
        for needed in nodes[ref].needs():
            visit(needed)
        path.pop()
        done[ref] = nodes[ref]

    for ref in nodes:
        visit(ref)
    return tuple(done.values()), cycles


def _cycle_error(cycle: tuple[Ref, ...]) -> SpecGraphError:
    chain = " -> ".join(spec_ref(ref) for ref in cycle)
    return SpecGraphError(
        f"reference cycle {chain}: each needs the other's SID before it can be created; "
        "remove one side (sip_domains[].byoc_trunk or byoc_trunks[].from_domain)",
        cycle,
    )
