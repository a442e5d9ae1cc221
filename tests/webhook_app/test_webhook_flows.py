# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""Every call-flow step through the app, compared with golden TwiML (tests/webhook_app/golden/).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/webhook_app`` and review
the diff of the golden files.
"""

from __future__ import annotations

import datetime as dt
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from webhook_support import (
    GOLDEN,
    AppFactory,
    Clock,
    Twilio,
    built_in_with,
    main_flow_with,
    make_settings,
)
from werkzeug.test import Client

from infra.urls import webhook_url
from webhook_app.app import create_app
from webhook_app.metrics import Metrics
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

# The built-in flow with BYOC routes and a disaster-recovery number.
FLOWS = built_in_with(disaster_recovery_number="+14155550170")
FLOWS["flows"]["main"]["byoc_routes"] = {
    "+14155550150": {"sip_user": "alice"},
    "+14155550151": {"dial": {"numbers": ["+14155550160"]}},
}

# An estate with every kind of step: business hours, a speech menu with hints, a submenu, a
# flow that records (with consent), in-order and simultaneous dials, SIP users, named and
# caller rooms, two voicemail boxes, hang-ups, the operator and the no-answer chains.
ESTATE: dict[str, Any] = {
    "operator": {"numbers": ["+14155550100"]},
    "sip_users": {
        "alice": {"uri": "sip:alice@pbx.example.com", "pstn_fallback": "+14155550102"},
        "bob": {"uri": "sip:bob@pbx.example.com"},
    },
    "voicemail_boxes": {
        "general": {},
        "sales": {
            "prompt": "Sales is away. Leave a message.",
            "max_seconds": 60,
            "thanks": "Sales will call you back.",
        },
    },
    "schedules": {
        "office": {
            "time_zone": "America/New_York",
            "weekly": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-25"],
        }
    },
    "flows": {
        "main": {
            "start": {
                "hours": {
                    "schedule": "office",
                    "open": {"menu": "main"},
                    "closed": {"voicemail": "general"},
                    "holiday": {"hangup": "We are closed for the holiday. Goodbye."},
                }
            },
            "menus": {
                "main": {
                    "prompt": "For sales press 1 or say sales. For support press 2.",
                    "speech": True,
                    "hints": ["billing", "tech-support"],
                    "options": [
                        {"digit": "1", "label": "sales", "action": {"menu": "sales"}},
                        {"digit": "2", "label": "support", "action": {"flow": "support"}},
                        {
                            "digit": "3",
                            "label": "team",
                            "action": {
                                "dial": {
                                    "numbers": ["+14155550111", "+14155550112"],
                                    "ring": "in_order",
                                    "timeout": 15,
                                    "no_answer": {"voicemail": "sales"},
                                }
                            },
                        },
                        {"digit": "4", "label": "alice", "action": {"sip_user": "alice"}},
                        {
                            "digit": "5",
                            "label": "all hands",
                            "action": {"conference": {"room": "all-hands"}},
                        },
                        {"digit": "6", "label": "operator", "action": {"operator": True}},
                        {"digit": "0", "label": "goodbye", "action": {"hangup": "Goodbye now."}},
                    ],
                },
                "sales": {
                    "prompt": "For new orders press 1. To leave a message press 2.",
                    "first_silence": "reprompt",
                    "retries": 1,
                    "exhausted": {"hangup": ""},
                    "options": [
                        {
                            "digit": "1",
                            "action": {"dial": {"numbers": ["+14155550121", "+14155550122"]}},
                        },
                        {"digit": "2", "action": {"voicemail": "sales"}},
                    ],
                },
            },
            "byoc_routes": {"+14155550150": {"sip_user": "alice"}},
        },
        "support": {
            "voice": "Polly.Amy",
            "language": "en-GB",
            "recording": {"mode": "record-from-answer", "consent": "This call may be recorded."},
            "caller_id": "+14155550180",
            "start": {"menu": "support"},
            "no_answer": {"voicemail": "general"},
            "menus": {
                "support": {
                    "prompt": "For an engineer press 1. For the support room press 2.",
                    "options": [
                        {"digit": "1", "action": {"dial": {"numbers": ["+14155550131"]}}},
                        {"digit": "2", "action": {"conference": {}}},
                    ],
                }
            },
        },
        "vip": {
            "recording": {"mode": "dual", "consent": "Calls are recorded for quality."},
            "start": {"dial": {"numbers": ["+14155550141"]}},
        },
    },
}
# Mon 7 Dec 2026 in New York: 10:00 (open), 18:00 (closed); Fri 25 Dec (a holiday).
OPEN = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)
CLOSED = dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC)
HOLIDAY = dt.datetime(2026, 12, 25, 15, 0, tzinfo=dt.UTC)


@dataclass
class Case:
    name: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    flows: dict[str, Any] = field(default_factory=lambda: FLOWS)
    now: dt.datetime = OPEN


def _estate(name: str, path: str, params: dict[str, str] | None = None, **kw: Any) -> Case:
    return Case(f"flow_{name}", path, params or {}, flows=ESTATE, **kw)


CASES = [
    Case("ivr_main", "/voice/inbound", {"To": "+14155550100"}),
    Case("ivr_menu_sales", "/voice/menu", {"Digits": "1"}),
    Case("ivr_menu_support_conference", "/voice/menu", {"Digits": "2"}),
    Case("ivr_menu_voicemail", "/voice/menu", {"SpeechResult": "leave a message"}),
    Case("ivr_menu_invalid", "/voice/menu", {"Digits": "7"}),
    Case("ivr_menu_timeout", "/voice/menu?retries=1", {}),
    # the previous reprompt's action carried the retries used so far (retries: 2)
    Case("ivr_menu_exhausted_operator", "/voice/menu?retries=2", {"Digits": "7"}),
    Case(
        "ivr_menu_exhausted_goodbye",
        "/voice/menu?retries=2",
        {},
        flows=built_in_with(operator=None),
    ),
    Case(
        "ivr_main_speech",
        "/voice/inbound",
        {},
        flows=main_flow_with(menu={"speech": True, "prompt": "Say sales or support."}),
    ),
    Case(
        "ivr_main_first_silence_reprompt",
        "/voice/inbound",
        {},
        flows=main_flow_with(menu={"first_silence": "reprompt"}),
    ),
    Case(
        "ivr_menu_sip_user",
        "/voice/menu",
        {"Digits": "3"},
        flows=main_flow_with(
            menu={"options": [{"digit": "3", "label": "alice", "action": {"sip_user": "alice"}}]}
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
        "/voice/dial/status?step=sip.alice",
        {"DialCallStatus": "completed"},
    ),
    Case(
        "dial_status_pstn_fallback",
        "/voice/dial/status?step=sip.alice",
        {"DialCallStatus": "no-answer"},
    ),
    Case(
        "dial_status_no_answer_message",
        "/voice/dial/status?step=sip.alice&attempt=1",
        {"DialCallStatus": "busy"},
    ),
    Case(
        "dial_status_voicemail",
        "/voice/dial/status?step=menu.main.1",
        {"DialCallStatus": "failed"},
    ),
    # A <Dial action> written before call flows (mid-rollout): the same continuation.
    Case(
        "dial_status_legacy_then_voicemail",
        "/voice/dial/status?then=voicemail",
        {"DialCallStatus": "failed"},
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
        flows=built_in_with(),
    ),
    Case("outbound_voicemail_drop", "/voice/outbound", {"AnsweredBy": "machine_end_beep"}),
    Case(
        "outbound_voicemail_drop_recording",
        "/voice/outbound",
        {"AnsweredBy": "machine_end_silence"},
        flows=built_in_with(voicemail_drop={"url": "https://media.example.com/drop.mp3"}),
    ),
    # --- every kind of step of a declared estate -------------------------------------------
    _estate("hours_open_speech_menu", "/voice/inbound", now=OPEN),
    _estate("hours_closed_voicemail", "/voice/inbound", now=CLOSED),
    _estate("hours_holiday_hangup", "/voice/inbound", now=HOLIDAY),
    _estate("submenu", "/voice/menu", {"Digits": "1"}),
    _estate("submenu_reprompt", "/voice/menu?menu=sales", {"Digits": "9"}),
    _estate("submenu_exhausted_hangup", "/voice/menu?menu=sales&retries=1", {"Digits": "9"}),
    _estate("redirect_to_flow", "/voice/menu", {"SpeechResult": "support please"}),
    _estate("dial_in_order_first", "/voice/menu", {"Digits": "3"}),
    _estate(
        "dial_in_order_next",
        "/voice/dial/status?step=menu.main.3&attempt=0",
        {"DialCallStatus": "no-answer"},
    ),
    _estate(
        "dial_in_order_then_its_no_answer",
        "/voice/dial/status?step=menu.main.3&attempt=1",
        {"DialCallStatus": "busy"},
    ),
    _estate("dial_simultaneous", "/voice/menu?menu=sales", {"Digits": "1"}),
    _estate(
        "dial_no_answer_message",
        "/voice/dial/status?step=menu.sales.1",
        {"DialCallStatus": "no-answer"},
    ),
    _estate("sip_user", "/voice/menu", {"Digits": "4"}),
    _estate(
        "sip_user_pstn_fallback",
        "/voice/dial/status?step=menu.main.4",
        {"DialCallStatus": "no-answer"},
    ),
    _estate("conference_named_room", "/voice/menu", {"Digits": "5"}),
    _estate("operator", "/voice/menu", {"Digits": "6"}),
    _estate("hangup", "/voice/menu", {"Digits": "0"}),
    _estate("voicemail_box", "/voice/menu?menu=sales", {"Digits": "2"}),
    _estate("voicemail_box_done", "/voice/voicemail/done?box=sales"),
    _estate("byoc_route", "/voice/byoc/inbound", {"To": "+14155550150"}),
    _estate("consent_at_entry", "/voice/inbound?flow=support"),
    _estate("recorded_dial", "/voice/menu?flow=support", {"Digits": "1"}),
    _estate("recorded_conference_caller_room", "/voice/menu?flow=support", {"Digits": "2"}),
    _estate(
        "recorded_no_answer_chain_flow_voicemail",
        "/voice/dial/status?flow=support&step=menu.support.1",
        {"DialCallStatus": "no-answer"},
    ),
    _estate("dual_recording_consent_then_dial", "/voice/inbound?flow=vip"),
    _estate("recorded_voice_fallback", "/voice/fallback?flow=support"),
]


def _post(make_twilio: AppFactory, store: SqliteStore, case: Case) -> Any:
    settings = make_settings(caller_id="+14155550199", call_flows=case.flows)
    twilio = make_twilio(settings, now=lambda: case.now)
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
    assert b'action="/app/voice/dial/status?step=menu.main.1"' in dial
    voicemail = twilio.post("/voice/voicemail", BASE_PARAMS, base=base).data
    assert b'action="/app/voice/voicemail/done"' in voicemail
    assert b'recordingStatusCallback="https://voice.example.test/app/voice/recording/status"' in (
        voicemail
    )
    # The infra side builds the same URLs for the resources that point here.
    assert webhook_url(base, "ivr_menu") == base + "/voice/menu"


def test_a_menu_offering_hash_turns_off_gathers_finish_key(make_twilio: AppFactory) -> None:
    options = [
        {"digit": "#", "label": "operator", "action": {"operator": True}},
        {"digit": "1", "label": "sales", "action": {"dial": {"numbers": ["+14155550101"]}}},
    ]
    twilio = make_twilio(make_settings(call_flows=main_flow_with(menu={"options": options})))
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
            "/voice/dial/status?step=sip.alice", {**BASE_PARAMS, "DialCallStatus": status}
        )
        assert b"<Dial" not in response.data, status
    unanswered = twilio.post(
        "/voice/dial/status?step=sip.alice", {**BASE_PARAMS, "DialCallStatus": "no-answer"}
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
    flows = built_in_with(dial_region=region)
    twilio = make_twilio(make_settings(caller_id="+14155550199", call_flows=flows))
    response = twilio.post(
        "/voice/sip/inbound", {**BASE_PARAMS, "To": "sip:4155550100@acme.sip.twilio.com"}
    )
    assert b"+4155550100" not in response.data
    if number is None:
        assert b"<Reject" in response.data
    else:
        assert number in response.data
