"""Read a live Twilio account into an environment spec (`twilio-voice import`).

The account is listed the way drift lists it (`infra.drift.collect`, every parent descended
into): each top-level collection once with PageSize=1000, each child collection once per
parent, so REST calls grow with pages and parents, not with numbers. Records arrive normalised
by the providers' own normalisers, with references as keys, so what is written is what the
providers and drift compare.

URLs under the app's base URL that are one of its routes become flows; any other URL becomes an
explicit external target (`external_url`, `fallback_external_url`,
`status_callback_external_url`). Passwords cannot be read back: credentials are written without
one ("exists, password not managed"). What the spec cannot express is left out and listed in
the file's header, so the file stays valid and `pulumi up` changes nothing it declares.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.drift.collect import Collector, Lister
from infra.drift.model import Item
from infra.kinds import KINDS
from infra.props import RISK_FLAGS, default_number_name
from infra.urls import CALL_FLOW_ROUTES
from webhook_app.callflow.model import CallFlows
from webhook_app.routes import ROUTES_BY_FLOW, url_for

_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_FLOW_FIELDS = {
    "voice": ("flow", "external_url"),
    "fallback": ("fallback_flow", "fallback_external_url"),
    "status": ("status_callback_flow", "status_callback_external_url"),
}
# The status-callback URL field per kind (the voice ones are the same everywhere).
_STATUS_FIELD = {
    "IncomingPhoneNumber": "status_callback",
    "Application": "status_callback",
    "SipDomain": "voice_status_callback_url",
    "ByocTrunk": "status_callback_url",
}


class _Everything:
    """Every parent is wanted: import descends into all of them."""

    def __contains__(self, item: object) -> bool:
        return True


class AccountReader(Collector):
    """Drift's collector, descending into every live parent (not only declared ones)."""

    def __init__(self, api: Lister) -> None:
        super().__init__(api, ())
        self.wanted = _Everything()  # type: ignore[assignment]


def read_account(api: Lister) -> list[Item]:
    return AccountReader(api).collect()


@dataclass
class Imported:
    """The spec written, and what could not be (for the file's header)."""

    environment: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmanaged_passwords: list[str] = field(default_factory=list)  # config paths
    counts: Counter[str] = field(default_factory=Counter)
    # Flows the account's webhooks enter (`?flow=<name>` on one of the app's entry routes):
    # Twilio holds no call flow, so their declaration comes from the app's artifact.
    call_flows: set[str] = field(default_factory=set)


def guess_base_url(items: Iterable[Item]) -> str | None:
    """The most common `scheme://host[:port]` of webhook URLs whose path is one of the app's."""
    paths = {r.path for r in ROUTES_BY_FLOW.values() if r.twilio}
    found: Counter[str] = Counter()
    for item in items:
        for name, value in item.fields.items():
            if not isinstance(value, str) or not name.endswith(("_url", "status_callback")):
                continue
            parts = urlsplit(value)
            for path in paths:
                if parts.path.endswith(path) and parts.scheme in ("http", "https"):
                    prefix = parts.path[: len(parts.path) - len(path)]
                    found[f"{parts.scheme}://{parts.netloc}{prefix}"] += 1
    return found.most_common(1)[0][0] if found else None


