"""Voice Dialing Permissions (voice v1): countries, bulk country updates, settings.

Countries are reference data keyed by ISO code (the record's `sid` is the ISO code, never
rendered): seeded once per store from `emulator.countries` with Twilio's defaults for a new
account, changed only by `POST /v1/DialingPermissions/BulkCountryUpdates` (or the admin API, as
a Console user would). Settings are one record per account (inheritance from the parent
account; Twilio's default is `true`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from emulator.countries import DEFAULT_LOW_RISK, by_iso, countries
from emulator.errors import invalid, missing
from emulator.store import Record, Store

COUNTRY = "dialing_permissions_country"
SETTINGS = "dialing_permissions_settings"
SETTINGS_SID = "settings"
FLAGS = (
    "low_risk_numbers_enabled",
    "high_risk_special_numbers_enabled",
    "high_risk_tollfraud_numbers_enabled",
)
# Query filter -> record field
COUNTRY_FILTERS = {
    "LowRiskNumbersEnabled": "low_risk_numbers_enabled",
    "HighRiskSpecialNumbersEnabled": "high_risk_special_numbers_enabled",
    "HighRiskTollfraudNumbersEnabled": "high_risk_tollfraud_numbers_enabled",
}
MAX_BULK = 300


def seed_countries(store: Store) -> bool:
    """Put every country in the store once (an account always has them); True if it did."""
    if next(store.items(COUNTRY), None) is not None:
        return False
    now = store.clock()
    for country in countries():
        store.put(
            COUNTRY,
            "",
            {
                "sid": country.iso_code,
                "iso_code": country.iso_code,
                "name": country.name,
                "continent": country.continent,
                "country_codes": list(country.country_codes),
                "low_risk_numbers_enabled": country.iso_code in DEFAULT_LOW_RISK,
                "high_risk_special_numbers_enabled": False,
                "high_risk_tollfraud_numbers_enabled": False,
                "date_created": now,
                "date_updated": now,
            },
        )
    return True


def country_matches(record: Record, query: Mapping[str, str]) -> bool:
    if query.get("IsoCode") and record.get("iso_code") != query["IsoCode"].upper():
        return False
    if query.get("Continent") and record.get("continent") != query["Continent"].upper():
        return False
    wanted_code = query.get("CountryCode")
    if wanted_code:
        code = wanted_code if wanted_code.startswith("+") else f"+{wanted_code}"
        codes = record.get("country_codes")
        if not isinstance(codes, list) or code not in codes:
            return False
    for param, name in COUNTRY_FILTERS.items():
        raw = query.get(param)
        if raw is None or raw == "":
            continue
        if raw.lower() not in ("true", "false"):
            raise invalid(f"{param} must be true or false")
        if bool(record.get(name)) != (raw.lower() == "true"):
            return False
    return True


def _flag(update: Mapping[str, object], name: str, iso: str) -> bool | None:
    """An update object's flag: JSON booleans or the strings "true"/"false" (Twilio's example)."""
    value = update.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(f"UpdateRequest: {name} of {iso} must be true or false")


def bulk_update(store: Store, form: Mapping[str, str]) -> Record:
    """Apply `UpdateRequest` (a JSON array of per-country flag updates) all or nothing."""
    raw = form.get("UpdateRequest")
    if raw is None or raw == "":
        raise missing("UpdateRequest")
    try:
        updates = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid("UpdateRequest must be a JSON array of update objects") from None
    if not isinstance(updates, list) or not updates:
        raise invalid("UpdateRequest must be a non-empty JSON array of update objects")
    if len(updates) > MAX_BULK:
        raise invalid(f"UpdateRequest may update at most {MAX_BULK} countries at once")
    known = by_iso()
    changes: list[tuple[Record, dict[str, bool]]] = []
    for update in updates:
        if not isinstance(update, dict):
            raise invalid("UpdateRequest: every update must be an object")
        iso = str(update.get("iso_code", "")).upper()
        if iso not in known:
            raise invalid(f"UpdateRequest: unknown iso_code {iso[:10]!r}")
        unknown = sorted(set(update) - {"iso_code", *FLAGS})
        if unknown:
            raise invalid(f"UpdateRequest: unknown keys {unknown[:5]}")
        flags = {name: value for name in FLAGS if (value := _flag(update, name, iso)) is not None}
        record = store.get(COUNTRY, "", iso)
        assert record is not None, iso
        changes.append((record, flags))
    now = store.clock()
    for record, flags in changes:
        record.update(flags)
        record["date_updated"] = now
    return {"update_count": len(changes), "update_request": raw}


def settings(store: Store) -> Record:
    record = store.get(SETTINGS, "", SETTINGS_SID)
    if record is None:
        now = store.clock()
        record = {
            "sid": SETTINGS_SID,
            "dialing_permissions_inheritance": True,
            "date_created": now,
            "date_updated": now,
        }
        store.put(SETTINGS, "", record)
    return record


def update_settings(store: Store, form: Mapping[str, str]) -> Record:
    record = settings(store)
    raw = form.get("DialingPermissionsInheritance")
    if raw is not None:
        if raw.lower() not in ("true", "false"):
            raise invalid("DialingPermissionsInheritance must be true or false")
        record["dialing_permissions_inheritance"] = raw.lower() == "true"
        record["date_updated"] = store.clock()
    return record


__all__ = [
    "COUNTRY",
    "FLAGS",
    "SETTINGS",
    "bulk_update",
    "country_matches",
    "seed_countries",
    "settings",
    "update_settings",
]
