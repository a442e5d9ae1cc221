"""What a simulated call is made of: the script (who calls what, what the caller does, how each
dialled party behaves, what the app's URLs answer). The records it leaves (calls, recordings,
conferences, Monitor alerts) are the account's, in the emulator's store.

A :class:`CallSpec` travels as JSON (the admin API's ``POST /_admin/calls``), so it is read from
plain mappings by :meth:`CallSpec.from_mapping`, which names the path of any bad value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ANSWERS = ("answered", "busy", "no-answer", "failed")
ORIGINATION = ("answered", "unreachable", "busy")
DIRECTIONS = ("inbound", "outbound")
CALLER_ACTIONS = ("press", "say", "silence", "message", "hangup")
FAULTS = ("status", "timeout", "connection", "content_type", "body")
MAX_DOCUMENTS = 50  # TwiML documents per call: a Redirect loop ends the call here
DEFAULT_TIMEOUT = 15.0  # Twilio waits 15 s for a webhook answer by default


class SpecError(ValueError):
    """A call or scenario that cannot be run; the message names the path of the bad value."""


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SpecError(f"{where}: expected text, got {type(value).__name__}")
    return str(value)


def _int(value: object, where: str, low: int = 0, high: int = 86_400) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{where}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _choice(value: object, where: str, choices: tuple[str, ...]) -> str:
    text = _text(value, where)
    if text not in choices:
        raise SpecError(f"{where}: {text!r} is not one of {', '.join(choices)}")
    return text


def _only(data: Mapping[str, Any], where: str, keys: set[str]) -> None:
    unknown = sorted(set(data) - keys)
    if unknown:
        raise SpecError(f"{where}: unknown keys {unknown}; known: {sorted(keys)}")


@dataclass(frozen=True)
class Party:
    """How one dialled party (a number, SIP URI, client, queue or conference) behaves."""

    answer: str = "answered"
    seconds: int = 30  # talk time once answered (in a conference: time before leaving)

    @classmethod
    def from_value(cls, value: object, where: str) -> Party:
        if isinstance(value, str):
            return cls(_choice(value, where, ANSWERS))
        data = _mapping(value, where)
        _only(data, where, {"answer", "seconds"})
        return cls(
            _choice(data.get("answer", "answered"), f"{where}.answer", ANSWERS),
            _int(data.get("seconds", 30), f"{where}.seconds"),
        )


@dataclass(frozen=True)
class CallerStep:
    """One thing the caller does when the call asks for input: press, say, stay silent, leave
    a message (``<Record>``) or hang up."""

    action: str
    value: str = ""
    seconds: int = 0
    finish: str = ""  # a message: the key that ends it, or "hangup" / "timeout"

    @classmethod
    def from_value(cls, value: object, where: str) -> CallerStep:
        if value in ("silence", "hangup"):
            return cls(str(value))
        data = _mapping(value, where)
        if len(data) != 1:
            raise SpecError(
                f"{where}: one of press: <digits>, say: <words>, silence, "
                f"message: {{seconds, finish}}, hangup"
            )
        ((action, arg),) = data.items()
        if action not in CALLER_ACTIONS:
            raise SpecError(f"{where}: {action!r} is not one of {', '.join(CALLER_ACTIONS)}")
        if action == "press":
            digits = _text(arg, f"{where}.press")
            if not digits or any(c not in "0123456789*#w" for c in digits):
                raise SpecError(f"{where}.press: DTMF digits 0-9 * # (w waits), got {digits!r}")
            return cls("press", digits)
        if action == "say":
            return cls("say", _text(arg, f"{where}.say"))
        if action == "message":
            spec = _mapping(arg, f"{where}.message")
            _only(spec, f"{where}.message", {"seconds", "finish"})
            finish = _text(spec.get("finish", "#"), f"{where}.message.finish")
            return cls(
                "message", "", _int(spec.get("seconds", 5), f"{where}.message.seconds"), finish
            )
        return cls(action)


@dataclass(frozen=True)
class AppFault:
    """What the app's URL answers instead of the app: a status, a timeout, a wrong content
    type or a body (the request is not sent). ``times`` limits how often (0: always)."""

    path: str
    kind: str
    status: int = 500
    content_type: str = "text/xml"
    body: str = ""
    times: int = 0

    @classmethod
    def from_value(cls, value: object, where: str) -> AppFault:
        data = _mapping(value, where)
        _only(
            data,
            where,
            {"path", "status", "timeout", "connection", "content_type", "body", "times"},
        )
        path = _text(data.get("path", ""), f"{where}.path")
        if not path.startswith(("/", "http://", "https://")):
            raise SpecError(f"{where}.path: a URL path (/voice/inbound) or URL, got {path!r}")
        times = _int(data.get("times", 0), f"{where}.times", 0, 1000)
        if data.get("timeout"):
            return cls(path, "timeout", times=times)
        if data.get("connection"):
            return cls(path, "connection", times=times)
        if "body" in data or "content_type" in data:
            return cls(
                path,
                "body",
                _int(data.get("status", 200), f"{where}.status", 100, 599),
                _text(data.get("content_type", "text/xml"), f"{where}.content_type"),
                _text(data.get("body", ""), f"{where}.body"),
                times,
            )
        if "status" in data:
            return cls(
                path, "status", _int(data["status"], f"{where}.status", 100, 599), times=times
            )
        raise SpecError(f"{where}: give status, timeout, connection, content_type or body")


@dataclass(frozen=True)
class CallSpec:
    """One simulated inbound call."""

    to: str
    from_: str = "+12125550199"
    byoc_trunk: str = ""
    caller: tuple[CallerStep, ...] = ()
    parties: Mapping[str, Party] = field(default_factory=dict)
    origination: str = "answered"
    source_ip: str = "198.51.100.20"
    sip_username: str = ""
    sip_password: str = ""
    sip_headers: Mapping[str, str] = field(default_factory=dict)
    caller_name: str = ""
    faults: tuple[AppFault, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    max_documents: int = MAX_DOCUMENTS
    # Outbound (an API call to `to` from `from`, answered by `url`'s TwiML):
    direction: str = "inbound"
    url: str = ""
    machine_detection: str = ""
    answered_by: str = "human"
    status_callback: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "call") -> CallSpec:
        known = {
            "to",
            "from",
            "byoc_trunk",
            "caller",
            "parties",
            "origination",
            "source_ip",
            "sip_auth",
            "sip_headers",
            "caller_name",
            "app_faults",
            "timeout",
            "max_documents",
            "direction",
            "url",
            "machine_detection",
            "answered_by",
            "status_callback",
            "flow",
            "status_callback_flow",
        }
        _only(data, where, known)
        direction = _choice(data.get("direction", "inbound"), f"{where}.direction", DIRECTIONS)
        if direction == "outbound" and not (data.get("url") or data.get("flow")):
            raise SpecError(f"{where}: an outbound call needs the flow (or url) that answers it")
        detection = _text(data.get("machine_detection", ""), f"{where}.machine_detection")
        if detection not in ("", "Enable", "DetectMessageEnd"):
            raise SpecError(f"{where}.machine_detection: Enable or DetectMessageEnd")
        if "to" not in data:
            raise SpecError(
                f"{where}.to: required (an owned number, a SIP URI or, with byoc_trunk, "
                f"the called number)"
            )
        caller = data.get("caller") or []
        if not isinstance(caller, list):
            raise SpecError(f"{where}.caller: expected a list of steps")
        faults = data.get("app_faults") or []
        if not isinstance(faults, list):
            raise SpecError(f"{where}.app_faults: expected a list")
        auth = _mapping(data.get("sip_auth"), f"{where}.sip_auth")
        _only(auth, f"{where}.sip_auth", {"username", "password"})
        headers = _mapping(data.get("sip_headers"), f"{where}.sip_headers")
        timeout = data.get("timeout", DEFAULT_TIMEOUT)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= 60
        ):
            raise SpecError(f"{where}.timeout: seconds, more than 0 and at most 60")
        return cls(
            to=_text(data["to"], f"{where}.to"),
            from_=_text(data.get("from", "+12125550199"), f"{where}.from"),
            byoc_trunk=_text(data.get("byoc_trunk", ""), f"{where}.byoc_trunk"),
            caller=tuple(
                CallerStep.from_value(step, f"{where}.caller[{i}]") for i, step in enumerate(caller)
            ),
            parties={
                _text(k, f"{where}.parties"): Party.from_value(v, f"{where}.parties[{k}]")
                for k, v in _mapping(data.get("parties"), f"{where}.parties").items()
            },
            origination=_choice(
                data.get("origination", "answered"), f"{where}.origination", ORIGINATION
            ),
            source_ip=_text(data.get("source_ip", "198.51.100.20"), f"{where}.source_ip"),
            sip_username=_text(auth.get("username", ""), f"{where}.sip_auth.username"),
            sip_password=_text(auth.get("password", ""), f"{where}.sip_auth.password"),
            sip_headers={
                _text(k, f"{where}.sip_headers"): _text(v, f"{where}.sip_headers[{k}]")
                for k, v in headers.items()
            },
            caller_name=_text(data.get("caller_name", ""), f"{where}.caller_name"),
            faults=tuple(
                AppFault.from_value(f, f"{where}.app_faults[{i}]") for i, f in enumerate(faults)
            ),
            timeout=float(timeout),
            max_documents=_int(
                data.get("max_documents", MAX_DOCUMENTS), f"{where}.max_documents", 1, 500
            ),
            direction=direction,
            url=_text(data.get("url", ""), f"{where}.url"),
            machine_detection=detection,
            answered_by=_text(data.get("answered_by", "human"), f"{where}.answered_by"),
            status_callback=_text(data.get("status_callback", ""), f"{where}.status_callback"),
        )


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


__all__ = [
    "AppFault",
    "CallSpec",
    "CallerStep",
    "Party",
    "SpecError",
    "new_sid",
]
