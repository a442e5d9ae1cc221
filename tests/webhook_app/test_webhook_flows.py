# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""Every call-flow step through the app, compared with golden TwiML (tests/webhook_app/golden/).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/webhook_app`` and review
the diff of the golden files.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from webhook_support import GOLDEN, AppFactory, Clock, Twilio, make_settings
from werkzeug.test import Client

from infra.urls import webhook_url
from webhook_app.app import create_app
from webhook_app.metrics import Metrics
from webhook_app.settings import FlowSettings, Menu, MenuOption
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
BASE_PARAMS = {"AccountSid": "AC" + "0" * 32, "CallSid": CALL, "From": "+12125550199"}

# The benchmark's expected answer to the inbound call (bench/check.py), as a contract.
BENCH_EXPECTED = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/voice/menu" input="dtmf" method="POST" numDigits="1" timeout="5">'
    '<Say language="en-US" voice="Polly.Joanna">Press 1 for sales. Press 2 for support.</Say>'
    "</Gather>"
    '<Say language="en-US" voice="Polly.Joanna">No input received. Goodbye.</Say><Hangup />'
    "</Response>"
)

FLOWS = FlowSettings(
    byoc_routes={"+14155550150": "sip:pbx@carrier.example.com", "+14155550151": "+14155550160"},
    disaster_recovery_number="+14155550170",
)


@dataclass
class Case:
    name: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    flows: FlowSettings = FLOWS


CASES = [
    Case("ivr_main", "/voice/inbound", {"To": "+14155550100"}),
    Case("ivr_menu_sales", "/voice/menu", {"Digits": "1"}),
    Case("ivr_menu_support_conference", "/voice/menu", {"Digits": "2"}),
    Case("ivr_menu_voicemail", "/voice/menu", {"SpeechResult": "leave a message"}),
    Case("ivr_menu_invalid", "/voice/menu", {"Digits": "7"}),
    Case("ivr_menu_timeout", "/voice/menu?retries=1", {}),
    # the previous reprompt's action carried the retries used so far (max_retries=2)
    Case("ivr_menu_exhausted_operator", "/voice/menu?retries=2", {"Digits": "7"}),
    Case(
        "ivr_menu_exhausted_goodbye",
        "/voice/menu?retries=2",
        {},
        flows=FlowSettings(operator_number=None),
    ),
    Case(
        "ivr_main_speech",
        "/voice/inbound",
        {},
        flows=FlowSettings(menu=Menu(input="dtmf speech", prompt="Say sales or support.")),
    ),
    Case(
        "ivr_main_first_silence_reprompt",
        "/voice/inbound",
        {},
        flows=FlowSettings(menu=Menu(first_silence="reprompt")),
    ),
    Case(
        "ivr_menu_sip_user",
        "/voice/menu",
        {"Digits": "3"},
        flows=FlowSettings(
            menu=Menu(options=(MenuOption(digit="3", label="alice", action="sip", target="alice"),))
        ),
    ),
    Case("sip_inbound_user", "/voice/sip/inbound", {"To": "sip:alice@acme.sip.twilio.com"}),
    Case("sip_inbound_pstn", "/voice/sip/inbound", {"To": "sip:+14155550123@acme.sip.twilio.com"}),
    Case("sip_inbound_unknown", "/voice/sip/inbound", {"To": "sip:mallory@acme.sip.twilio.com"}),
    Case(
        "sip_inbound_premium_refused",
        "/voice/sip/inbound",
        {"To": "sip:+19002345678@acme.sip.twilio.com"},
    ),
    Case(
        "dial_status_completed",
        "/voice/dial/status?then=pstn&user=alice",
        {"DialCallStatus": "completed"},
    ),
    Case(
        "dial_status_pstn_fallback",
        "/voice/dial/status?then=pstn&user=alice",
        {"DialCallStatus": "no-answer"},
    ),
    Case(
        "dial_status_no_answer_message",
        "/voice/dial/status?then=message",
        {"DialCallStatus": "busy"},
    ),
    Case(
        "dial_status_voicemail", "/voice/dial/status?then=voicemail", {"DialCallStatus": "failed"}
    ),
    Case("byoc_inbound_sip", "/voice/byoc/inbound", {"To": "+14155550150"}),
    Case("byoc_inbound_number", "/voice/byoc/inbound", {"To": "sip:+14155550151@byoc.example"}),
    Case("byoc_inbound_ivr", "/voice/byoc/inbound", {"To": "+14155550199"}),
    Case("conference_customer", "/voice/transfer", {}),
    Case(
        "conference_agent",
        f"/voice/transfer?leg=agent&customer={CALL}",
        {"CallSid": "CA" + "a" * 32},
    ),
    Case(
        "conference_supervisor",
        f"/voice/transfer?leg=supervisor&customer={CALL}",
        {"CallSid": "CA" + "b" * 32},
    ),
    Case("voicemail", "/voice/voicemail", {}),
    Case("voicemail_done", "/voice/voicemail/done", {"RecordingUrl": "https://api.twilio.com/r"}),
    Case("voice_fallback", "/voice/fallback", {"ErrorCode": "11200"}),
    Case("trunk_disaster_recovery", "/voice/trunk/disaster-recovery", {"To": "+14155550100"}),
    Case(
        "trunk_disaster_recovery_voicemail",
        "/voice/trunk/disaster-recovery",
        {},
        flows=FlowSettings(),
    ),
    Case("outbound_voicemail_drop", "/voice/outbound", {"AnsweredBy": "machine_end_beep"}),
    Case(
        "outbound_voicemail_drop_recording",
        "/voice/outbound",
        {"AnsweredBy": "machine_end_silence"},
        flows=FlowSettings(voicemail_drop_url="https://media.example.com/drop.mp3"),
    ),
]


