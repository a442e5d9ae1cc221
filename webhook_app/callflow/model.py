"""The declared call flows: one pydantic model for the stack's `call_flows` section and the app.

The stack spec embeds :class:`CallFlows` as its `call_flows` section (infra validates it with the
rest of the estate), and the artifact the app serves (``webhook_app.callflow.artifact``) carries
the same model: one description of what a call does, read by infra, the app, the policy pack and
the picture. Checks that need one value live here as validators; checks across the section
(targets exist, reachability, a way to end) live in ``webhook_app.callflow.checks``.

An *action* is what happens next, written as a one-key mapping (``{menu: sales}``,
``{voicemail: general}``, ``{dial: {numbers: [...]}}``...); menus, schedules and other flows
lead to further actions, the rest end the app's part of the call.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from webhook_app.e164 import check_e164

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_HINT_SEPARATORS = re.compile(r"[^\w\s']+")  # commas split Twilio's hints; hyphens join words
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
MAX_DIAL_NUMBERS = 10  # Twilio rings at most 10 <Number>s at once


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name(value: str) -> str:
    """A name (of a flow, a menu, a resource in the stack): the one rule for both."""
    if not _NAME.fullmatch(value):
        raise PydanticCustomError(
            "name",
            "invalid name '{value}': use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            {"value": value[:80]},
        )
    return value


def _check_number(value: str) -> str:
    try:
        return check_e164(value)
    except ValueError as exc:
        raise PydanticCustomError("e164", "{problem}", {"problem": str(exc)}) from None


def _check_text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("text", "is empty: write what the caller hears")
    if len(value) > 4096:  # Twilio's <Say> limit
        raise PydanticCustomError("text", "is longer than 4,096 characters, <Say>'s limit")
    return value


Name = Annotated[str, AfterValidator(check_name)]
Number = Annotated[str, AfterValidator(_check_number)]
Text = Annotated[str, AfterValidator(_check_text)]
RecordingMode = Literal["off", "record-from-answer", "dual"]
Ring = Literal["simultaneous", "in_order"]


class Dial(_Model):
    """Ring people at phone numbers: all at once, or one after another."""

    numbers: tuple[Number, ...] = Field(min_length=1, max_length=MAX_DIAL_NUMBERS)
    ring: Ring = "simultaneous"
    # Seconds each ring lasts (in_order: per number); unset: call_flows.dial_timeout.
    timeout: int | None = Field(default=None, ge=5, le=600)
    caller_id: Number | None = None  # unset: the flow's, else call_flows.caller_id
    no_answer: Action | None = None  # unset: the flow's no_answer

    @field_validator("numbers")
    @classmethod
    def _distinct(cls, numbers: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(numbers)) != len(numbers):
            raise PydanticCustomError("duplicate", "names a number twice; keep one")
        return numbers


class Conference(_Model):
    """Join a conference room: a named one, or (no room) the caller's own warm-transfer room."""

    room: Name | None = None


class Hours(_Model):
    """Pick an action by a schedule: open hours, closed hours, holidays (default: closed)."""

    schedule: Name
    open: Action
    closed: Action
    holiday: Action | None = None


ACTION_KEYS = (
    "menu",
    "dial",
    "sip_user",
    "conference",
    "voicemail",
    "flow",
    "hangup",
    "operator",
    "hours",
)


class Action(_Model):
    """What happens next: exactly one of the keys below."""

    menu: Name | None = None  # a menu of the same flow
    dial: Dial | None = None
    sip_user: Name | None = None  # one of call_flows.sip_users
    conference: Conference | None = None
    voicemail: Name | None = None  # one of call_flows.voicemail_boxes
    flow: Name | None = None  # another flow (its consent, voice and start)
    hangup: str | None = None  # say this (may be empty), then hang up
    operator: Literal[True] | None = None  # ring call_flows.operator
    hours: Hours | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        # A key set to null counts as absent, so a model_dump() without exclude_none reloads.
        keys = [k for k in ACTION_KEYS if getattr(self, k) is not None]
        if len(keys) != 1:
            found = ", ".join(keys) or "none"
            raise PydanticCustomError(
                "action",
                "an action needs exactly one of {keys} (found: {found})",
                {"keys": ", ".join(ACTION_KEYS), "found": found},
            )
        return self

    @property
    def kind(self) -> str | None:
        """The action's key (`menu`, `dial`...)."""
        for key in ACTION_KEYS:
            if getattr(self, key) is not None:
                return key
        return None


class Option(_Model):
    """One menu choice: a DTMF digit and, for speech menus, the words that pick it."""

    digit: str = Field(pattern=r"^[0-9*#]$")
    label: str = Field(default="", max_length=100)  # for hints and the picture
    keywords: tuple[str, ...] = ()
    action: Action

    @property
    def title(self) -> str:
        """What the option is called: its label, else its first keyword, else its digit."""
        return self.label or (self.keywords[0] if self.keywords else f"press {self.digit}")


