"""Generic create/fetch/list/update/delete over a `Kind`, with Twilio's rules.

Callers hold `store.lock` for the whole operation (the WSGI app does), so a check and the
write that follows it cannot interleave with another request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from emulator import alerts, dialing, errors
from emulator.catalog import BY_NAME, KINDS
from emulator.errors import TwilioError, invalid, missing, not_found
from emulator.fields import Field, is_sid
from emulator.kinds import Kind
from emulator.numbers import number_from_form
from emulator.store import Record, Store


class Crud:
    """Twilio's resource semantics over a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- lookups -------------------------------------------------------------------------

    def parent_sid(self, kind: Kind, params: Mapping[str, str], path: str) -> str:
        """The parent SID from the path, after checking the parent exists (404 otherwise)."""
        if kind.parent is None:
            return ""
        sid = params[kind.parent.param]
        parent_kind = BY_NAME[kind.parent.kind]
        if not is_sid(sid, parent_kind.prefix) or self.store.get(parent_kind.name, "", sid) is None:
            raise not_found(path)
        return sid

    def fetch(self, kind: Kind, params: Mapping[str, str], path: str) -> Record:
        if kind.strategy == "route":
            return self._route(kind, params, path)
        if kind.strategy == "recording":
            return self._trunk(params["TrunkSid"], path)
        if kind.strategy == "settings":
            return dialing.settings(self.store)
        if kind.strategy == "country":
            country = self.store.get(kind.name, "", params["IsoCode"].upper())
            if country is None:
                raise not_found(path)
            return country
        parent = self.parent_sid(kind, params, path)
        sid = params.get("Sid", "")
        if kind.strategy == "trunk_phone_number":
            number = self.store.get("incoming_phone_number", "", sid)
            if number is None or number.get("trunk_sid") != parent:
                raise not_found(path)
            return number
        record = self.store.get(kind.name, parent, sid) if is_sid(sid, kind.prefix) else None
        if record is None:
            raise not_found(path)
        return record

    def list(
        self, kind: Kind, params: Mapping[str, str], query: Mapping[str, str], path: str
    ) -> list[Record]:
        parent = self.parent_sid(kind, params, path)
        if kind.strategy == "trunk_phone_number":
            numbers = self.store.items("incoming_phone_number")
            return [r for _, r in numbers if r.get("trunk_sid") == parent]
        records = [record for _, record in self.store.items(kind.name, parent)]
        if kind.strategy == "country":
            return [r for r in records if dialing.country_matches(r, query)]
        if kind.strategy == "alert":
            return alerts.newest_first([r for r in records if alerts.alert_matches(r, query)])
        return [r for r in records if _matches_filters(kind, r, query)]

    # ---- writes --------------------------------------------------------------------------

    def create(
        self, kind: Kind, params: Mapping[str, str], form: Mapping[str, str], path: str
    ) -> Record:
        if kind.strategy == "bulk_update":
            return dialing.bulk_update(self.store, form)
        parent = self.parent_sid(kind, params, path)
        if kind.strategy == "trunk_phone_number":
            return self._associate_number(kind, parent, form)
        if kind.reference is not None:
            return self._create_mapping(kind, parent, form)
        record: Record = dict(kind.defaults())
        if kind.strategy == "number":
            record.update(number_from_form(self.store, form))
        for field in kind.fields:
            if not field.create:
                continue
            raw = form.get(field.param)
            if raw is None:
                if field.required:
                    raise missing(field.param)
                continue
            record[field.name] = self._read(field, raw, creating=True)
        _apply_exclusive_routing(record, form)
        if "password" in record:
            record["password"] = _digest(record["password"])
        now = self.store.clock()
        record.update(
            sid=self.store.new_sid(kind.prefix, f"{path}?{sorted(form.items())}"),
            account_sid=self.store.account_sid,
            date_created=now,
            date_updated=now,
        )
        if kind.parent is not None:
            record[kind.parent.field] = parent
        self._check_unique(kind, parent, record)
        self.store.put(kind.name, parent, record)
        return record

    def update(
        self, kind: Kind, params: Mapping[str, str], form: Mapping[str, str], path: str
    ) -> Record:
        if kind.strategy == "settings":
            return dialing.update_settings(self.store, form)
        record = self.fetch(kind, params, path)
        if kind.strategy == "recording":
            return self._update_recording(kind, record, form)
        changes: Record = {}
        for field in kind.fields:
            if not field.update:
                continue
            raw = form.get(field.param)
            if raw is None:
                if field.required_update:
                    raise missing(field.param)
                continue
            changes[field.name] = self._read(field, raw, creating=False)
        if "password" in changes:
            changes["password"] = _digest(changes["password"])
        candidate = {**record, **changes}
        _apply_exclusive_routing(candidate, form)
        parent = str(candidate.get(kind.parent.field, "")) if kind.parent else ""
        if kind.strategy != "route":
            self._check_unique(kind, parent, candidate)
        candidate["date_updated"] = self.store.clock()
        record.clear()
        record.update(candidate)
        return record

    def delete(self, kind: Kind, params: Mapping[str, str], path: str) -> None:
        record = self.fetch(kind, params, path)
        if kind.strategy == "trunk_phone_number":
            record["trunk_sid"] = None
            record["date_updated"] = self.store.clock()
            return
        parent = str(record.get(kind.parent.field, "")) if kind.parent else ""
        self._check_not_in_use(kind, str(record["sid"]))
        self.remove(kind, parent, str(record["sid"]))

    def remove(self, kind: Kind, parent: str, sid: str) -> None:
        """Delete a record, cascading to children and clearing or dropping references to it."""
        self.store.remove(kind.name, parent, sid)
        for other in KINDS:
            if other.strategy in (
                "trunk_phone_number",
                "recording",
                "route",
                "country",
                "bulk_update",
                "settings",
                "alert",
            ):
                continue
            for key, rec in list(self.store.items(other.name)):
                if other.parent is not None and other.parent.kind == kind.name and key[0] == sid:
                    self.remove(other, key[0], key[1])
                    continue
                for field in other.fields:
                    if field.ref == kind.name and rec.get(field.name) == sid:
                        if other.on_ref_delete == "cascade":
                            self.remove(other, key[0], key[1])
                            break
                        rec[field.name] = None

    def _check_not_in_use(self, kind: Kind, sid: str) -> None:
        for other in KINDS:
            if other.reference is None or other.reference.kind != kind.name:
                continue
            if other.on_ref_delete != "block":
                continue
            for (parent, mapped), _ in self.store.items(other.name):
                if mapped == sid:
                    raise invalid(
                        f"{kind.name} {sid} is still in use by {other.name} under {parent}; "
                        "delete that mapping first"
                    )

    # ---- helpers -------------------------------------------------------------------------

    def _read(self, field: Field, raw: str, *, creating: bool) -> object:
        value = field.read(raw, creating=creating)
        if field.ref and isinstance(value, str) and self.store.get(field.ref, "", value) is None:
            raise TwilioError(404, errors.NOT_FOUND, f"{field.param} {value} was not found")
        return value

    def _check_unique(self, kind: Kind, parent: str, record: Record) -> None:
        for name in kind.unique:
            value = record.get(name)
            if value in (None, ""):
                continue
            scope = None if kind.unique_scope == "global" else parent
            for _, other in self.store.items(kind.name, scope):
                if other.get(name) == value and other.get("sid") != record.get("sid"):
                    raise invalid(
                        f"{name} {value!s:.80} is already in use ({other['sid']})", kind.unique_code
                    )

    def _create_mapping(self, kind: Kind, parent: str, form: Mapping[str, str]) -> Record:
        assert kind.reference is not None
        target = self._referenced(kind, form)
        if self.store.get(kind.name, parent, str(target["sid"])) is not None:
            raise invalid(f"{target['sid']} is already mapped to {parent}")
        now = self.store.clock()
        record: Record = {
            "sid": target["sid"],
            "account_sid": self.store.account_sid,
            "friendly_name": target.get("friendly_name"),
            "date_created": now,
            "date_updated": now,
        }
        if kind.parent is not None:
            record[kind.parent.field] = parent
        self.store.put(kind.name, parent, record)
        return record

    def _referenced(self, kind: Kind, form: Mapping[str, str]) -> Record:
        assert kind.reference is not None
        param, target_kind = kind.reference.param, BY_NAME[kind.reference.kind]
        sid = form.get(param, "")
        if not sid:
            raise missing(param)
        if not is_sid(sid, target_kind.prefix):
            raise invalid(f"{param} must be a {target_kind.prefix} SID")
        target = self.store.get(target_kind.name, "", sid)
        if target is None:
            raise TwilioError(404, errors.NOT_FOUND, f"{param} {sid} was not found")
        return target

    def _associate_number(self, kind: Kind, trunk_sid: str, form: Mapping[str, str]) -> Record:
        number = self._referenced(kind, form)
        if number.get("trunk_sid") == trunk_sid:
            raise invalid(f"{number['sid']} is already associated with trunk {trunk_sid}")
        number.update(trunk_sid=trunk_sid, voice_application_sid=None)
        number["date_updated"] = self.store.clock()
        return number

    def _trunk(self, trunk_sid: str, path: str) -> Record:
        trunk = self.store.get("trunk", "", trunk_sid) if is_sid(trunk_sid, "TK") else None
        if trunk is None:
            raise not_found(path)
        return trunk

    def _update_recording(self, kind: Kind, trunk: Record, form: Mapping[str, str]) -> Record:
        current = trunk.get("recording")
        recording = dict(current) if isinstance(current, dict) else kind.defaults()
        for field in kind.fields:
            raw = form.get(field.param)
            if raw is not None:
                recording[field.name] = field.read(raw, creating=False)
        trunk["recording"] = recording
        trunk["date_updated"] = self.store.clock()
        return trunk

    def _route(self, kind: Kind, params: Mapping[str, str], path: str) -> Record:
        """Routes v2 records are keyed by the natural key and exist while the target does."""
        assert kind.reference is not None
        key = params[kind.instance_key]
        target_kind = kind.reference.kind
        target_field = "phone_number" if target_kind == "incoming_phone_number" else "domain_name"
        if self.store.find(kind.reference.kind, target_field, key) is None:
            raise not_found(path)
        record = self.store.get(kind.name, "", key)
        if record is None:
            now = self.store.clock()
            record = {
                **kind.defaults(),
                "sid": key,
                "route_sid": self.store.new_sid("QQ", key),
                kind.reference.param: key,
                "account_sid": self.store.account_sid,
                "date_created": now,
                "date_updated": now,
            }
            self.store.put(kind.name, "", record)
        return record


