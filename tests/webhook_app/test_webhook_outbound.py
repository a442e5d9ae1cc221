"""The outbound_call flow: answering-machine detection's AnsweredBy picks the TwiML."""

from __future__ import annotations

import pytest
from webhook_support import AppFactory, built_in_with, make_settings

from webhook_app.callflow.model import VoicemailDrop

CALL = "CA0123456789abcdef0123456789abcdef"
OUTBOUND = {
    "AccountSid": "AC" + "0" * 32,
    "CallSid": CALL,
    "From": "+14155550120",
    "To": "+14155550177",
    "Direction": "outbound-api",
    "CallStatus": "in-progress",
}
DROP = b"Please call us back"
PROMPT = b"Press 1 for sales"


@pytest.mark.parametrize(
    "answered_by",
    ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"],
)
def test_a_machine_gets_the_voicemail_drop_then_a_hangup(
    make_twilio: AppFactory, answered_by: str
) -> None:
    response = make_twilio().post("/voice/outbound", {**OUTBOUND, "AnsweredBy": answered_by})
    assert response.status_code == 200
    assert DROP in response.data
    assert response.data.endswith(b"<Hangup /></Response>")
    assert PROMPT not in response.data
    assert b"<Gather" not in response.data


@pytest.mark.parametrize("answered_by", ["human", None])
def test_a_person_or_a_call_without_detection_gets_the_ivr(
    make_twilio: AppFactory, answered_by: str | None
) -> None:
    params = dict(OUTBOUND) if answered_by is None else {**OUTBOUND, "AnsweredBy": answered_by}
    response = make_twilio().post("/voice/outbound", params)
    assert response.status_code == 200
    assert PROMPT in response.data
    assert b'<Gather action="/voice/menu"' in response.data
    assert DROP not in response.data


@pytest.mark.parametrize("answered_by", ["fax", "unknown", "robot"])
def test_a_fax_or_an_undecided_answer_is_hung_up_on(
    make_twilio: AppFactory, answered_by: str
) -> None:
    response = make_twilio().post("/voice/outbound", {**OUTBOUND, "AnsweredBy": answered_by})
    assert response.status_code == 200
    assert b"<Say" not in response.data
    assert b"<Play" not in response.data
    assert b"<Hangup />" in response.data


def test_a_recorded_drop_is_played_instead_of_spoken(make_twilio: AppFactory) -> None:
    url = "https://media.example.com/drop.mp3"
    twilio = make_twilio(make_settings(call_flows=built_in_with(voicemail_drop={"url": url})))
    response = twilio.post("/voice/outbound", {**OUTBOUND, "AnsweredBy": "machine_end_beep"})
    assert f"<Play>{url}</Play><Hangup />".encode() in response.data
    assert b"<Say" not in response.data


def test_a_drop_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="must be an https:// URL"):
        VoicemailDrop(url="file:///etc/passwd")


def test_the_answer_needs_a_call_sid(make_twilio: AppFactory) -> None:
    params = {k: v for k, v in OUTBOUND.items() if k != "CallSid"}
    assert make_twilio().post("/voice/outbound", params).status_code == 400
