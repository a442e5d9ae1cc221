"""Pure helpers for call addresses: SIP URIs, E.164 numbers, conference rooms, log masking."""

from __future__ import annotations

import hashlib
import re

import phonenumbers

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SIP_URI = re.compile(r"^sips?:([^@;?\s]+)@([^;?\s>]+)", re.IGNORECASE)
# Any run of digits long enough to identify someone, also written with the visual separators
# people and PBXs use ("+1 (415) 555-0234", "415.555.0234", "+1%20415...", no-break spaces and
# hyphens): up to five separators between digits, anything but a letter, a digit or a URI's
# "@", ":" and ";".
_SEPARATOR = r"(?:%[0-9A-Fa-f]{2}|[^\w@:;]|_)"
_PHONE_LIKE = re.compile(rf"\d(?:{_SEPARATOR}{{0,5}}\d){{6,}}")
_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)
# Group 1 is a SIP URI's host[:port]; the bounded user part keeps the scan linear.
_SIP_HOST = re.compile(r"sips?:[^@<>]{0,256}@([^;?>\s]*)", re.IGNORECASE)


def is_e164(value: str) -> bool:
    """True for ``+`` followed by 7 to 15 digits, the first not zero."""
    return _E164.fullmatch(value) is not None


def sip_user(uri: str) -> str | None:
    """The user part of a ``sip:user@host`` URI (``To`` of a SIP domain call), else None."""
    match = _SIP_URI.match(uri.strip())
    return match.group(1) if match else None


def dialable_number(user: str, region: str | None = None) -> str | None:
    """The E.164 number a SIP user part stands for, or None if it is not surely one.

    ``+14155550100`` always. Digits without ``+`` only with a dialling ``region`` (ISO code):
    in ``US``, ``4155550100``, ``14155550100`` and ``011442071838750`` all resolve. Without a
    region they are ambiguous (``4155550100`` is also +41 55 555 01 00) and are not dialled.
    """
    if user.startswith("+"):
        return user if is_e164(user) else None
    if region is None:
        return None
    return _national(user, region)


def called_number(to: str, region: str | None = None) -> str | None:
    """The E.164 number in a ``To`` that is a number, a ``tel:`` URI or a SIP URI of one.

    For looking a route up, not for dialling: carriers often send E.164 without the ``+``
    (``sip:14155550100@…``). Bare digits are read by ``region``'s dialling rules first, and
    as E.164 without the ``+`` when they are no valid number there (or there is no region).
    """
    value = to.strip()
    if value.lower().startswith("tel:"):
        value = value[4:]
    user = sip_user(value)
    if user is None:
        return value if is_e164(value) else None
    return dialable_number(user, region) or (f"+{user}" if is_e164(f"+{user}") else None)


def _national(digits: str, region: str) -> str | None:
    """``digits`` as dialled in ``region`` -> a valid E.164 number, else None."""
    if not digits.isdigit():
        return None
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def conference_room(call_sid: str) -> str:
    """A deterministic room name for a customer's call: the same CallSid, the same room."""
    digest = hashlib.sha256(call_sid.encode("utf-8", "replace")).hexdigest()[:16]
    return f"transfer-{digest}"


def mask_phone(value: str) -> str:
    """Mask the middle of phone numbers for logs: ``+14155550234`` -> ``+1415****234``.

    The host of a SIP URI (often an IP address) stays readable; its user part, parameters
    and headers are masked like everything else.
    """
    if 11 <= len(value) <= 16 and value[0] == "+" and value[1:].isdigit():  # plain E.164
        return value[:5] + "*" * (len(value) - 8) + value[-3:]
    parts, start = [], 0
    for host in _SIP_HOST.finditer(value):
        parts.append(_PHONE_LIKE.sub(_mask_match, value[start : host.start(1)]))
        parts.append(host.group(1))
        start = host.end(1)
    parts.append(_PHONE_LIKE.sub(_mask_match, value[start:]))
    return "".join(parts)


def _mask_match(match: re.Match[str]) -> str:
    tokens = _TOKEN.findall(match.group(0))  # a %XX escape is one separator, not two digits
    digits = sum(1 for t in tokens if len(t) == 1 and t.isdigit())
    head = min(4, digits - 6)  # short numbers: still hide at least three digits
    hidden = range(head, digits - 3)
    out, seen = [], 0
    for token in tokens:
        if len(token) == 1 and token.isdigit():
            out.append("*" if seen in hidden else token)
            seen += 1
        else:
            out.append(token)
    return "".join(out)
