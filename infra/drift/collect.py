"""List the live account into drift items: one paged list call per collection.

Top-level collections are listed once each (PageSize=1000, so calls grow with pages). Child
collections (credentials of a list, IPs of an ACL, origination URLs and associations of a trunk,
auth mappings of a domain, targets of a policy) are listed once per *declared* parent that
exists live; an unmanaged parent is reported as a whole, its children are not read. A number's
trunk is its own `trunk_sid`, so trunk phone numbers cost no call. Only GETs are sent: a
read-only API key is enough. Live fields go through the providers' normalisers
(`kinds.normalise_live`), so drift sees a record as `pulumi refresh` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from infra.drift.kinds import REF_FIELDS, normalise_live
from infra.drift.model import Item
from infra.kinds import KIND_META

Record = dict[str, Any]


class Lister(Protocol):
    """What collection needs from `infra.client.TwilioApi`."""

    @property
    def account_sid(self) -> str: ...

    def list(
        self, host: str, path: str, params: Mapping[str, str] | None = None
    ) -> list[Record]: ...

    def fetch(self, host: str, path: str) -> Record: ...


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _api(account_sid: str, path: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}{path}"


class Collector:
    """Lists one account into items; `wanted` are the declared (kind, key) to descend into."""

    def __init__(self, api: Lister, wanted: Iterable[tuple[str, str]]) -> None:
        self.api = api
        self.wanted = set(wanted)
        self.by_sid: dict[str, str] = {}  # any SID -> key of its resource
        self._seen: set[tuple[str, str]] = set()
        self._pending: list[tuple[str, str, str, Record, tuple[str, str] | None]] = []
        self.items: list[Item] = []

    def claim(self, kind: str, key: str, sid: str) -> str:
        """Register a live resource's key; a second live resource with the same key is a
        duplicate (reported unmanaged, since `pulumi up` can adopt only one)."""
        if (kind, key) in self._seen:
            key = f"{key} (duplicate {sid})"
        self._seen.add((kind, key))
        if sid:
            self.by_sid[sid] = key
        return key

    def ref(self, sid: Any) -> str | None:
        """The key of the resource `sid` names; the bare SID when it is not in the account."""
        if not sid:
            return None
        return self.by_sid.get(str(sid), str(sid))

    def _resource(
        self,
        kind: str,
        key: str,
        record: Record,
        parent: tuple[str, str] | None = None,
    ) -> str:
        """Claim the key now; build the item once every reference can resolve (`finish`)."""
        sid = _text(record.get("sid"))
        key = self.claim(kind, key, sid)
        self._pending.append((kind, key, sid, record, parent))
        return key

    def finish(self) -> list[Item]:
        for kind, key, sid, record, parent in self._pending:
            fields = normalise_live(kind, record)
            for name in REF_FIELDS.get(kind, ()):
                if name in fields:
                    fields[name] = self.ref(fields[name])
            self.items.append(Item(kind, key, fields, sid or None, parent))
        self._pending.clear()
        return self.items

    def _top(self, kind: str, host: str, path: str) -> dict[str, str]:
        """List a top-level collection; return SID -> key of what it holds."""
        keys: dict[str, str] = {}
        for r in self.api.list(host, path):
            natural = KIND_META[kind].natural_key(r, {"cidr_prefix_length": 32})
            if kind == "Trunk" and not isinstance(r.get("recording"), Mapping):
                # Not embedded in this answer: one fetch for this trunk.
                r = {
                    **r,
                    "recording": self.api.fetch("trunking", f"/v1/Trunks/{r['sid']}/Recording"),
                }
            keys[_text(r.get("sid"))] = self._resource(kind, natural, r)
        return keys

    def collect(self) -> list[Item]:
        ac = self.api.account_sid
        clists = self._top("CredentialList", "api", _api(ac, "/SIP/CredentialLists.json"))
        acls = self._top("IpAccessControlList", "api", _api(ac, "/SIP/IpAccessControlLists.json"))
        self._top("Application", "api", _api(ac, "/Applications.json"))
        policies = self._top("ConnectionPolicy", "voice", "/v1/ConnectionPolicies")
        self._top("ByocTrunk", "voice", "/v1/ByocTrunks")
        domains = self._top("SipDomain", "api", _api(ac, "/SIP/Domains.json"))
        trunks = self._top("Trunk", "trunking", "/v1/Trunks")
        self._top("IpRecord", "voice", "/v1/IpRecords")
        numbers = self.api.list("api", _api(ac, "/IncomingPhoneNumbers.json"))
        for r in numbers:
            self._resource("IncomingPhoneNumber", _text(r.get("phone_number")), r)
        for r in self.api.list("voice", "/v1/SourceIpMappings"):
            record_key = self.ref(r.get("ip_record_sid")) or ""
            self.items.append(
                Item(
                    "SourceIpMapping",
                    f"{record_key}/{self.ref(r.get('sip_domain_sid')) or ''}",
                    sid=_text(r.get("sid")) or None,
                    parent=("IpRecord", record_key),
                )
            )
        for r in numbers:
            # A number the stack does not declare, routed into a declared trunk.
            e164 = _text(r.get("phone_number"))
            trunk_key = self.ref(r.get("trunk_sid"))
            if trunk_key and ("IncomingPhoneNumber", e164) not in self.wanted:
                self.items.append(
                    Item(
                        "TrunkPhoneNumber",
                        f"{trunk_key}/{e164}",
                        sid=_text(r.get("sid")) or None,
                        parent=("Trunk", trunk_key),
                    )
                )
        self._descend(ac, clists, acls, domains, trunks, policies)
        return self.finish()

    def _declared(self, kind: str, parents: dict[str, str]) -> Iterable[tuple[str, str]]:
        """(sid, key) of the live parents of `kind` that the spec declares."""
        for sid, key in parents.items():
            if (kind, key) in self.wanted:
                yield sid, key

    def _children(
        self, kind: str, parent: tuple[str, str], host: str, path: str, key_field: str
    ) -> None:
        for r in self.api.list(host, path):
            self._resource(kind, f"{parent[1]}/{_text(r.get(key_field))}", r, parent)

    def _assoc(self, kind: str, parent: tuple[str, str], host: str, path: str) -> None:
        """An association collection: items keyed `<parent key>/<referenced key>`."""
        for r in self.api.list(host, path):
            sid = _text(r.get("sid"))
            target = self.by_sid.get(sid) or _text(r.get("friendly_name"))
            self.items.append(Item(kind, f"{parent[1]}/{target}", sid=sid or None, parent=parent))

    def _descend(
        self,
        ac: str,
        clists: dict[str, str],
        acls: dict[str, str],
        domains: dict[str, str],
        trunks: dict[str, str],
        policies: dict[str, str],
    ) -> None:
        for sid, key in self._declared("CredentialList", clists):
            path = _api(ac, f"/SIP/CredentialLists/{sid}/Credentials.json")
            self._children("Credential", ("CredentialList", key), "api", path, "username")
        for sid, key in self._declared("IpAccessControlList", acls):
            path = _api(ac, f"/SIP/IpAccessControlLists/{sid}/IpAddresses.json")
            self._children("IpAddress", ("IpAccessControlList", key), "api", path, "ip_address")
        for sid, key in self._declared("SipDomain", domains):
            parent = ("SipDomain", key)
            auth = _api(ac, f"/SIP/Domains/{sid}/Auth")
            for kind, path in (
                ("SipDomainCallsCredentialListMapping", "/Calls/CredentialListMappings.json"),
                (
                    "SipDomainCallsIpAccessControlListMapping",
                    "/Calls/IpAccessControlListMappings.json",
                ),
                (
                    "SipDomainRegistrationsCredentialListMapping",
                    "/Registrations/CredentialListMappings.json",
                ),
            ):
                self._assoc(kind, parent, "api", auth + path)
        for sid, key in self._declared("Trunk", trunks):
            parent = ("Trunk", key)
            self._children(
                "OriginationUrl", parent, "trunking", f"/v1/Trunks/{sid}/OriginationUrls", "sip_url"
            )
            self._assoc(
                "TrunkCredentialList", parent, "trunking", f"/v1/Trunks/{sid}/CredentialLists"
            )
            self._assoc(
                "TrunkIpAccessControlList",
                parent,
                "trunking",
                f"/v1/Trunks/{sid}/IpAccessControlLists",
            )
        for sid, key in self._declared("ConnectionPolicy", policies):
            self._children(
                "ConnectionPolicyTarget",
                ("ConnectionPolicy", key),
                "voice",
                f"/v1/ConnectionPolicies/{sid}/Targets",
                "target",
            )


def collect_live(api: Lister, declared: Iterable[Item]) -> list[Item]:
    """Every live item of the account `api` reads, descending into declared parents only."""
    return Collector(api, {(i.kind, i.key) for i in declared}).collect()