class Menu(_Model):
    """A prompt that gathers a digit (and words, with speech), then acts on the choice."""

    prompt: Text
    speech: bool = False  # DTMF is always offered; speech adds spoken keywords
    hints: tuple[str, ...] = ()  # extra speech hints; labels and keywords are hints already
    timeout: int = Field(default=5, ge=1, le=60)
    speech_timeout: str = Field(default="auto", pattern=r"^(auto|[1-9][0-9]?)$")
    retries: int = Field(default=2, ge=0, le=10)  # reprompts before `exhausted`
    invalid: Text = "Sorry, that is not a valid choice."
    no_input: Text = "Sorry, I did not hear anything."
    # Silence at the first prompt: reprompt (counted as a retry), or say `silence_message` and
    # hang up (the app's built-in menu, and the benchmark's reference answer).
    first_silence: Literal["reprompt", "hangup"] = "reprompt"
    silence_message: Text = "No input received. Goodbye."
    exhausted: Action | None = None  # unset: the operator when declared, else goodbye
    options: tuple[Option, ...] = Field(min_length=1, max_length=12)

    @field_validator("options")
    @classmethod
    def _unique_digits(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        seen: set[str] = set()
        for option in options:
            if option.digit in seen:
                raise PydanticCustomError(
                    "duplicate", "digit '{digit}' is offered twice", {"digit": option.digit}
                )
            seen.add(option.digit)
        return options

    @property
    def input(self) -> str:
        """Gather's ``input``."""
        return "dtmf speech" if self.speech else "dtmf"

    @property
    def hint_text(self) -> str:
        """Gather ``hints``: the hints, labels and keywords as Twilio takes them.

        Comma-separated phrases of space-separated words (``tech-support`` -> ``tech
        support``), each at most 100 characters, at most 500, each once.
        """
        phrases: dict[str, str] = {}
        texts = [*self.hints]
        for option in self.options:
            texts += [option.label, *option.keywords]
        for text in texts:
            phrase = " ".join(_HINT_SEPARATORS.sub(" ", text).split())[:100].strip()
            if phrase:
                phrases.setdefault(phrase.casefold(), phrase)
        return ", ".join(list(phrases.values())[:500])


class Recording(_Model):
    """Whether a flow's calls to people are recorded; a consent prompt plays first."""

    mode: RecordingMode = "off"
    consent: str | None = None  # said when the call enters the flow, before anything records

    @model_validator(mode="after")
    def _consent_first(self) -> Recording:
        if self.mode != "off" and not (self.consent and self.consent.strip()):
            raise PydanticCustomError(
                "consent",
                'recording mode {mode} needs a consent prompt: add consent: "This call may be '
                'recorded..." (it plays before any recording starts)',
                {"mode": self.mode},
            )
        return self


class Flow(_Model):
    """One call flow: how it sounds, whether it records, and where a call starts."""

    voice: str = "Polly.Joanna"
    language: str = "en-US"
    recording: Recording = Recording()
    caller_id: Number | None = None  # unset: call_flows.caller_id
    start: Action
    menus: dict[Name, Menu] = {}
    # BYOC: the called number -> what to do; other numbers start the flow.
    byoc_routes: dict[Number, Action] = {}
    no_answer: Action | None = None  # nobody answered a dial; unset: no_answer_message, hang up
    goodbye: Text = "Goodbye."
    transferring: Text = "Please hold while we connect you to an operator."
    no_answer_message: Text = "Nobody is available to take your call. Please try again later."
    dial_refused_message: Text = "Sorry, calls to that number are not allowed. Goodbye."
    fallback_message: Text = "We are sorry, we are having technical difficulties."


class SipUser(_Model):
    """A SIP user at ``uri``, with an optional number to ring when it does not answer."""

    uri: str = Field(pattern=r"^sips?:[^@\s]+@[^@\s]+$")
    pstn_fallback: Number | None = None

    @property
    def username(self) -> str:
        return self.uri.split(":", 1)[1].split("@", 1)[0]

    @property
    def host(self) -> str:
        return self.uri.split("@", 1)[1].split(";", 1)[0].split(":", 1)[0].lower()


class VoicemailBox(_Model):
    """Where a message is recorded: the prompt (the caller's notice), the limit, the thanks."""

    prompt: Text = "Please leave a message after the tone."
    max_seconds: int = Field(default=120, ge=5, le=3600)
    thanks: Text = "Thank you. Goodbye."


def _check_span(value: str) -> str:
    match = _SPAN.fullmatch(value)
    if match is None:
        raise PydanticCustomError(
            "hours", "'{value}' is not HH:MM-HH:MM (e.g. 09:00-17:30)", {"value": value[:40]}
        )
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end > 24 * 60 or end <= start:
        raise PydanticCustomError(
            "hours",
            "'{value}' ends before it starts; a span past midnight is two spans on two days "
            "(22:00-24:00 and 00:00-06:00)",
            {"value": value},
        )
    return value


Span = Annotated[str, AfterValidator(_check_span)]


class Schedule(_Model):
    """Business hours: an IANA time zone, open spans per weekday, and closed dates."""

    time_zone: str
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], tuple[Span, ...]]
    holidays: tuple[dt.date, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "time_zone",
                "'{value}' is not an IANA time zone (e.g. America/New_York, Europe/London)",
                {"value": value[:60]},
            ) from None
        return value

    @field_validator("holidays", mode="before")
    @classmethod
    def _dates(cls, value: object) -> object:
        # YAML reads 2026-12-25 as a date and "2026-12-25" as text: both are fine, a datetime
        # or anything else is not.
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, dt.datetime) or not isinstance(item, dt.date | str):
                    raise PydanticCustomError(
                        "holiday", "holidays are dates (YYYY-MM-DD), not {item!r}", {"item": item}
                    )
        return value

    @functools.cached_property
    def hours(self) -> OpenHours:
        """The schedule compiled for asking per call (the app asks on every entry)."""
        spans = tuple(
            tuple(
                (_minutes(span[:5]), _minutes(span[6:]))
                for span in self.weekly.get(day, ())  # type: ignore[call-overload]
            )
            for day in DAYS
        )
        return OpenHours(zoneinfo.ZoneInfo(self.time_zone), spans, frozenset(self.holidays))

    def is_open(self, when: dt.datetime) -> bool:
        """Whether ``when`` (timezone-aware) falls in an open span on a day that is no holiday."""
        return self.hours.state(when) == "open"

    def is_holiday(self, when: dt.datetime) -> bool:
        return self.hours.state(when) == "holiday"


