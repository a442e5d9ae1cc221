"""The IVR as a deterministic state machine: a transition table and pure functions over it.

A call enters in state ``menu`` (a menu's prompt, ``webhook_app.callflow.model.Menu``). Each
answer on ``/voice/menu`` is classified as an :class:`Event`; the table maps ``(state, event,
retries exhausted?)`` to the next step and state. No clock, no randomness: the same session and
input give the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from webhook_app.callflow.model import Menu, Option
from webhook_app.store import IvrSession


class State(StrEnum):
    MENU = "menu"
    DONE = "done"


class Event(StrEnum):
    SELECTED = "selected"  # a digit or words that match a menu option
    INVALID = "invalid"  # input that matches no option
    TIMEOUT = "timeout"  # no input at all (Gather timed out)


class Step(StrEnum):
    ROUTE = "route"  # carry out the chosen option
    REPROMPT_INVALID = "reprompt_invalid"
    REPROMPT_TIMEOUT = "reprompt_timeout"
    EXHAUSTED = "exhausted"  # retries used up: the menu's exhausted action


# (state, event, retries exhausted) -> (step, next state). An unknown state restarts at MENU.
TRANSITIONS: dict[tuple[State, Event, bool], tuple[Step, State]] = {
    (State.MENU, Event.SELECTED, False): (Step.ROUTE, State.DONE),
    (State.MENU, Event.SELECTED, True): (Step.ROUTE, State.DONE),
    (State.MENU, Event.INVALID, False): (Step.REPROMPT_INVALID, State.MENU),
    (State.MENU, Event.TIMEOUT, False): (Step.REPROMPT_TIMEOUT, State.MENU),
    (State.MENU, Event.INVALID, True): (Step.EXHAUSTED, State.DONE),
    (State.MENU, Event.TIMEOUT, True): (Step.EXHAUSTED, State.DONE),
}


@dataclass(frozen=True)
class Transition:
    """The decision for one answer: which step to render, the option, and the new session."""

    step: Step
    option: Option | None
    session: IvrSession


_WORD = re.compile(r"[a-z0-9]+")


def classify(menu: Menu, digits: str, speech: str) -> tuple[Event, Option | None]:
    """Turn Gather's ``Digits`` / ``SpeechResult`` into an event and the option chosen."""
    digits, speech = digits.strip(), speech.strip()
    if not digits and not speech:
        return Event.TIMEOUT, None
    if digits:
        for option in menu.options:
            if option.digit == digits:
                return Event.SELECTED, option
        return Event.INVALID, None
    spoken = _phrase(speech)
    for option in menu.options:
        for keyword in (option.label, *option.keywords):
            phrase = _phrase(keyword)
            if phrase.strip() and phrase in spoken:  # whole words, in order
                return Event.SELECTED, option
    return Event.INVALID, None


def _phrase(text: str) -> str:
    """Lower-case words joined by single spaces, padded: " tech support " for "Tech-Support"."""
    return f" {' '.join(_WORD.findall(text.lower()))} "


def advance(session: IvrSession, event: Event, option: Option | None, menu: Menu) -> Transition:
    """Apply one event to a session using :data:`TRANSITIONS`."""
    try:
        state = State(session.state)
    except ValueError:
        state = State.MENU  # a session written by an older version: start over
    if state is State.DONE:
        state, session = State.MENU, IvrSession(State.MENU)  # a new Gather on a finished call
    exhausted = session.retries >= menu.retries
    step, next_state = TRANSITIONS[(state, event, exhausted)]
    retries = session.retries + 1 if step in (Step.REPROMPT_INVALID, Step.REPROMPT_TIMEOUT) else 0
    return Transition(step, option if step is Step.ROUTE else None, IvrSession(next_state, retries))


# --- the state in the signed URLs ------------------------------------------------------------
# Twilio signs the whole action URL, so a caller cannot change these, and no store write can be
# lost on the way. Parameters equal to their defaults are left out, so the built-in flow's URLs
# stay `/voice/menu` and `/voice/menu?retries=1`.
FLOW_PARAM = "flow"  # the call flow (default: call_flows.default_flow, else the first)
MENU_PARAM = "menu"  # the menu of that flow (default: its first)
RETRIES_PARAM = "retries"  # reprompts played so far (default: none)
STEP_PARAM = "step"  # /voice/dial/status: the step whose dial ended (graph.py's key)
ATTEMPT_PARAM = "attempt"  # /voice/dial/status: which number of an in-order dial rang
BOX_PARAM = "box"  # /voice/voicemail: the voicemail box (default: the first)


def with_query(path: str, params: list[tuple[str, str | None]]) -> str:
    """``path`` with the parameters that are set (None: a default, left out)."""
    kept = [(name, value) for name, value in params if value is not None]
    return f"{path}?{urlencode(kept)}" if kept else path


def small_count(text: str, limit: int) -> int:
    """A count from a URL this app wrote: none is 0; at most ``limit``.

    A value this app never writes (not a small number) counts as ``limit`` (used up): the
    call goes on toward a person or an end rather than into a loop.
    """
    if not text:
        return 0
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return min(int(text), limit)
    return limit