def _post(make_twilio: AppFactory, store: SqliteStore, case: Case) -> Any:
    twilio = make_twilio(make_settings(caller_id="+14155550199", flows=case.flows))
    return twilio.post(case.path, {**BASE_PARAMS, **case.params})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_twiml(make_twilio: AppFactory, store: SqliteStore, case: Case) -> None:
    response = _post(make_twilio, store, case)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    ET.fromstring(response.data)  # well-formed
    golden = GOLDEN / f"{case.name}.xml"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(response.data)
    assert response.data == golden.read_bytes()


def _canon(xml: bytes | str) -> Any:
    def walk(e: ET.Element) -> Any:
        return (e.tag, sorted(e.attrib.items()), (e.text or "").strip(), [walk(c) for c in e])

    return walk(ET.fromstring(xml.encode() if isinstance(xml, str) else xml))


def test_inbound_answer_is_the_benchmark_contract(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    response = _post(make_twilio, store, CASES[0])
    assert _canon(response.data) == _canon(BENCH_EXPECTED)


def test_the_ivr_counts_retries_in_its_urls_and_keeps_nothing_in_the_store(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    prompt = twilio.post("/voice/inbound", BASE_PARAMS).data
    assert b'action="/voice/menu"' in prompt  # no retries used yet
    first = twilio.post("/voice/menu", {**BASE_PARAMS, "Digits": "5"}).data
    assert b'action="/voice/menu?retries=1"' in first
    second = twilio.post("/voice/menu?retries=1", BASE_PARAMS).data
    assert b'action="/voice/menu?retries=2"' in second
    last = twilio.post("/voice/menu?retries=2", {**BASE_PARAMS, "Digits": "5"})
    assert b"<Number>+14155550100</Number>" in last.data  # the operator
    assert store.get_session(CALL) is None  # the store holds no IVR state


def test_conference_rooms_are_deterministic_per_customer_call(
    make_twilio: AppFactory,
) -> None:
    twilio = make_twilio()
    customer = twilio.post("/voice/transfer", BASE_PARAMS)
    agent = twilio.post(f"/voice/transfer?leg=agent&customer={CALL}", {"CallSid": "CA" + "1" * 32})
    other = twilio.post("/voice/transfer", {**BASE_PARAMS, "CallSid": "CA" + "2" * 32})

    def room(r: Any) -> str:
        return str(ET.fromstring(r.data).find("./Dial/Conference").text)  # type: ignore[union-attr]

    assert room(customer) == room(agent) != room(other)
    assert room(customer).startswith("transfer-")

    def label(r: Any) -> str:
        return str(ET.fromstring(r.data).find("./Dial/Conference").get("participantLabel"))  # type: ignore[union-attr]

    # Twilio refuses a label already in use in the room (16025): a second agent gets its own.
    second = twilio.post(f"/voice/transfer?leg=agent&customer={CALL}", {"CallSid": "CA" + "3" * 32})
    assert label(customer) == "customer"
    assert len({label(customer), label(agent), label(second)}) == 3


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/voice/transfer?leg=boss", BASE_PARAMS),
        ("/voice/transfer?leg=agent", BASE_PARAMS),  # no customer CallSid
        ("/voice/inbound", {"From": "+12125550199"}),  # no CallSid
        ("/voice/sip/inbound", {"CallSid": CALL}),  # no To
        # A call status callback sent to the recording URL: no RecordingStatus, so no job.
        (
            "/voice/recording/status",
            {**BASE_PARAMS, "RecordingSid": "RE1", "CallStatus": "ringing"},
        ),
        (
            "/voice/recording/status",
            {**BASE_PARAMS, "RecordingSid": "RE1", "RecordingStatus": "completed"},  # no URL
        ),
    ],
)
def test_malformed_twilio_requests_are_400(
    make_twilio: AppFactory, path: str, params: dict[str, str]
) -> None:
    assert make_twilio().post(path, params).status_code == 400


