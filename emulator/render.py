"""Records to Twilio's JSON: instance bodies, self links, and each API family's list envelope.

2010 resources carry `uri`s relative to the api host (as Twilio's do, so the SDK resolves them
against its own base URL); v1/v2 resources carry absolute `url`s through the emulator's
`<base>/<twilio subdomain>/<twilio path>` scheme, so following them lands back here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from emulator import alerts
from emulator.errors import invalid
from emulator.kinds import Kind
from emulator.store import Record, Store

PAGING_PARAMS = ("PageSize", "Page", "PageToken")
NUMBER_VIEW_FIELDS = (
    "address_requirements",
    "api_version",
    "beta",
    "capabilities",
    "friendly_name",
    "phone_number",
    "sms_application_sid",
    "sms_fallback_method",
    "sms_fallback_url",
    "sms_method",
    "sms_url",
    "status_callback",
    "status_callback_method",
    "trunk_sid",
    "voice_application_sid",
    "voice_caller_id_lookup",
    "voice_fallback_method",
    "voice_fallback_url",
    "voice_method",
    "voice_url",
)


def twilio_path(template: str, params: Mapping[str, str]) -> str:
    """Fill a Twilio path template such as `/v1/Trunks/{Sid}`."""
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    return path


def format_date(timestamp: object, kind: Kind) -> str:
    assert isinstance(timestamp, int | float), timestamp
    moment = datetime.fromtimestamp(timestamp, UTC)
    if kind.is_2010:
        return format_datetime(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Renderer:
    """Renders records for one request (it knows the request's base URL)."""

    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")

    def link(self, kind: Kind, path: str) -> str:
        return path if kind.is_2010 else f"{self.base_url}/{kind.sub}{path}"

    def instance(self, kind: Kind, record: Record, params: Mapping[str, str]) -> dict[str, object]:
        if kind.strategy == "recording":
            recording = record.get("recording") or kind.defaults()
            assert isinstance(recording, dict)
            return dict(recording)
        path_params = {**params, "AccountSid": self.store.account_sid}
        special = self._special(kind, record, instance=True)
        if special is not None:
            return special
        if kind.strategy == "route":
            return self._route(kind, record, path_params)
        path_params["Sid"] = str(record["sid"])
        if kind.parent is not None:
            parent = record.get(kind.parent.field) or params.get(kind.parent.param, "")
            path_params[kind.parent.param] = str(parent)
        if kind.strategy == "trunk_phone_number":
            body: dict[str, object] = {name: record.get(name) for name in NUMBER_VIEW_FIELDS}
            body["links"] = {}
        else:
            body = {f.name: record.get(f.name, f.default) for f in kind.fields if f.output}
        body["sid"] = record["sid"]
        if kind.account_field:
            body["account_sid"] = self.store.account_sid
        body["date_created"] = format_date(record["date_created"], kind)
        body["date_updated"] = format_date(record["date_updated"], kind)
        if kind.parent is not None and kind.self_link:
            body[kind.parent.field] = path_params[kind.parent.param]
        if kind.self_link:
            self_path = twilio_path(kind.instance_path, path_params)
            body["uri" if kind.is_2010 else "url"] = self.link(kind, self_path)
            if kind.subresources:
                self._subresources(kind, body, self_path)
        self._computed(kind, body, record)
        return body

    def _special(self, kind: Kind, record: Record, *, instance: bool) -> dict[str, object] | None:
        """Dialing permissions and alerts: bodies without Twilio's usual sid/date fields."""
        if kind.strategy == "bulk_update":
            return {k: record[k] for k in ("update_count", "update_request")}
        if kind.strategy == "settings":
            return {
                "dialing_permissions_inheritance": record["dialing_permissions_inheritance"],
                "url": self.link(kind, kind.instance_path),
            }
        if kind.strategy == "country":
            iso = str(record["iso_code"])
            url = self.link(kind, twilio_path(kind.instance_path, {"IsoCode": iso}))
            body: dict[str, object] = {f.name: record.get(f.name) for f in kind.fields}
            body["url"] = url
            body["links"] = {"highrisk_special_prefixes": f"{url}/HighRiskSpecialPrefixes"}
            return body
        if kind.strategy == "alert":
            url = self.link(kind, twilio_path(kind.instance_path, {"Sid": str(record["sid"])}))
            return alerts.render(record, url, instance=instance)
        return None

    def _subresources(self, kind: Kind, body: dict[str, object], self_path: str) -> None:
        base = self_path.removesuffix(".json")
        links = {name: self.link(kind, base + suffix) for name, suffix in kind.subresources.items()}
        body["subresource_uris" if kind.is_2010 else "links"] = links

    def _computed(self, kind: Kind, body: dict[str, object], record: Record) -> None:
        """Fields Twilio derives from other resources (auth types from the mappings)."""
        sid = str(record["sid"])
        if kind.name == "sip_domain":
            kinds: dict[str, tuple[str, ...]] = {
                "CREDENTIAL_LIST": (
                    "auth_calls_credential_list_mapping",
                    "credential_list_mapping",
                ),
                "IP_ACL": (
                    "auth_calls_ip_access_control_list_mapping",
                    "ip_access_control_list_mapping",
                ),
            }
            body["auth_type"] = ",".join(self._auth_types(kinds, sid)) or None
        elif kind.name == "trunk":
            kinds = {
                "CREDENTIAL_LIST": ("trunk_credential_list",),
                "IP_ACL": ("trunk_ip_access_control_list",),
            }
            found = self._auth_types(kinds, sid)
            body["auth_type"] = ",".join(found) or None
            body["auth_type_set"] = found

    def _auth_types(self, kinds: Mapping[str, tuple[str, ...]], parent: str) -> list[str]:
        found = []
        for label, names in kinds.items():
            if any(next(self.store.items(name, parent), None) for name in names):
                found.append(label)
        return found

    def _route(self, kind: Kind, record: Record, params: dict[str, str]) -> dict[str, object]:
        assert kind.reference is not None
        key_field = kind.reference.param
        params[kind.instance_key] = str(record["sid"])
        return {
            key_field: record["sid"],
            "url": self.link(kind, twilio_path(kind.instance_path, params)),
            "sid": record["route_sid"],
            "account_sid": self.store.account_sid,
            "friendly_name": record.get("friendly_name"),
            "voice_region": record.get("voice_region"),
            "date_created": format_date(record["date_created"], kind),
            "date_updated": format_date(record["date_updated"], kind),
        }

    def page(
        self,
        kind: Kind,
        records: list[Record],
        params: Mapping[str, str],
        query: Mapping[str, str],
    ) -> dict[str, object]:
        """One page of a list in the kind's API family's envelope, with working next links."""
        size, page, offset = _page_window(records, query)
        items = records[offset : offset + size]
        list_path = twilio_path(kind.list_path, {**params, "AccountSid": self.store.account_sid})
        filters = {k: v for k, v in query.items() if k not in PAGING_PARAMS}

        def page_link(number: int, token: str | None) -> str:
            args = {**filters, "PageSize": str(size), "Page": str(number)}
            if token:
                args["PageToken"] = token
            return self.link(kind, f"{list_path}?{urlencode(args)}")

        has_next = offset + size < len(records)
        next_link = page_link(page + 1, f"PA{items[-1]['sid']}") if has_next and items else None
        prev_link = page_link(page - 1, f"PB{items[0]['sid']}") if page > 0 and items else None
        current = page_link(page, query.get("PageToken"))
        rendered = [
            self._special(kind, r, instance=False) or self.instance(kind, r, params) for r in items
        ]
        if kind.is_2010:
            return {
                kind.items_key: rendered,
                "end": offset + len(items) - 1 if items else 0,
                "first_page_uri": page_link(0, None),
                "next_page_uri": next_link,
                "page": page,
                "page_size": size,
                "previous_page_uri": prev_link,
                "start": offset,
                "uri": current,
            }
        return {
            kind.items_key: rendered,
            "meta": {
                "first_page_url": page_link(0, None),
                "key": kind.items_key,
                "next_page_url": next_link,
                "page": page,
                "page_size": size,
                "previous_page_url": prev_link,
                "url": current,
            },
        }


def _page_window(records: list[Record], query: Mapping[str, str]) -> tuple[int, int, int]:
    """(page size, page number, offset) from PageSize/Page/PageToken, as Twilio reads them."""
    size = _int_param(query, "PageSize", 50, 1, 1000)
    page = _int_param(query, "Page", 0, 0, 10**9)
    offset = page * size
    token = query.get("PageToken", "")
    # PA<sid>: the page after that record; PB<sid>: the page before it. Tokens survive
    # deletions between pages, which a plain offset would not.
    if token[:2] in ("PA", "PB"):
        index = next((i for i, r in enumerate(records) if r["sid"] == token[2:]), None)
        if index is not None:
            offset = index + 1 if token[:2] == "PA" else max(0, index - size)
    return size, page, offset


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}, got {value}")
    return value


__all__ = ["Renderer", "format_date", "twilio_path"]
