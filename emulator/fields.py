"""Typed fields of a resource kind: form parameter name, default, and how a form value is read."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from emulator.errors import TwilioError, invalid, missing

SID_HEX = "[0-9a-fA-F]{32}"
HTTP_METHODS = ("GET", "POST")


def pascal(snake: str) -> str:
    """`voice_url` -> `VoiceUrl`, the SDK's form parameter name for a response field."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def is_sid(value: str, prefix: str) -> bool:
    return re.fullmatch(f"{prefix}{SID_HEX}", value) is not None


@dataclass(frozen=True)
class Field:
    """One resource field: how Twilio names, defaults, requires and validates it.

    `type` is one of str, url, method, bool, int, enum, sid, ip, sip_uri. An empty form value
    clears the field back to its default (that is how the SDK clears a field).
    """

    name: str
    type: str = "str"
    default: object = None
    create: bool = True
    update: bool = True
    required: bool = False
    required_update: bool = False
    enum: tuple[str, ...] = ()
    prefix: str = ""
    ref: str = ""
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    output: bool = True
    check: Callable[[str], None] | None = None

    @property
    def param(self) -> str:
        return pascal(self.name)

    def read(self, raw: str, *, creating: bool) -> object:
        """Turn one form value into the stored value, or raise Twilio's 400."""
        required = self.required if creating else self.required_update
        if raw == "":
            if required:
                raise missing(self.param)
            return self.default
        value = self._parse(raw)
        if self.check is not None:
            self.check(raw)
        return value

    def _parse(self, raw: str) -> object:
        param = self.param
        if self.type == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise invalid(f"{param} must be true or false, got {raw[:40]!r}")
            return lowered == "true"
        if self.type == "int":
            return self._parse_int(raw)
        if self.type == "method":
            if raw.upper() not in HTTP_METHODS:
                raise invalid(f"{param} must be GET or POST, got {raw[:40]!r}")
            return raw.upper()
        if self.type == "enum" and raw not in self.enum:
            raise invalid(f"{param} must be one of {', '.join(self.enum)}, got {raw[:40]!r}")
        if self.type == "url":
            _check_url(param, raw)
        if self.type == "sid" and not is_sid(raw, self.prefix):
            raise invalid(f"{param} must be a {self.prefix} SID ({self.prefix} + 32 hex digits)")
        if self.type == "ip":
            try:
                ipaddress.IPv4Address(raw)
            except ValueError:
                raise invalid(f"{param} {raw[:60]!r} is not a valid IPv4 address") from None
        if self.type == "sip_uri" and (not raw.startswith("sip:") or len(raw) < 5):
            raise invalid(f"{param} must be a sip: URI (sips: is not supported), got {raw[:60]!r}")
        if self.max_length is not None and len(raw) > self.max_length:
            raise invalid(f"{param} must be at most {self.max_length} characters long")
        return raw

    def _parse_int(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise invalid(f"{self.param} must be an integer, got {raw[:40]!r}") from None
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(f"{self.param} must be between {low} and {high}, got {value}")
        return value


def _check_url(param: str, raw: str) -> None:
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid(f"{param} {raw[:80]!r} is not a valid http(s) URL")


def check_password(raw: str) -> None:
    """Twilio: at least 12 characters, at least one digit, mixed case."""
    strong = (
        len(raw) >= 12
        and any(c.isdigit() for c in raw)
        and any(c.islower() for c in raw)
        and any(c.isupper() for c in raw)
    )
    if not strong:
        raise invalid(
            "Password must be at least 12 characters long and contain at least one digit, "
            "one lower-case and one upper-case letter (e.g. IWasAtSignal2018)"
        )


def domain_suffix_check(suffix: str, code: int) -> Callable[[str], None]:
    """A check that a domain name ends with `suffix` and is made of DNS labels."""
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

    def check(raw: str) -> None:
        head = raw[: -len(suffix)] if raw.endswith(suffix) else ""
        if not head.endswith(".") or not re.fullmatch(rf"(?:{label}\.)+", head):
            raise TwilioError(
                400, code, f"Invalid domain name {raw[:80]!r}: it must end with .{suffix}"
            )

    return check


__all__ = ["Field", "check_password", "domain_suffix_check", "is_sid", "pascal"]
