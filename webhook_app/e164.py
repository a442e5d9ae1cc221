"""The one E.164 rule, used by the stack spec, the providers' inputs and the app's settings.

A number is accepted when phonenumbers parses it from its leading `+`, finds it valid for its
country (a possible length is not enough: Twilio rejects unassigned ranges), and it is written
exactly in E.164 form (`+14155550100`, no spaces or punctuation). Callers word the error for
their own users; this module only decides. The emulator keeps its own copy on purpose: a test
double shares no code with what it tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers

Problem = Literal["unparsable", "invalid", "not_canonical"]


@dataclass(frozen=True)
class E164Problem:
    """Why a value is not an E.164 number, and its E.164 form when it has one."""

    kind: Problem
    formatted: str | None = None


def _check(value: str) -> tuple[phonenumbers.PhoneNumber | None, E164Problem | None]:
    """`value` parsed (when it parses) and what is wrong with it (None: nothing)."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None, E164Problem("unparsable")
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(parsed):
        return parsed, E164Problem("invalid", formatted)
    if formatted != value:
        return parsed, E164Problem("not_canonical", formatted)
    return parsed, None


def e164_problem(value: str) -> E164Problem | None:
    """None when `value` is a valid number written in E.164 form."""
    return _check(value)[1]


def parse_e164(value: str) -> phonenumbers.PhoneNumber | None:
    """`value` parsed when it passes the rule, else None (one parse for check and use)."""
    parsed, problem = _check(value)
    return parsed if problem is None else None


def check_e164(value: str) -> str:
    """`value` when it passes the rule, else ValueError saying how to write it."""
    problem = e164_problem(value)
    if problem is None:
        return value
    if problem.kind == "unparsable":
        raise ValueError(f"{value!r} is not an E.164 number; write it as +<country><number>")
    if problem.kind == "invalid":
        raise ValueError(f"{value!r} is not a valid phone number for its country; check the digits")
    raise ValueError(f"{value!r} is not in E.164 form; write it as {problem.formatted!r}")
