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
from infra.kinds import KIND_META, KINDS, KindMeta
from infra.resources.dialing_permissions_country import FLAGS as DIALING_FLAGS

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


# Listed once each, in this order (a source IP mapping names a record and a domain listed before).
TOP_LEVEL = (
    "CredentialList",
    "IpAccessControlList",
    "Application",
    "ConnectionPolicy",
    "ByocTrunk",
    "SipDomain",
    "Trunk",
    "IpRecord",
    "IncomingPhoneNumber",
)


class Collector:
    """Lists one account into items; `wanted` are the declared (kind, key) to descend into."""

    def __init__(
        self, api: Lister, wanted: Iterable[tuple[str, str]], *, inheritance: bool = False
    ) -> None:
        self.api = api
        self.wanted = set(wanted)
        self.inheritance = inheritance  # the spec declares dialing_permissions.inherit
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

    def _list(self, kind: str, parent_sid: str = "") -> list[Record]:
        """One paged list of `kind` (under the parent with SID `parent_sid`)."""
        meta = KIND_META[kind]
        assert meta.list_path is not None, kind
        host, path = meta.list_path
        return self.api.list(host, path.format(account=self.api.account_sid, parent=parent_sid))

    def _top(self, kind: str) -> list[Record]:
        """List a top-level collection, claiming the key of every resource in it."""
        records = self._list(kind)
        for r in records:
            natural = KIND_META[kind].natural_key(r, {"cidr_prefix_length": 32})
            if kind == "Trunk" and not isinstance(r.get("recording"), Mapping):
                # Not embedded in this answer: one fetch for this trunk.
                r = {
                    **r,
                    "recording": self.api.fetch("trunking", f"/v1/Trunks/{r['sid']}/Recording"),
                }
            self._resource(kind, natural, r)
        return records

    def collect(self) -> list[Item]:
        listed = {kind: self._top(kind) for kind in TOP_LEVEL}
        for r in self._list("SourceIpMapping"):
            record_key = self.ref(r.get("ip_record_sid")) or ""
            self.items.append(
                Item(
                    "SourceIpMapping",
                    f"{record_key}/{self.ref(r.get('sip_domain_sid')) or ''}",
                    sid=_text(r.get("sid")) or None,
                    parent=("IpRecord", record_key),
                )
            )
        for r in listed["IncomingPhoneNumber"]:
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
        for meta in KINDS:
            if meta.parent in listed and meta.list_path and "{parent}" in meta.list_path[1]:
                self._descend(meta, listed[meta.parent])
        if ("DialingPermissionsSettings", "") in self.wanted:
            self._dialing_permissions()
        return self.finish()

    def _dialing_permissions(self) -> None:
        """Countries with any risk class on (one list call for all), only for a stack that
        declares dialing_permissions: a country on that it does not declare is unmanaged."""
        for r in self._list("DialingPermissionsCountry"):
            if any(r.get(flag) for flag in DIALING_FLAGS):
                self._resource("DialingPermissionsCountry", _text(r.get("iso_code")), r)
        settings: Record = {}
        if self.inheritance:
            settings = self.api.fetch("voice", "/v1/Settings")
        self.items.append(
            Item(
                "DialingPermissionsSettings",
                "",
                normalise_live("DialingPermissionsSettings", settings),
            )
        )

    def _descend(self, meta: KindMeta, parents: list[Record]) -> None:
        """List `meta`'s kind under every live parent the spec declares."""
        for record in parents:
            sid = _text(record.get("sid"))
            parent = (meta.parent or "", self.by_sid.get(sid, ""))
            if parent not in self.wanted:
                continue
            for r in self._list(meta.name, sid):
                if meta.association:
                    # The mapped list's SID is the association's own.
                    own = _text(r.get("sid"))
                    target = self.by_sid.get(own) or _text(r.get("friendly_name"))
                    key = f"{parent[1]}/{target}"
                    self.items.append(Item(meta.name, key, sid=own or None, parent=parent))
                else:
                    key = f"{parent[1]}/{meta.natural_key(r)}"
                    self._resource(meta.name, key, r, parent)


def collect_live(api: Lister, declared: Iterable[Item]) -> list[Item]:
    """Every live item of the account `api` reads, descending into declared parents only."""
    declared = list(declared)
    inheritance = any(
        i.kind == "DialingPermissionsSettings"
        and i.fields.get("dialing_permissions_inheritance") is not None
        for i in declared
    )
    return Collector(api, {(i.kind, i.key) for i in declared}, inheritance=inheritance).collect()
