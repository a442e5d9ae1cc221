"""Rules across the spec tree: unique names, resolvable references, no duplicates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.kinds import KINDS
from infra.spec.callflow_rules import check_call_flow_rules
from infra.spec.issues import SpecIssue
from infra.spec.models import Environment
from webhook_app.routes import ROUTES_BY_FLOW, url_for

# The spec lists whose entries have a `name` (the YAML key) -> what a message calls one; numbers
# are named by their E.164 and source IP mappings by what they map.
KIND_LABELS: dict[str, str] = {
    k.spec_key: k.noun
    for k in KINDS
    if k.spec_key and k.parent is None and k.name != "IncomingPhoneNumber"
}


def check_environment(env: Environment, *, local: bool = False) -> list[SpecIssue]:
    """Every cross-tree problem of `env`, in config order (`local`: the `local` stack), and the
    warnings (`SpecIssue.warning`) of its call flows."""
    issues: list[SpecIssue] = []
    if not local and env.credentials.account_sid is None:
        # Without it only resources already in the state are checked against the account the
        # credentials reach, so credentials for another account would create new ones there.
        issues.append(
            SpecIssue(
                "credentials.account_sid",
                "is required outside the `local` stack: it pins the stack to one Twilio "
                "account, so credentials for another account fail before anything is created; "
                "add credentials: {account_sid: AC...} (Console > Account info)",
            )
        )
    for kind in KIND_LABELS:
        issues += _unique(
            kind,
            getattr(env, kind),
            "name",
            f"duplicate {KIND_LABELS[kind]} name",
            "names must be unique per kind; rename one",
        )
    issues += _unique(
        "numbers", env.numbers, "e164", "duplicate number", "declare each number once"
    )
    issues += _unique(
        "sip_domains",
        env.sip_domains,
        "domain_name",
        "duplicate SIP domain name",
        "domain names are unique in Twilio; change one",
    )
    issues += _unique(
        "trunks",
        env.trunks,
        "domain_name",
        "duplicate trunk domain name",
        "domain names are unique in Twilio; change one",
    )
    if env.dialing_permissions is not None:
        issues += _unique(
            "dialing_permissions.countries",
            env.dialing_permissions.countries,
            "iso_code",
            "duplicate country",
            "declare each country once, with all its risk classes",
        )
    issues += _external_urls(env)
    issues += _nested_duplicates(env)
    references = _references(env)
    issues += references
    issues += _sip_registration(env)
    if not references:
        issues += _reference_cycles(env)
    issues += check_call_flow_rules(env)
    return issues


def _unique(
    prefix: str,
    items: Sequence[Any],
    field: str,
    what: str,
    fix: str,
    key: Callable[[Any], Any] | None = None,
) -> list[SpecIssue]:
    """Duplicates of `field` (or of `key(item)`) among `items`, reported at `prefix[j].field`."""
    return _duplicates(
        (
            (f"{prefix}[{j}].{field}", key(item) if key else getattr(item, field))
            for j, item in enumerate(items)
        ),
        what,
        fix,
    )


def _duplicates(items: Iterable[tuple[str, Any]], what: str, fix: str) -> list[SpecIssue]:
    first: dict[Any, str] = {}
    issues = []
    for path, key in items:
        if key in first:
            issues.append(SpecIssue(path, f"{what} {_show(key)} (first at {first[key]}); {fix}"))
        else:
            first[key] = path
    return issues


def _show(key: Any) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key)
    return repr(key)


_EXTERNAL_FIELDS = {
    "external_url": "flow",
    "fallback_external_url": "fallback_flow",
    "status_callback_external_url": "status_callback_flow",
}


def _external_urls(env: Environment) -> list[SpecIssue]:
    """An external URL under the app's own base URL is a flow: name it (the route table then
    keeps it valid), or report that the app serves no such route."""
    base = env.public_base_url.rstrip("/") + "/"
    flows = {url_for(f, env.public_base_url): f for f, r in ROUTES_BY_FLOW.items() if r.twilio}
    issues: list[SpecIssue] = []
    for key in ("numbers", "applications", "sip_domains", "byoc_trunks"):
        for i, entry in enumerate(getattr(env, key)):
            for name, flow_key in _EXTERNAL_FIELDS.items():
                url = getattr(entry, name)
                if not url or not url.startswith(base):
                    continue
                flow = flows.get(url.split("?", 1)[0])
                named = parse_qs(urlsplit(url).query).get("flow", [None])[0]
                if flow and named and name == "external_url" and env.call_flows is not None:
                    fix = f"use call_flow: {named} instead"
                elif flow:
                    fix = f"use {flow_key}: {flow} instead"
                else:
                    fix = "the app serves no such route; name one of its flows"
                issues.append(
                    SpecIssue(f"{key}[{i}].{name}", f"'{url}' is under public_base_url: {fix}")
                )
    return issues


def _nested_duplicates(env: Environment) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for i, clist in enumerate(env.credential_lists):
        issues += _unique(
            f"credential_lists[{i}].credentials",
            clist.credentials,
            "username",
            "duplicate username",
            "usernames must be unique within a credential list",
        )
    for i, acl in enumerate(env.ip_access_control_lists):
        prefix = f"ip_access_control_lists[{i}].ip_addresses"
        issues += _unique(
            prefix,
            acl.ip_addresses,
            "name",
            "duplicate IP address name",
            "names must be unique within an IP access control list",
        )
        issues += _unique(
            prefix,
            acl.ip_addresses,
            "ip_address",
            "duplicate IP range",
            "list each range once",
            key=lambda a: (a.ip_address, a.cidr_prefix_length),
        )
    for i, trunk in enumerate(env.trunks):
        prefix = f"trunks[{i}].origination_urls"
        issues += _unique(
            prefix,
            trunk.origination_urls,
            "name",
            "duplicate origination URL name",
            "names must be unique within a trunk",
        )
        issues += _unique(
            prefix,
            trunk.origination_urls,
            "sip_url",
            "duplicate origination sip_url",
            "list each SIP URL once per trunk",
        )
    for i, policy in enumerate(env.connection_policies):
        prefix = f"connection_policies[{i}].targets"
        issues += _unique(
            prefix,
            policy.targets,
            "name",
            "duplicate target name",
            "names must be unique within a connection policy",
        )
        issues += _unique(
            prefix,
            policy.targets,
            "target",
            "duplicate target",
            "list each SIP URI once per connection policy",
        )
    issues += _duplicates(
        (
            (f"source_ip_mappings[{i}]", (m.ip_record, m.sip_domain))
            for i, m in enumerate(env.source_ip_mappings)
        ),
        "duplicate source IP mapping",
        "map each IP record to a SIP domain once",
    )
    return issues


def _references(env: Environment) -> list[SpecIssue]:
    names = {kind: {r.name for r in getattr(env, kind)} for kind in KIND_LABELS}
    issues: list[SpecIssue] = []

    def ref(path: str, kind: str, value: str | None) -> None:
        if value is not None and value not in names[kind]:
            issues.append(SpecIssue(path, _unknown(kind, value, names[kind])))

    def refs(path: str, kind: str, values: Sequence[str]) -> None:
        for k, value in enumerate(values):
            ref(f"{path}[{k}]", kind, value)
        issues.extend(
            _duplicates(
                ((f"{path}[{k}]", v) for k, v in enumerate(values)),
                f"{KIND_LABELS[kind]} listed twice:",
                "list it once",
            )
        )

    for i, number in enumerate(env.numbers):
        ref(f"numbers[{i}].application", "applications", number.application)
        ref(f"numbers[{i}].trunk", "trunks", number.trunk)
    for i, domain in enumerate(env.sip_domains):
        base = f"sip_domains[{i}]"
        calls = domain.auth.calls
        refs(f"{base}.auth.calls.credential_lists", "credential_lists", calls.credential_lists)
        refs(
            f"{base}.auth.calls.ip_access_control_lists",
            "ip_access_control_lists",
            domain.auth.calls.ip_access_control_lists,
        )
        refs(
            f"{base}.auth.registrations.credential_lists",
            "credential_lists",
            domain.auth.registrations.credential_lists,
        )
        ref(f"{base}.byoc_trunk", "byoc_trunks", domain.byoc_trunk)
    for i, trunk in enumerate(env.trunks):
        base = f"trunks[{i}].termination"
        refs(f"{base}.credential_lists", "credential_lists", trunk.termination.credential_lists)
        refs(
            f"{base}.ip_access_control_lists",
            "ip_access_control_lists",
            trunk.termination.ip_access_control_lists,
        )
    for i, byoc in enumerate(env.byoc_trunks):
        ref(f"byoc_trunks[{i}].connection_policy", "connection_policies", byoc.connection_policy)
        ref(f"byoc_trunks[{i}].from_domain", "sip_domains", byoc.from_domain)
    for i, mapping in enumerate(env.source_ip_mappings):
        ref(f"source_ip_mappings[{i}].ip_record", "ip_records", mapping.ip_record)
        ref(f"source_ip_mappings[{i}].sip_domain", "sip_domains", mapping.sip_domain)
    return issues


def _unknown(kind: str, value: str, declared: set[str]) -> str:
    known = f"declared: {', '.join(sorted(declared))}" if declared else "none declared"
    return (
        f"unknown {KIND_LABELS[kind]} '{value}'; declare it under {kind} or fix the name ({known})"
    )


def _sip_registration(env: Environment) -> list[SpecIssue]:
    return [
        SpecIssue(
            f"sip_domains[{i}].sip_registration",
            "sip_registration is on but no credential list authenticates registrations; add "
            "auth.registrations.credential_lists or set sip_registration: false",
        )
        for i, d in enumerate(env.sip_domains)
        if d.sip_registration and not d.auth.registrations.credential_lists
    ]


def _reference_cycles(env: Environment) -> list[SpecIssue]:
    """References that cannot be created in any order (a SIP domain and a BYOC trunk naming
    each other): the plan's own cycle check, with the path of the reference to drop."""
    # Imported here: the plan reads the spec models, whose package imports this module.
    from infra.plan import reference_cycles, spec_ref

    issues = []
    for cycle in reference_cycles(env):
        refs = list(dict.fromkeys(cycle))
        kind, name = next((r for r in refs if r[0] == "SipDomain"), refs[0])
        index = next(i for i, d in enumerate(env.sip_domains) if d.name == name)
        if len(refs) == 2:
            message = (
                f"SIP domain '{name}' and BYOC trunk '{refs[1 - refs.index((kind, name))][1]}' "
                "refer to each other (byoc_trunks[].from_domain), a cycle that cannot be "
                "created; remove one of the two references"
            )
        else:
            chain = " -> ".join(spec_ref(r) for r in cycle)
            message = (
                f"reference cycle {chain} cannot be created (each needs the next one's SID); "
                "remove one of its byoc_trunk / from_domain references"
            )
        issues.append(SpecIssue(f"sip_domains[{index}].byoc_trunk", message))
    return issues
