"""The IVR state machine, tested as a table of (session, input) -> (step, next session)."""

from __future__ import annotations

import pytest

from webhook_app.callflow.artifact import DEFAULT_CALL_FLOWS
from webhook_app.callflow.model import Menu, Option
from webhook_app.ivr import TRANSITIONS, Event, State, Step, advance, classify, small_count
from webhook_app.store import IvrSession

# The built-in menu (1 sales, 2 support, 9 voicemail) with speech, retries: 2.
MENU = DEFAULT_CALL_FLOWS.flows["main"].menus["main"].model_copy(update={"speech": True})


def _option(digit: str, label: str, *keywords: str) -> Option:
    return Option.model_validate(
        {"digit": digit, "label": label, "keywords": keywords, "action": {"hangup": ""}}
    )


@pytest.mark.parametrize(
    ("digits", "speech", "event", "label"),
    [
        ("1", "", Event.SELECTED, "sales"),
        ("2", "", Event.SELECTED, "support"),
        ("9", "", Event.SELECTED, "voicemail"),
        ("7", "", Event.INVALID, None),
        ("12", "", Event.INVALID, None),
        ("", "", Event.TIMEOUT, None),
        ("  ", " ", Event.TIMEOUT, None),
        ("", "Sales, please.", Event.SELECTED, "sales"),
        ("", "I need HELP", Event.SELECTED, "support"),
        ("", "leave a message", Event.SELECTED, "voicemail"),
        ("", "pizza", Event.INVALID, None),
        ("1", "support", Event.SELECTED, "sales"),  # DTMF wins over speech: it is deterministic
    ],
)
def test_classify(digits: str, speech: str, event: Event, label: str | None) -> None:
    got_event, option = classify(MENU, digits, speech)
    assert got_event is event
    assert (option.label if option else None) == label


PHRASES = Menu(
    prompt="Say billing, tech support or main menu.",
    speech=True,
    options=(
        _option("1", "billing", "customer service"),
        _option("2", "tech-support"),
        _option("#", "hash", "main menu"),
    ),
)


@pytest.mark.parametrize(
    ("speech", "label"),
    [
        ("Customer service, please", "billing"),
        ("customer  SERVICE", "billing"),  # spacing and case do not matter
        ("tech support", "tech-support"),  # a label with punctuation matches its words
        ("I want tech-support now", "tech-support"),
        ("service customer", None),  # the words of a phrase must come in order
        ("customers service", None),  # and whole: no match inside a longer word
        ("tech", None),
        ("back to the main menu", "hash"),
    ],
)
def test_classify_matches_multi_word_keywords_as_phrases(speech: str, label: str | None) -> None:
    event, option = classify(PHRASES, "", speech)
    assert (option.label if option else None) == label
    assert event is (Event.SELECTED if label else Event.INVALID)


@pytest.mark.parametrize(
    ("session", "event", "step", "next_session"),
    [
        (IvrSession("menu", 0), Event.SELECTED, Step.ROUTE, IvrSession("done", 0)),
        (IvrSession("menu", 0), Event.INVALID, Step.REPROMPT_INVALID, IvrSession("menu", 1)),
        (IvrSession("menu", 0), Event.TIMEOUT, Step.REPROMPT_TIMEOUT, IvrSession("menu", 1)),
        (IvrSession("menu", 1), Event.TIMEOUT, Step.REPROMPT_TIMEOUT, IvrSession("menu", 2)),
        (IvrSession("menu", 1), Event.INVALID, Step.REPROMPT_INVALID, IvrSession("menu", 2)),
        # retries exhausted (retries: 2): the next miss gives up
        (IvrSession("menu", 2), Event.INVALID, Step.EXHAUSTED, IvrSession("done", 0)),
        (IvrSession("menu", 2), Event.TIMEOUT, Step.EXHAUSTED, IvrSession("done", 0)),
        (IvrSession("menu", 2), Event.SELECTED, Step.ROUTE, IvrSession("done", 0)),
        # a finished or unknown session starts over
        (IvrSession("done", 0), Event.INVALID, Step.REPROMPT_INVALID, IvrSession("menu", 1)),
        (IvrSession("bogus", 5), Event.TIMEOUT, Step.EXHAUSTED, IvrSession("done", 0)),
    ],
)
def test_transitions(
    session: IvrSession, event: Event, step: Step, next_session: IvrSession
) -> None:
    option = MENU.options[0] if event is Event.SELECTED else None
    move = advance(session, event, option, MENU)
    assert (move.step, move.session) == (step, next_session)
    assert move.option == (option if step is Step.ROUTE else None)


def test_table_is_total_over_the_menu_state() -> None:
    for event in Event:
        for exhausted in (False, True):
            assert (State.MENU, event, exhausted) in TRANSITIONS


def test_zero_retries_gives_up_at_once() -> None:
    menu = MENU.model_copy(update={"retries": 0})
    assert advance(IvrSession("menu"), Event.TIMEOUT, None, menu).step is Step.EXHAUSTED


def test_deterministic() -> None:
    runs = {advance(IvrSession("menu", 1), Event.INVALID, None, MENU) for _ in range(5)}
    assert len(runs) == 1


def test_speech_hints_are_phrases_twilio_accepts() -> None:
    menu = Menu(
        prompt="Say sales.",
        speech=True,
        options=(
            _option("1", "Sales", "sales", "buy, now"),
            _option("2", "tech-support", "x" * 150),
            _option("3", "Billing & Accounts", "--"),
        ),
    )
    phrases = menu.hint_text.split(", ")
    # Commas separate phrases, so none may hide inside one; each once, each <= 100 characters.
    assert phrases[:4] == ["Sales", "buy now", "tech support", "x" * 100]
    assert phrases[4] == "Billing Accounts"
    assert len(phrases) == 5


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("1", 1), ("2", 2), ("7", 2), ("x", 2), ("-1", 2), ("1e3", 2), ("0001", 2)],
)
def test_a_count_from_a_url_is_small_or_used_up(text: str, count: int) -> None:
    # A value this app never writes counts as used up: toward a person, never a loop.
    assert small_count(text, 2) == count