class _Names:
    """Spec names from friendly names: valid (`[A-Za-z0-9][A-Za-z0-9._-]*`), unique per kind."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = {}

    def make(self, kind: str, wanted: str) -> str:
        base = _NAME_BAD.sub("-", wanted).strip("-._")[:60] or kind.lower()
        if not base[0].isalnum():
            base = "x" + base
        used = self.used.setdefault(kind, set())
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        return name


class _Builder:
    def __init__(self, items: list[Item], base: str, account_sid: str, local: bool) -> None:
        self.items = items
        self.base = base.rstrip("/")
        self.local = local
        self.out = Imported({"public_base_url": base})
        if account_sid:
            self.out.environment["credentials"] = {"account_sid": account_sid}
        self.names = _Names()
        self.by_kind: dict[str, list[Item]] = {}
        for item in items:
            self.by_kind.setdefault(item.kind, []).append(item)
        self.flows = {url_for(f, base): (f, r.kind) for f, r in ROUTES_BY_FLOW.items() if r.twilio}
        self.spec_name: dict[tuple[str, str], str] = {}  # (kind, key) -> spec name

    def of(self, kind: str) -> list[Item]:
        return self.by_kind.get(kind, [])

    def children(self, kind: str, parent: tuple[str, str]) -> list[Item]:
        return [i for i in self.of(kind) if i.parent == parent]

    def named(self, kind: str, item: Item, friendly: str | None) -> dict[str, Any]:
        name = self.names.make(kind, friendly or item.key)
        self.spec_name[(kind, item.key)] = name
        entry: dict[str, Any] = {"name": name}
        if friendly and friendly != name:
            entry["friendly_name"] = friendly
        return entry

    def ref(self, kind: str, key: Any) -> str | None:
        return None if key is None else self.spec_name.get((kind, str(key)))

    # -- webhooks --

    def hooks(self, item: Item, what: str, entry: dict[str, Any], label: str) -> bool:
        """Put the item's `what` webhook (voice/fallback/status) into `entry` as a flow or an
        external URL; False when it cannot be expressed (noted)."""
        url_key, method_key = {
            "voice": ("voice_url", "voice_method"),
            "fallback": ("voice_fallback_url", "voice_fallback_method"),
            "status": (
                _STATUS_FIELD[item.kind],
                _STATUS_FIELD[item.kind].removesuffix("_url") + "_method",
            ),
        }[what]
        url = item.fields.get(url_key)
        if not url:
            return True
        url = str(url)
        method = str(item.fields.get(method_key) or "POST")
        flow_key, external_key = _FLOW_FIELDS[what]
        url, call_flow = _split_call_flow(url)
        flow = self.flows.get(url)
        wanted_kind = "status_callback" if what == "status" else "twiml"
        if call_flow is not None and flow is not None and flow[1] == wanted_kind == "twiml":
            return self.call_flow_hook(item, what, entry, label, flow[0], call_flow)
        if flow is not None and flow[1] == wanted_kind:
            entry[flow_key] = flow[0]
            if method != "POST":
                self.out.notes.append(
                    f"{label}: {url_key} uses {method}; the flow is declared with POST, so "
                    "`pulumi up` will switch it to POST"
                )
            return True
        if url.startswith(self.base + "/"):
            self.out.notes.append(
                f"{label}: {url_key} {url} is under the base URL but no flow of the app; left "
                "out (`pulumi up` will clear it)"
            )
            return False
        if urlsplit(url).scheme != "https" and not self.local:
            self.out.notes.append(
                f"{label}: {url_key} {url} is not https (refused outside local); left out"
            )
            return False
        entry[external_key] = url
        if what == "voice" and method != "POST":
            entry["external_method"] = method
        elif what != "voice" and method != "POST":
            self.out.notes.append(f"{label}: {url_key} uses {method}; declared as POST")
        return True

    def call_flow_hook(
        self, item: Item, what: str, entry: dict[str, Any], label: str, route: str, name: str
    ) -> bool:
        """A URL of the app with `?flow=<name>`: the entry point's `call_flow` (voice), or
        its fallback route, which carries the same `?flow=` when derived from it."""
        url_key = "voice_url" if what == "voice" else "voice_fallback_url"
        if what == "voice":
            wanted = CALL_FLOW_ROUTES[_SPEC_LIST[item.kind]]
            if route != wanted:
                self.out.notes.append(
                    f"{label}: {url_key} enters flow {name} through {route}, but a "
                    f"{_SPEC_LIST[item.kind].removesuffix('s').replace('_', ' ')} enters call "
                    f"flows through {wanted}; declared as call_flow: {name} (`pulumi up` "
                    "moves it there)"
                )
            entry["call_flow"] = name
            self.out.call_flows.add(name)
            return True
        entry["fallback_flow"] = route
        voice = _split_call_flow(str(item.fields.get("voice_url") or ""))[1]
        if voice != name:
            self.out.notes.append(
                f"{label}: {url_key} names flow {name} but the voice URL "
                f"{'names ' + voice if voice else 'names none'}; the fallback follows the "
                "voice URL's flow after `pulumi up`"
            )
        return True

    def all_hooks(self, item: Item, entry: dict[str, Any], label: str) -> None:
        for what in ("voice", "fallback", "status"):
            self.hooks(item, what, entry, label)

    # -- kinds --

    def build(self) -> Imported:
        env = self.out.environment
        env["credential_lists"] = [
            self.credential_list(i, n) for n, i in enumerate(self.of("CredentialList"))
        ]
        env["ip_access_control_lists"] = [self.acl(i) for i in self.of("IpAccessControlList")]
        env["applications"] = [a for a in map(self.application, self.of("Application")) if a]
        env["connection_policies"] = [p for p in map(self.policy, self.of("ConnectionPolicy")) if p]
        # Names first: domains and BYOC trunks refer to each other.
        domains = self.of("SipDomain")
        byocs = self.of("ByocTrunk")
        for item in domains:
            self.spec_name[("SipDomain", item.key)] = self.names.make(
                "SipDomain", str(item.fields.get("friendly_name") or item.key.split(".")[0])
            )
        for item in byocs:
            self.spec_name[("ByocTrunk", item.key)] = self.names.make("ByocTrunk", item.key)
        env["sip_domains"] = [d for d in map(self.sip_domain, domains) if d]
        env["byoc_trunks"] = [self.byoc_trunk(i) for i in byocs]
        env["trunks"] = [t for t in map(self.trunk, self.of("Trunk")) if t]
        env["numbers"] = [n for n in map(self.number, self.of("IncomingPhoneNumber")) if n]
        env["ip_records"] = [self.ip_record(i) for i in self.of("IpRecord")]
        env["source_ip_mappings"] = [
            m for m in map(self.source_ip_mapping, self.of("SourceIpMapping")) if m
        ]
        countries = [self.country(i) for i in self.of("DialingPermissionsCountry")]
        env["dialing_permissions"] = {"countries": countries}
        for key in list(env):
            if env[key] in ([], None):
                del env[key]
        return self.out

    def credential_list(self, item: Item, index: int) -> dict[str, Any]:
        entry = self.named("CredentialList", item, item.fields.get("friendly_name"))  # type: ignore[arg-type]
        creds = []
        for j, cred in enumerate(self.children("Credential", ("CredentialList", item.key))):
            creds.append({"username": cred.fields.get("username") or cred.key.rsplit("/", 1)[-1]})
            self.out.unmanaged_passwords.append(
                f"twilio-voice:environment.credential_lists[{index}].credentials[{j}].password"
            )
        if creds:
            entry["credentials"] = creds
        self.out.counts["credential list"] += 1
        return entry

    def acl(self, item: Item) -> dict[str, Any]:
        entry = self.named("IpAccessControlList", item, item.fields.get("friendly_name"))  # type: ignore[arg-type]
        names = _Names()
        addresses = []
        for ip in self.children("IpAddress", ("IpAccessControlList", item.key)):
            friendly = str(ip.fields.get("friendly_name") or ip.fields.get("ip_address"))
            name = names.make("ip", friendly)
            if name != friendly:
                self.out.notes.append(
                    f"IP ACL {entry['name']}: entry {friendly!r} is named {name!r} (the spec "
                    "names it; `pulumi up` renames it in Twilio)"
                )
            addresses.append(
                {
                    "name": name,
                    "ip_address": ip.fields.get("ip_address"),
                    "cidr_prefix_length": ip.fields.get("cidr_prefix_length") or 32,
                }
            )
        if addresses:
            entry["ip_addresses"] = addresses
        return entry

    def application(self, item: Item) -> dict[str, Any] | None:
        entry = self.named("Application", item, item.fields.get("friendly_name"))  # type: ignore[arg-type]
        label = f"application {item.key}"
        self.all_hooks(item, entry, label)
        if not {"flow", "call_flow", "external_url"} & entry.keys():
            self.out.skipped.append(f"{label}: no voice URL the spec can express")
            return None
        return entry

    def policy(self, item: Item) -> dict[str, Any] | None:
        entry = self.named("ConnectionPolicy", item, item.fields.get("friendly_name"))  # type: ignore[arg-type]
        names = _Names()
        targets = []
        for t in self.children("ConnectionPolicyTarget", ("ConnectionPolicy", item.key)):
            friendly = str(t.fields.get("friendly_name") or t.fields.get("target"))
            targets.append(
                {
                    "name": names.make("target", friendly),
                    "target": t.fields.get("target"),
                    "priority": t.fields.get("priority", 10),
                    "weight": t.fields.get("weight", 10),
                    "enabled": bool(t.fields.get("enabled", True)),
                }
            )
        if not targets:
            self.out.skipped.append(f"connection policy {item.key}: no targets")
            del self.spec_name[("ConnectionPolicy", item.key)]
            return None
        entry["targets"] = targets
        return entry

    def sip_domain(self, item: Item) -> dict[str, Any] | None:
        name = self.spec_name[("SipDomain", item.key)]
        entry: dict[str, Any] = {"name": name, "domain_name": item.key}
        friendly = item.fields.get("friendly_name")
        if friendly and friendly != name:
            entry["friendly_name"] = friendly
        label = f"SIP domain {item.key}"
        self.all_hooks(item, entry, label)
        if not {"flow", "call_flow", "external_url"} & entry.keys():
            self.out.skipped.append(f"{label}: no voice URL the spec can express")
            return None
        for flag in ("sip_registration", "secure", "emergency_calling_enabled"):
            if item.fields.get(flag):
                entry[flag] = True
        byoc = self.ref("ByocTrunk", item.fields.get("byoc_trunk_sid"))
        if byoc:
            entry["byoc_trunk"] = byoc
        if item.fields.get("emergency_caller_sid"):
            self.out.notes.append(f"{label}: emergency_caller_sid is not in the spec; left as is")
        parent = ("SipDomain", item.key)

        def mapped(kind: str, target: str) -> list[str]:
            keys = [i.key.rsplit("/", 1)[-1] for i in self.children(kind, parent)]
            return [n for n in (self.ref(target, k) for k in keys) if n]

        calls = {
            "credential_lists": mapped("SipDomainCallsCredentialListMapping", "CredentialList"),
            "ip_access_control_lists": mapped(
                "SipDomainCallsIpAccessControlListMapping", "IpAccessControlList"
            ),
        }
        registrations = mapped("SipDomainRegistrationsCredentialListMapping", "CredentialList")
        auth: dict[str, Any] = {}
        if any(calls.values()):
            auth["calls"] = {k: v for k, v in calls.items() if v}
        if registrations:
            auth["registrations"] = {"credential_lists": registrations}
        if auth:
            entry["auth"] = auth
        return entry

    def byoc_trunk(self, item: Item) -> dict[str, Any]:
        name = self.spec_name[("ByocTrunk", item.key)]
        entry: dict[str, Any] = {"name": name}
        if item.key != name:
            entry["friendly_name"] = item.key
        self.all_hooks(item, entry, f"BYOC trunk {item.key}")
        if item.fields.get("cnam_lookup_enabled"):
            entry["cnam_lookup_enabled"] = True
        policy = self.ref("ConnectionPolicy", item.fields.get("connection_policy_sid"))
        if policy:
            entry["connection_policy"] = policy
        domain = self.ref("SipDomain", item.fields.get("from_domain_sid"))
        if domain:
            entry["from_domain"] = domain
        return entry

    def trunk(self, item: Item) -> dict[str, Any] | None:
        f = item.fields
        if not f.get("domain_name"):
            self.out.skipped.append(f"trunk {f.get('friendly_name') or item.key}: no domain name")
            return None
        entry = self.named("Trunk", item, str(f.get("friendly_name") or item.key.split(".")[0]))
        entry["domain_name"] = f["domain_name"]
        for flag in ("secure", "cnam_lookup_enabled"):
            if f.get(flag):
                entry[flag] = True
        for key, default in (
            ("transfer_mode", "disable-all"),
            ("transfer_caller_id", "from-transferee"),
        ):
            if f.get(key) and f.get(key) != default:
                entry[key] = f[key]
        mode, trim = f.get("recording_mode"), f.get("recording_trim")
        if (mode or "do-not-record") != "do-not-record" or (trim or "do-not-trim") != "do-not-trim":
            entry["recording"] = {"mode": mode or "do-not-record", "trim": trim or "do-not-trim"}
        dr = f.get("disaster_recovery_url")
        if dr:
            flow = self.flows.get(str(dr))
            if flow and flow[1] == "twiml":
                entry["disaster_recovery_flow"] = flow[0]
            else:
                self.out.notes.append(
                    f"trunk {item.key}: disaster-recovery URL {dr} is not a flow of the app; "
                    "left out (`pulumi up` will clear it)"
                )
        names = _Names()
        urls = []
        for url in self.children("OriginationUrl", ("Trunk", item.key)):
            friendly = str(url.fields.get("friendly_name") or "origination")
            name = names.make("url", friendly)
            if name != friendly:
                self.out.notes.append(
                    f"trunk {item.key}: origination URL {friendly!r} is named {name!r}"
                )
            urls.append(
                {
                    "name": name,
                    "sip_url": url.fields.get("sip_url"),
                    "priority": url.fields.get("priority", 10),
                    "weight": url.fields.get("weight", 10),
                    "enabled": bool(url.fields.get("enabled", True)),
                }
            )
        if urls:
            entry["origination_urls"] = urls
        parent = ("Trunk", item.key)
        termination: dict[str, list[str]] = {}
        for kind, target, key in (
            ("TrunkCredentialList", "CredentialList", "credential_lists"),
            ("TrunkIpAccessControlList", "IpAccessControlList", "ip_access_control_lists"),
        ):
            keys = [i.key.rsplit("/", 1)[-1] for i in self.children(kind, parent)]
            names_ = [n for n in (self.ref(target, k) for k in keys) if n]
            if names_:
                termination[key] = names_
        if termination:
            entry["termination"] = termination
        return entry

    def number(self, item: Item) -> dict[str, Any] | None:
        f = item.fields
        e164 = item.key
        entry: dict[str, Any] = {"e164": e164}
        friendly = f.get("friendly_name")
        if friendly and friendly != default_number_name(e164):
            entry["friendly_name"] = friendly
        label = f"number {e164}"
        trunk = self.ref("Trunk", f.get("trunk_sid"))
        app = self.ref("Application", f.get("voice_application_sid"))
        if trunk:
            entry["trunk"] = trunk
        elif app:
            entry["application"] = app
        else:
            self.all_hooks(item, entry, label)
            if not {"flow", "call_flow", "external_url"} & entry.keys():
                self.out.skipped.append(
                    f"{label}: routes no calls (no voice URL, application or trunk); drift lists "
                    "it as unmanaged (info)"
                )
                return None
        if (trunk or app) and (f.get("voice_fallback_url") or f.get(_STATUS_FIELD[item.kind])):
            self.out.notes.append(
                f"{label}: fallback/status URLs are ignored by Twilio for a number routed to an "
                "application or trunk; `pulumi up` clears them"
            )
        if f.get("voice_caller_id_lookup") or (f.get("voice_receive_mode") or "voice") != "voice":
            self.out.notes.append(
                f"{label}: caller ID lookup / fax receive mode are not in the spec; `pulumi up` "
                "resets them"
            )
        return entry

    def ip_record(self, item: Item) -> dict[str, Any]:
        entry = self.named("IpRecord", item, str(item.fields.get("friendly_name") or item.key))
        entry["ip_address"] = item.fields.get("ip_address")
        prefix = item.fields.get("cidr_prefix_length") or 32
        if prefix != 32:
            entry["cidr_prefix_length"] = prefix
        return entry

    def source_ip_mapping(self, item: Item) -> dict[str, Any] | None:
        record = self.ref("IpRecord", item.parent[1] if item.parent else None)
        domain = self.ref("SipDomain", item.key.rsplit("/", 1)[-1])
        if not record or not domain:
            self.out.skipped.append(
                f"source IP mapping {item.key}: its record or domain is not imported"
            )
            return None
        return {"ip_record": record, "sip_domain": domain}

    def country(self, item: Item) -> dict[str, Any]:
        classes = [risk for risk, flag in RISK_FLAGS.items() if item.fields.get(flag)]
        entry: dict[str, Any] = {"iso_code": item.key}
        if classes != ["low_risk"]:
            entry["risk_classes"] = classes
        return entry


# An entry point's kind -> its spec list (infra.kinds).
_SPEC_LIST = {k.name: k.spec_key for k in KINDS if k.spec_key in CALL_FLOW_ROUTES and not k.parent}


def _split_call_flow(url: str) -> tuple[str, str | None]:
    """`https://h/voice/inbound?flow=main` -> (`https://h/voice/inbound`, `main`).

    Only the query the app's own URLs carry (`flow=<name>`, nothing else) counts; any other
    query leaves the URL as it is.
    """
    head, sep, query = url.partition("?")
    if not sep:
        return url, None
    pairs = parse_qsl(query, keep_blank_values=True)
    if len(pairs) == 1 and pairs[0][0] == "flow" and pairs[0][1]:
        return head, pairs[0][1]
    return url, None


def build_environment(
    items: list[Item], base_url: str, account_sid: str, *, local: bool = False
) -> Imported:
    """The spec (a plain dict, as YAML holds it) for the listed account."""
    return _Builder(items, base_url, account_sid, local).build()


def declare_call_flows(imported: Imported, call_flows: CallFlows) -> list[str]:
    """Add `call_flows` (from the app's artifact) to the imported spec; the flows the account
    enters that it does not declare (sorted; empty when all are).

    An entry point on one of the app's entry routes without `?flow=` (set up before the
    stack declared flows, or by hand) enters the default flow in the app: it is declared as
    `call_flow: <default flow>`, noted, since `pulumi up` then adds the `?flow=` to its URL.
    """
    env = imported.environment
    # The section as a person writes it: only what differs from the defaults.
    env["call_flows"] = call_flows.model_dump(mode="json", exclude_defaults=True)
    default = call_flows.entry_flow
    for key, route in CALL_FLOW_ROUTES.items():
        for entry in env.get(key, []):
            if entry.get("flow") == route:
                del entry["flow"]
                entry["call_flow"] = default
                what = entry.get("e164") or entry.get("name")
                imported.notes.append(
                    f"{key} {what}: its voice URL names no flow, so the app sends it to the "
                    f"default flow; declared as call_flow: {default} (`pulumi up` adds "
                    f"?flow={default} to the URL)"
                )
    return sorted(imported.call_flows - call_flows.flows.keys())


def header(imported: Imported, account: str, calls: int, stack: str) -> str:
    lines = [
        f"# Imported by `twilio-voice import --stack {stack}` from account {account} "
        f"({calls} REST calls).",
        "# Review it, then `twilio-voice validate`, `pulumi preview` (adopts, changes nothing) and",
        "# `twilio-voice drift` (clean). Inbound processing regions were not read (routes v2 has",
        "# no list endpoint); add `region:` where you pin one.",
    ]
    if imported.unmanaged_passwords:
        lines += [
            "#",
            "# Passwords cannot be read back from Twilio: these credentials exist and are adopted",
            "# by username, their passwords are not managed (never sent, never rotated) until set:",
        ]
        lines += [
            f"#   pulumi config set --secret --path '{path}'"
            for path in imported.unmanaged_passwords
        ]
    if imported.skipped:
        lines += ["#", "# Not imported (the spec cannot express them):"]
        lines += [f"#   - {s}" for s in imported.skipped]
    if imported.notes:
        lines += ["#", "# Notes:"]
        lines += [f"#   - {n}" for n in imported.notes]
    return "\n".join(lines) + "\n"


def counts(env: Mapping[str, Any]) -> str:
    parts = []
    for key in (
        "numbers",
        "applications",
        "sip_domains",
        "credential_lists",
        "ip_access_control_lists",
        "trunks",
        "byoc_trunks",
        "connection_policies",
        "ip_records",
        "source_ip_mappings",
    ):
        if env.get(key):
            parts.append(f"{len(env[key])} {key.replace('_', ' ')}")
    countries = (env.get("dialing_permissions") or {}).get("countries") or []
    parts.append(f"{len(countries)} dialing countries")
    return ", ".join(parts)


__all__ = [
    "AccountReader",
    "Imported",
    "build_environment",
    "counts",
    "declare_call_flows",
    "guess_base_url",
    "header",
    "read_account",
]