def test_status_callback_is_stored_once(make_twilio: AppFactory, store: SqliteStore) -> None:
    twilio = make_twilio()
    params = {
        **BASE_PARAMS,
        "CallStatus": "completed",
        "Timestamp": "Tue, 24 Nov 2026 10:00:00 +0000",
        "CallDuration": "42",
    }
    first = twilio.post("/voice/status", params)
    again = twilio.post("/voice/status", params)
    assert first.status_code == again.status_code == 204
    assert [e.status for e in store.call_events()] == ["completed"]
    later = twilio.post("/voice/status", {**params, "Timestamp": "Tue, 24 Nov 2026 10:00:05 +0000"})
    assert later.status_code == 204
    assert len(store.call_events()) == 2


def test_recording_callback_queues_a_job_once(make_twilio: AppFactory, store: SqliteStore) -> None:
    twilio = make_twilio()
    params = {
        **BASE_PARAMS,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingStatus": "completed",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
        "RecordingDuration": "17",
    }
    for _ in range(3):
        assert twilio.post("/voice/recording/status", params).status_code == 204
    jobs = store.recording_jobs()
    assert [(j.recording_sid, j.duration) for j in jobs] == [("RE" + "1" * 32, "17")]
    twilio.post(
        "/voice/recording/status",
        {**params, "RecordingSid": "RE2", "RecordingStatus": "in-progress"},
    )
    assert len(store.recording_jobs()) == 1  # only completed recordings become jobs


def test_a_first_answer_that_routes_writes_no_session(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    twilio.post("/voice/inbound", BASE_PARAMS)
    routed = twilio.post("/voice/menu", {**BASE_PARAMS, "Digits": "1"})
    assert routed.status_code == 200
    assert b"<Dial" in routed.data
    assert store.get_session(CALL) is None


def test_behind_a_path_prefix_every_twiml_url_keeps_the_prefix(make_twilio: AppFactory) -> None:
    base = "https://voice.example.test/app"
    twilio = make_twilio(make_settings(public_base_url=base, caller_id="+14155550199"))
    prompt = twilio.post("/voice/inbound", BASE_PARAMS, base=base).data
    assert b'action="/app/voice/menu"' in prompt
    reprompt = twilio.post("/voice/menu", {**BASE_PARAMS, "Digits": "7"}, base=base).data
    assert b'action="/app/voice/menu?retries=1"' in reprompt
    assert b'<Redirect method="POST">/app/voice/menu?retries=1</Redirect>' in reprompt
    dial = twilio.post("/voice/menu", {**BASE_PARAMS, "Digits": "1"}, base=base).data
    assert b'action="/app/voice/dial/status?then=voicemail"' in dial
    voicemail = twilio.post("/voice/voicemail", BASE_PARAMS, base=base).data
    assert b'action="/app/voice/voicemail/done"' in voicemail
    assert b'recordingStatusCallback="https://voice.example.test/app/voice/recording/status"' in (
        voicemail
    )
    # The infra side builds the same URLs for the resources that point here.
    assert webhook_url(base, "ivr_menu") == base + "/voice/menu"


def test_a_menu_offering_hash_turns_off_gathers_finish_key(make_twilio: AppFactory) -> None:
    menu = Menu(
        options=(
            MenuOption(digit="#", label="operator", action="operator"),
            MenuOption(digit="1", label="sales", action="dial", target="+14155550101"),
        )
    )
    twilio = make_twilio(make_settings(flows=FlowSettings(menu=menu)))
    assert b'finishOnKey=""' in twilio.post("/voice/inbound", BASE_PARAMS).data
    routed = twilio.post("/voice/menu", {**BASE_PARAMS, "Digits": "#"})
    assert b"<Number>+14155550100</Number>" in routed.data  # '#' reached the menu: the operator
    default = make_twilio().post("/voice/inbound", BASE_PARAMS).data
    assert b"finishOnKey" not in default  # the default menu keeps the benchmark's TwiML


def test_a_conference_recording_callback_without_call_sid_becomes_a_job(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    params = {
        "AccountSid": "AC" + "0" * 32,
        "ConferenceSid": "CF" + "1" * 32,
        "RecordingSid": "RE" + "2" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE",
        "RecordingStatus": "completed",
        "RecordingDuration": "93",
    }
    twilio = make_twilio()
    assert twilio.post("/voice/recording/status", params).status_code == 204
    assert twilio.post("/voice/recording/status", params).status_code == 204  # redelivered
    [job] = store.recording_jobs()
    assert (job.conference_sid, job.call_sid, job.duration) == (params["ConferenceSid"], "", "93")
    neither = {k: v for k, v in params.items() if k != "ConferenceSid"}
    assert twilio.post("/voice/recording/status", neither).status_code == 400


# --- the numbers and time limits the flows apply -------------------------------------------


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Twilio, SqliteStore, Clock]]:
    clock = Clock()
    store = SqliteStore(str(tmp_path / "clocked.sqlite3"), clock=clock)
    app = create_app(make_settings(caller_id="+14155550199"), store, metrics=Metrics())
    yield Twilio(Client(app)), store, clock
    store.close()


