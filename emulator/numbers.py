"""The phone numbers the emulated account owns: seeding, and "buying" one with POST."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import phonenumbers

from emulator import errors
from emulator.catalog import INCOMING_PHONE_NUMBER
from emulator.errors import TwilioError, invalid
from emulator.store import Record, Store

# Twilio's magic test number plus the fictional 555-01xx range the example stacks use.
DEFAULT_NUMBERS: tuple[str, ...] = (
    "+15005550006",
    *(f"+1415555{n:04d}" for n in range(100, 110)),
    *(f"+1212555{n:04d}" for n in range(100, 105)),
    "+442079460000",
    "+442079460001",
    "+61255501000",
)
E164_IN_TEXT = re.compile(r"\+[1-9]\d{7,14}")


def parse_e164(raw: str) -> str:
    """Normalise an E.164 number or raise Twilio's 21421."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise invalid(f"PhoneNumber {raw[:40]!r} is invalid", errors.PHONE_NUMBER_INVALID)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def friendly(e164: str) -> str:
    """Twilio's default friendly name: the number in national format."""
    parsed = phonenumbers.parse(e164, None)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def number_type(e164: str) -> str:
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    if kind == phonenumbers.PhoneNumberType.TOLL_FREE:
        return "tollfree"
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return "mobile"
    return "local"


def number_from_form(store: Store, form: Mapping[str, str]) -> Record:
    """Fields for a number bought with POST IncomingPhoneNumbers (PhoneNumber or AreaCode)."""
    raw, area = form.get("PhoneNumber", ""), form.get("AreaCode", "")
    if raw:
        e164 = parse_e164(raw)
    elif area:
        if not re.fullmatch(r"[2-9]\d\d", area):
            raise invalid(f"AreaCode {area[:10]!r} is not a valid US area code")
        e164 = _free_number(store, f"+1{area}555")
    else:
        raise invalid("Missing required parameter PhoneNumber or AreaCode in the post body")
    if store.find(INCOMING_PHONE_NUMBER.name, "phone_number", e164) is not None:
        raise TwilioError(
            400, errors.PHONE_NUMBER_UNAVAILABLE, f"PhoneNumber {e164} is not available"
        )
    return {"phone_number": e164, "friendly_name": friendly(e164), "type": number_type(e164)}


def _free_number(store: Store, prefix: str) -> str:
    for n in range(10000):
        candidate = f"{prefix}{n:04d}"
        if store.find(INCOMING_PHONE_NUMBER.name, "phone_number", candidate) is None:
            return candidate
    raise TwilioError(400, errors.PHONE_NUMBER_UNAVAILABLE, f"No numbers left in {prefix}")


def seed_numbers(store: Store, numbers: Iterable[str]) -> int:
    """Add owned numbers (skipping ones already owned); return how many were added."""
    added = 0
    owned = {r.get("phone_number") for _, r in store.items(INCOMING_PHONE_NUMBER.name)}
    for raw in numbers:
        e164 = parse_e164(raw)
        if e164 in owned:
            continue
        owned.add(e164)
        now = store.clock()
        record: Record = {
            **INCOMING_PHONE_NUMBER.defaults(),
            "phone_number": e164,
            "friendly_name": friendly(e164),
            "type": number_type(e164),
            "sid": store.new_sid("PN", e164),
            "account_sid": store.account_sid,
            "date_created": now,
            "date_updated": now,
        }
        store.put(INCOMING_PHONE_NUMBER.name, "", record)
        added += 1
    return added


def generated_numbers(count: int, start: int = 0) -> list[str]:
    """`count` distinct valid US numbers (+1 201-989 area codes, 555-01xx style lines)."""
    numbers: list[str] = []
    area, line = 201, start
    while len(numbers) < count:
        numbers.append(f"+1{area}555{line % 10000:04d}")
        line += 1
        if line % 10000 == 0:
            area += 1
    return numbers


def stack_files(*folders: Path) -> list[Path]:
    """The `Pulumi.<stack>.yaml` files in the given folders (deduplicated)."""
    found = {p.resolve() for folder in folders for p in folder.glob("Pulumi.*.yaml")}
    return sorted(found)


def numbers_in_files(paths: Iterable[Path]) -> list[str]:
    """Every E.164-looking string in the given files (stack YAML, plain lists)."""
    found: list[str] = []
    for path in paths:
        found.extend(E164_IN_TEXT.findall(path.read_text(encoding="utf-8")))
    return list(dict.fromkeys(found))


__all__ = [
    "DEFAULT_NUMBERS",
    "generated_numbers",
    "number_from_form",
    "numbers_in_files",
    "parse_e164",
    "seed_numbers",
    "stack_files",
]