# List filters of the simulator's calls and recordings: query parameter -> field (exact match).
_FILTERS = {
    "call": {"To": "to", "From": "from", "Status": "status", "ParentCallSid": "parent_call_sid"},
    "call_recording": {"CallSid": "call_sid", "ConferenceSid": "conference_sid"},
}


def _matches_filters(kind: Kind, record: Record, query: Mapping[str, str]) -> bool:
    for param, name in _FILTERS.get(kind.strategy, {}).items():
        if query.get(param) and str(record.get(name)) != query[param]:
            return False
    if kind.strategy == "number":
        wanted = query.get("PhoneNumber")
        if wanted and wanted.replace("*", "") not in str(record.get("phone_number", "")):
            return False
    wanted_name = query.get("FriendlyName")
    return not wanted_name or record.get("friendly_name") == wanted_name


def _apply_exclusive_routing(record: Record, form: Mapping[str, str]) -> None:
    """Twilio: setting a voice_application_sid clears trunk_sid, and vice versa."""
    if "trunk_sid" not in record:
        return
    app, trunk = form.get("VoiceApplicationSid"), form.get("TrunkSid")
    if app and trunk:
        raise invalid("Set either VoiceApplicationSid or TrunkSid, not both")
    if app:
        record["trunk_sid"] = None
    if trunk:
        record["voice_application_sid"] = None


def _digest(password: object) -> str:
    return "sha256:" + hashlib.sha256(str(password).encode()).hexdigest()


__all__ = ["Crud"]
