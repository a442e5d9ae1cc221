"""The operator nobody answers: the flow's no_answer, as after any other dial, and never round
again to the operator; the graph (and so the prod policy) says the same."""

from __future__ import annotations

from typing import Any

import pytest
from webhook_support import main_flow_with, twilio_for

from webhook_app.callflow import graph
from webhook_app.callflow.model import CallFlows
from webhook_app.store_sqlite import SqliteStore

CALL = {"CallSid": "CA" + "1" * 32, "From": "+14155550111", "To": "+14155550100"}


def flows(ring: str, no_answer: dict[str, Any] | None) -> dict[str, Any]:
    data = main_flow_with(no_answer=no_answer)
    data["operator"] = {"numbers": ["+14155550100", "+14155550103"], "ring": ring}
    return data


def exhausted(twilio: Any) -> str:
    """The page a caller gets when the main menu's retries are used up (silence at the last)."""
    response = twilio.post("/voice/menu?retries=2", {**CALL, "Digits": ""})
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def dial_status(twilio: Any, body: str) -> str:
    """Answer the operator's <Dial action> with no-answer; the page that follows."""
    action = body.split('<Dial action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    response = twilio.post(action, {**CALL, "DialCallStatus": "no-answer"})
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_a_simultaneous_operator_nobody_answers_goes_to_the_flows_no_answer(
    store: SqliteStore,
) -> None:
    twilio = twilio_for(store, flows("simultaneous", {"voicemail": "general"}))
    body = exhausted(twilio)
    assert "<Number>+14155550100</Number><Number>+14155550103</Number>" in body
    assert "/voice/dial/status?step=operator" in body
    assert "<Record " in dial_status(twilio, body)


def test_an_in_order_operator_rings_each_then_the_flows_no_answer(store: SqliteStore) -> None:
    twilio = twilio_for(store, flows("in_order", {"voicemail": "general"}))
    first = exhausted(twilio)
    assert "<Number>+14155550100</Number></Dial>" in first
    second = dial_status(twilio, first)
    assert "<Number>+14155550103</Number></Dial>" in second
    assert "<Record " in dial_status(twilio, second)


@pytest.mark.parametrize("ring", ["simultaneous", "in_order"])
def test_without_a_no_answer_or_when_it_is_the_operator_the_call_says_goodbye(
    store: SqliteStore, ring: str
) -> None:
    for no_answer in (None, {"operator": True}):
        twilio = twilio_for(store, flows(ring, no_answer))
        body = exhausted(twilio)
        while "<Dial action=" in body:  # ring the numbers in order, none answers
            body = dial_status(twilio, body)
        assert body.endswith("Goodbye.</Say><Hangup /></Response>"), body
        assert "<Record " not in body


def test_the_graph_follows_the_operator_the_same_way() -> None:
    to_box = graph.build(CallFlows.model_validate(flows("simultaneous", {"voicemail": "general"})))
    assert to_box.nodes["end:main:menu.main.exhausted"].edges == ["step:main:no_answer"]
    again = graph.build(CallFlows.model_validate(flows("simultaneous", {"operator": True})))
    [edge] = again.nodes["end:main:menu.main.exhausted"].edges
    assert again.nodes[edge].end == "hangup"


def test_the_operator_inside_the_flows_no_answer_ends_instead_of_ringing_round(
    store: SqliteStore,
) -> None:
    # review: operator -> no_answer (a dial of X) -> its no_answer (the operator) -> X -> ...
    no_answer = {"dial": {"numbers": ["+14155550104"], "no_answer": {"operator": True}}}
    twilio = twilio_for(store, flows("simultaneous", no_answer))
    pages = [exhausted(twilio)]
    while "<Dial action=" in pages[-1] and len(pages) < 6:
        pages.append(dial_status(twilio, pages[-1]))
    dialled = [page.count("<Number>+14155550104</Number>") for page in pages]
    assert dialled == [0, 1, 0], pages  # the operator, X, the operator once more
    assert pages[-1].endswith("Goodbye.</Say><Hangup /></Response>"), pages[-1]
