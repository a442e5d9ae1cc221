"""The IVR state machine, tested as a table of (session, input) -> (step, next session)."""

from __future__ import annotations

import pytest

from webhook_app.ivr import TRANSITIONS, Event, State, Step, advance, classify
from webhook_app.settings import Menu, MenuOption
from webhook_app.store import IvrSession

MENU = Menu(input="dtmf speech", max_retries=2)


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
    input="speech",
    options=(
        MenuOption(digit="1", label="billing", keywords=("customer service",), action="operator"),
        MenuOption(digit="2", label="tech-support", action="conference"),
        MenuOption(digit="#", label="hash", keywords=("main menu",), action="operator"),
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
        # retries exhausted (max_retries=2): the next miss gives up
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
    menu = Menu(max_retries=0)
    assert advance(IvrSession("menu"), Event.TIMEOUT, None, menu).step is Step.EXHAUSTED


def test_deterministic() -> None:
    runs = {advance(IvrSession("menu", 1), Event.INVALID, None, MENU) for _ in range(5)}
    assert len(runs) == 1


def test_speech_hints_are_phrases_twilio_accepts() -> None:
    from webhook_app.settings import Menu, MenuOption

    menu = Menu(
        input="dtmf speech",
        options=(
            MenuOption(
                digit="1", label="Sales", keywords=("sales", "buy, now"), action="voicemail"
            ),
            MenuOption(digit="2", label="tech-support", keywords=("x" * 150,), action="voicemail"),
            MenuOption(digit="3", label="Billing & Accounts", keywords=("--",), action="voicemail"),
        ),
    )
    phrases = menu.hints.split(", ")
    # Commas separate phrases, so none may hide inside one; each once, each <= 100 characters.
    assert phrases[:4] == ["Sales", "buy now", "tech support", "x" * 100]
    assert phrases[4] == "Billing Accounts"
    assert len(phrases) == 5