@dataclass(frozen=True)
class OpenHours:
    """A schedule as the app asks it: the zone, each weekday's spans in minutes, the holidays."""

    zone: zoneinfo.ZoneInfo
    spans: tuple[tuple[tuple[int, int], ...], ...]  # Monday first: (start, end) minutes
    holidays: frozenset[dt.date]

    def state(self, when: dt.datetime) -> Literal["open", "closed", "holiday"]:
        """What ``when`` (timezone-aware) is, in the schedule's own time zone."""
        local = when.astimezone(self.zone)
        if self.holidays and local.date() in self.holidays:
            return "holiday"
        minute = local.hour * 60 + local.minute
        for start, end in self.spans[local.weekday()]:
            if start <= minute < end:
                return "open"
        return "closed"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Operator(_Model):
    """The people a caller reaches when a menu gives up, or asks for an operator."""

    numbers: tuple[Number, ...] = Field(min_length=1, max_length=MAX_DIAL_NUMBERS)
    ring: Ring = "simultaneous"
    timeout: int | None = Field(default=None, ge=5, le=600)


class VoicemailDrop(_Model):
    """What an outbound call answered by a machine leaves: a recording, else these words."""

    message: Text = (
        "Hello, this is a message from our team. Please call us back. Thank you. Goodbye."
    )
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise PydanticCustomError(
                "url",
                "'{value}' must be an https:// URL of a recording Twilio can fetch",
                {"value": value[:200]},
            )
        return value or None


class CallFlows(_Model):
    """Every call flow of an estate and what they share (people, boxes, schedules)."""

    # A URL without ?flow= (a resource not migrated yet, an old Twilio configuration) enters
    # this flow; unset: the first flow.
    default_flow: Name | None = None
    caller_id: Number | None = None
    dial_timeout: int = Field(default=20, ge=5, le=600)
    # ISO region whose dialling rules apply to SIP users dialling numbers without "+".
    dial_region: str | None = None
    operator: Operator | None = None
    sip_users: dict[Name, SipUser] = {}
    voicemail_boxes: dict[Name, VoicemailBox] = {}
    schedules: dict[Name, Schedule] = {}
    disaster_recovery_number: Number | None = None
    voicemail_drop: VoicemailDrop = VoicemailDrop()
    flows: dict[Name, Flow] = Field(min_length=1)

    @field_validator("dial_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise PydanticCustomError(
                "region",
                "'{value}' is not a region with a numbering plan; use an ISO 3166 code in "
                "capitals such as US or GB",
                {"value": value[:20]},
            )
        return value

    @property
    def entry_flow(self) -> str:
        """The flow a URL without ?flow= enters."""
        return self.default_flow or next(iter(self.flows))


Dial.model_rebuild()
Hours.model_rebuild()
Action.model_rebuild()