STATUS = {**BASE_PARAMS, "CallStatus": "completed", "Timestamp": "Tue, 24 Nov 2026 10:00:00 +0000"}


def test_a_redelivered_status_callback_is_a_duplicate_for_24_hours(
    clocked: tuple[Twilio, SqliteStore, Clock],
) -> None:
    twilio, store, clock = clocked
    twilio.post("/voice/status", STATUS)
    clock.now += 86_399
    twilio.post("/voice/status", STATUS)
    assert len(store.call_events()) == 1
    clock.now += 2  # past the day: the key has expired, a delivery is new again
    twilio.post("/voice/status", STATUS)
    assert len(store.call_events()) == 2


def test_status_callbacks_without_timestamp_dedupe_on_sequence_number(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    params = {**BASE_PARAMS, "CallStatus": "ringing"}
    for sequence in ("0", "0", "1"):
        twilio.post("/voice/status", {**params, "SequenceNumber": sequence})
    assert [e.timestamp for e in store.call_events()] == ["0", "1"]


def test_two_recordings_of_one_call_are_two_jobs(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    # Recording callbacks carry no Timestamp: the RecordingSid keeps them apart.
    twilio = make_twilio()
    params = {**BASE_PARAMS, "RecordingStatus": "completed", "RecordingUrl": "https://x/RE"}
    for rec in ("RE" + "1" * 32, "RE" + "2" * 32, "RE" + "1" * 32):
        twilio.post("/voice/recording/status", {**params, "RecordingSid": rec})
    assert [j.recording_sid for j in store.recording_jobs()] == ["RE" + "1" * 32, "RE" + "2" * 32]


def test_an_answered_dial_ends_the_call(make_twilio: AppFactory) -> None:
    twilio = make_twilio()
    for status in ("completed", "answered"):
        response = twilio.post(
            "/voice/dial/status?then=pstn&user=alice", {**BASE_PARAMS, "DialCallStatus": status}
        )
        assert b"<Dial" not in response.data, status
    unanswered = twilio.post(
        "/voice/dial/status?then=pstn&user=alice", {**BASE_PARAMS, "DialCallStatus": "no-answer"}
    )
    assert b"<Number>+14155550102</Number>" in unanswered.data  # alice's PSTN fallback


@pytest.mark.parametrize(
    ("region", "number"),
    [(None, None), ("US", b"<Number>+14155550100</Number>"), ("GB", None)],
)
def test_a_sip_user_dialling_a_national_number_needs_a_dial_region(
    make_twilio: AppFactory, region: str | None, number: bytes | None
) -> None:
    # 4155550100 is +1 415 555 0100 in the US, but read as E.164 it is +41 55 555 01 00.
    flows = FlowSettings(dial_region=region)
    twilio = make_twilio(make_settings(caller_id="+14155550199", flows=flows))
    response = twilio.post(
        "/voice/sip/inbound", {**BASE_PARAMS, "To": "sip:4155550100@acme.sip.twilio.com"}
    )
    assert b"+4155550100" not in response.data
    if number is None:
        assert b"<Reject" in response.data
    else:
        assert number in response.data
