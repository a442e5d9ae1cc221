"""List the live account into drift items: one paged list call per collection.

Top-level collections are listed once each (PageSize=1000, so calls grow with pages). Child
collections (credentials of a list, IPs of an ACL, origination URLs and associations of a trunk,
auth mappings of a domain, targets of a policy) are listed once per *declared* parent that
exists live; an unmanaged parent is reported as a whole, its children are not read. Trunk phone
numbers come from the numbers' own `trunk_sid`, so they cost no call at all. Only GETs are sent:
a read-only API key is enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from infra.drift.model import Item, Value

Record = dict[str, Any]


class Lister(Protocol):
    """What collection needs from `infra.client.TwilioApi`."""

    @property
    def account_sid(self) -> str: ...

    def list(
        self, host: str, path: str, params: Mapping[str, str] | None = None
    ) -> list[Record]: ...

    def fetch(self, host: str, path: str) -> Record: ...


# Fields copied as-is from a live record (Twilio response names, as `declared` uses them).
_FIELDS: dict[str, tuple[str, ...]] = {
    "IncomingPhoneNumber": (
        "friendly_name",
        "voice_url",
        "voice_method",
        "voice_fallback_url",
        "voice_fallback_method",
        "status_callback",
        "status_callback_method",
    ),
    "Application": (
        "voice_url",
        "voice_method",
        "voice_fallback_url",
        "voice_fallback_method",
        "status_callback",
        "status_callback_method",
    ),
    "SipDomain": (
        "friendly_name",
        "voice_url",
        "voice_method",
        "voice_fallback_url",
        "voice_fallback_method",
        "voice_status_callback_url",
        "voice_status_callback_method",
        "sip_registration",
        "secure",
        "emergency_calling_enabled",
    ),
    "IpAddress": ("ip_address", "cidr_prefix_length"),
    "Trunk": (
        "friendly_name",
        "secure",
        "cnam_lookup_enabled",
        "transfer_mode",
        "transfer_caller_id",
        "disaster_recovery_url",
        "disaster_recovery_method",
    ),
    "OriginationUrl": ("sip_url", "priority", "weight", "enabled"),
    "ByocTrunk": (
        "voice_url",
        "voice_method",
        "voice_fallback_url",
        "voice_fallback_method",
        "status_callback_url",
        "status_callback_method",
        "cnam_lookup_enabled",
    ),
    "ConnectionPolicyTarget": ("target", "priority", "weight", "enabled"),
    "IpRecord": ("ip_address", "cidr_prefix_length"),
}


def _copy(kind: str, record: Mapping[str, Any]) -> dict[str, Value]:
    return {name: record.get(name) for name in _FIELDS.get(kind, ())}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class _Keys:
    """SID -> key per kind, and duplicate-key detection (a second live `X` is unmanaged)."""

    def __init__(self) -> None:
        self.by_sid: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()

    def claim(self, kind: str, key: str, sid: str) -> str:
        if (kind, key) in self._seen:
            key = f"{key} (duplicate {sid})"
        self._seen.add((kind, key))
        self.by_sid[sid] = key
        return key

    def ref(self, sid: Any) -> str | None:
        """The key of the resource `sid` names; the bare SID when it is not in the account."""
        if not sid:
            return None
        return self.by_sid.get(str(sid), str(sid))


def _api(account_sid: str, path: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}{path}"


class Collector:
    """Lists one account into items; `wanted` are the declared (kind, key) parents to descend."""

    def __init__(self, api: Lister, wanted: Iterable[tuple[str, str]]) -> None:
        self.api = api
        self.wanted = set(wanted)
        self.keys = _Keys()
        self.items: list[Item] = []

    def _add(
        self,
        kind: str,
        key: str,
        record: Mapping[str, Any],
        fields: Mapping[str, Value] | None = None,
        parent: tuple[str, str] | None = None,
    ) -> str:
        sid = _text(record.get("sid"))
        key = self.keys.claim(kind, key, sid)
        item_fields = {**_copy(kind, record), **(fields or {})}
        self.items.append(Item(kind, key, item_fields, sid or None, parent))
        return key

    def _children(self, kind: str, parents: dict[str, str]) -> Iterable[tuple[str, str]]:
        """(sid, key) of the live parents of `kind` that the spec declares."""
        for sid, key in parents.items():
            if (kind, key) in self.wanted:
                yield sid, key

    def collect(self) -> list[Item]:
        ac = self.api.account_sid
        # Lists first, so references from domains, trunks and numbers resolve to keys.
        clists = self._top("CredentialList", "api", _api(ac, "/SIP/CredentialLists.json"))
        acls = self._top("IpAccessControlList", "api", _api(ac, "/SIP/IpAccessControlLists.json"))
        self._top("Application", "api", _api(ac, "/Applications.json"))
        policies = self._top("ConnectionPolicy", "voice", "/v1/ConnectionPolicies")
        byocs_raw = self.api.list("voice", "/v1/ByocTrunks")
        domains_raw = self.api.list("api", _api(ac, "/SIP/Domains.json"))
        trunks = self._top("Trunk", "trunking", "/v1/Trunks", trunk=True)
        self._top("IpRecord", "voice", "/v1/IpRecords")

        # Domains and BYOC trunks refer to each other: claim both keys before resolving.
        domain_keys = {
            _text(r.get("sid")): self.keys.claim(
                "SipDomain", _text(r.get("domain_name")), _text(r.get("sid"))
            )
            for r in domains_raw
        }
        byoc_keys = {
            _text(r.get("sid")): self.keys.claim(
                "ByocTrunk", _text(r.get("friendly_name")), _text(r.get("sid"))
            )
            for r in byocs_raw
        }
        for r in domains_raw:
            sid = _text(r.get("sid"))
            self.items.append(
                Item(
                    "SipDomain",
                    domain_keys[sid],
                    {**_copy("SipDomain", r), "byoc_trunk": self.keys.ref(r.get("byoc_trunk_sid"))},
                    sid,
                )
            )
        for r in byocs_raw:
            sid = _text(r.get("sid"))
            fields = {
                **_copy("ByocTrunk", r),
                "connection_policy": self.keys.ref(r.get("connection_policy_sid")),
                "from_domain": self.keys.ref(r.get("from_domain_sid")),
            }
            self.items.append(Item("ByocTrunk", byoc_keys[sid], fields, sid))

        for r in self.api.list("api", _api(ac, "/IncomingPhoneNumbers.json")):
            e164 = _text(r.get("phone_number"))
            self._add(
                "IncomingPhoneNumber",
                e164,
                r,
                {"voice_application": self.keys.ref(r.get("voice_application_sid"))},
            )
            trunk_key = self.keys.ref(r.get("trunk_sid"))
            if trunk_key:
                self.items.append(
                    Item(
                        "TrunkPhoneNumber",
                        f"{trunk_key}/{e164}",
                        sid=_text(r.get("sid")),
                        parent=("Trunk", trunk_key),
                    )
                )

        for r in self.api.list("voice", "/v1/SourceIpMappings"):
            record_key = self.keys.ref(r.get("ip_record_sid")) or ""
            domain_key = self.keys.ref(r.get("sip_domain_sid")) or ""
            self.items.append(
                Item(
                    "SourceIpMapping",
                    f"{record_key}/{domain_key}",
                    sid=_text(r.get("sid")),
                    parent=("IpRecord", record_key),
                )
            )

        self._descend(ac, clists, acls, domain_keys, trunks, policies)
        return self.items

    def _top(self, kind: str, host: str, path: str, *, trunk: bool = False) -> dict[str, str]:
        """List a top-level collection; return SID -> key of what it holds."""
        keys: dict[str, str] = {}
        for r in self.api.list(host, path):
            natural = r.get("domain_name") if kind == "Trunk" else r.get("friendly_name")
            fields: dict[str, Value] = {}
            if trunk:
                fields = self._recording(r)
            keys[_text(r.get("sid"))] = self._add(kind, _text(natural), r, fields)
        return keys

    def _recording(self, trunk: Mapping[str, Any]) -> dict[str, Value]:
        recording = trunk.get("recording")
        if not isinstance(recording, Mapping):
            # Not embedded in this answer: one fetch for this trunk.
            recording = self.api.fetch("trunking", f"/v1/Trunks/{trunk.get('sid')}/Recording")
        return {"recording_mode": recording.get("mode"), "recording_trim": recording.get("trim")}

    def _assoc(self, kind: str, parent: tuple[str, str], host: str, path: str) -> None:
        """An association collection: items keyed `<parent key>/<referenced key>`."""
        for r in self.api.list(host, path):
            target = self.keys.by_sid.get(_text(r.get("sid"))) or _text(r.get("friendly_name"))
            key = f"{parent[1]}/{target}"
            self.items.append(Item(kind, key, sid=_text(r.get("sid")), parent=parent))

    def _descend(
        self,
        ac: str,
        clists: dict[str, str],
        acls: dict[str, str],
        domains: dict[str, str],
        trunks: dict[str, str],
        policies: dict[str, str],
    ) -> None:
        for sid, key in self._children("CredentialList", clists):
            parent = ("CredentialList", key)
            for r in self.api.list("api", _api(ac, f"/SIP/CredentialLists/{sid}/Credentials.json")):
                self._add("Credential", f"{key}/{_text(r.get('username'))}", r, parent=parent)
        for sid, key in self._children("IpAccessControlList", acls):
            parent = ("IpAccessControlList", key)
            path = _api(ac, f"/SIP/IpAccessControlLists/{sid}/IpAddresses.json")
            for r in self.api.list("api", path):
                self._add("IpAddress", f"{key}/{_text(r.get('friendly_name'))}", r, parent=parent)
        for sid, key in self._children("SipDomain", domains):
            parent = ("SipDomain", key)
            auth = _api(ac, f"/SIP/Domains/{sid}/Auth")
            self._assoc(
                "SipDomainCallsCredentialListMapping",
                parent,
                "api",
                f"{auth}/Calls/CredentialListMappings.json",
            )
            self._assoc(
                "SipDomainCallsIpAccessControlListMapping",
                parent,
                "api",
                f"{auth}/Calls/IpAccessControlListMappings.json",
            )
            self._assoc(
                "SipDomainRegistrationsCredentialListMapping",
                parent,
                "api",
                f"{auth}/Registrations/CredentialListMappings.json",
            )
        for sid, key in self._children("Trunk", trunks):
            parent = ("Trunk", key)
            for r in self.api.list("trunking", f"/v1/Trunks/{sid}/OriginationUrls"):
                self._add(
                    "OriginationUrl", f"{key}/{_text(r.get('friendly_name'))}", r, parent=parent
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
        for sid, key in self._children("ConnectionPolicy", policies):
            parent = ("ConnectionPolicy", key)
            for r in self.api.list("voice", f"/v1/ConnectionPolicies/{sid}/Targets"):
                self._add(
                    "ConnectionPolicyTarget",
                    f"{key}/{_text(r.get('friendly_name'))}",
                    r,
                    parent=parent,
                )


def collect_live(api: Lister, declared: Iterable[Item]) -> list[Item]:
    """Every live item of the account `api` reads, descending into declared parents only."""
    return Collector(api, {(i.kind, i.key) for i in declared}).collect()
