# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""Conference status callbacks: every warm-transfer leg names the route, events queued once."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from webhook_support import BASE, AppFactory, make_settings

from webhook_app.store import StoreError
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
AGENT = "CA" + "a" * 32
CONFERENCE = "CF" + "1" * 32
EVENT = {
    "AccountSid": "AC" + "0" * 32,
    "ConferenceSid": CONFERENCE,
    "FriendlyName": "transfer-0123456789abcdef",
    "StatusCallbackEvent": "participant-join",
    "CallSid": AGENT,
    "ParticipantLabel": "agent-aaaaaaaaaaaa",
    "Muted": "false",
    "Hold": "false",
    "SequenceNumber": "2",
    "Timestamp": "Sun, 06 Dec 2026 11:00:00 +0000",
}


@pytest.mark.parametrize(
    ("path", "sid"),
    [
        ("/voice/transfer", CALL),
        (f"/voice/transfer?leg=agent&customer={CALL}", AGENT),
        (f"/voice/transfer?leg=supervisor&customer={CALL}", "CA" + "b" * 32),
    ],
)
def test_every_leg_names_the_conference_status_callback(
    make_twilio: AppFactory, path: str, sid: str
) -> None:
    response = make_twilio().post(path, {"CallSid": sid})
    conference = ET.fromstring(response.data).find("./Dial/Conference")
    assert conference is not None
    assert conference.get("statusCallback") == f"{BASE}/voice/conference/status"
    assert conference.get("statusCallbackMethod") == "POST"
    assert str(conference.get("statusCallbackEvent")).split() == [
        "start",
        "end",
        "join",
        "leave",
        "mute",
        "hold",
    ]


def test_behind_a_prefix_the_callback_keeps_it(make_twilio: AppFactory) -> None:
    base = "https://voice.example.test/app"
    twilio = make_twilio(make_settings(public_base_url=base))
    response = twilio.post("/voice/transfer", {"CallSid": CALL}, base=base)
    assert f'statusCallback="{base}/voice/conference/status"'.encode() in response.data
    assert twilio.post("/voice/conference/status", EVENT, base=base).status_code == 204


def test_a_retried_conference_event_is_processed_once(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    for _ in range(3):  # Twilio delivers at least once: the same callback again
        response = twilio.post("/voice/conference/status", EVENT)
        assert response.status_code == 204
        assert response.data == b""
    [event] = store.call_events()
    assert event.source == "conference"
    assert (event.conference_sid, event.status, event.call_sid) == (
        CONFERENCE,
        "participant-join",
        AGENT,
    )
    assert (event.sequence_number, event.participant_label) == ("2", "agent-aaaaaaaaaaaa")
    assert event.timestamp == EVENT["Timestamp"]


def test_distinct_conference_events_are_each_kept(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    mute = {**EVENT, "StatusCallbackEvent": "participant-mute", "Muted": "true"}
    events = [
        {**EVENT, "StatusCallbackEvent": "conference-start", "SequenceNumber": "1"},
        EVENT,
        {**mute, "SequenceNumber": "3"},
        # the same participant muted again within the same second: another SequenceNumber
        {**mute, "SequenceNumber": "5"},
        {**EVENT, "CallSid": CALL, "ParticipantLabel": "customer", "SequenceNumber": "4"},
        {
            k: v
            for k, v in {
                **EVENT,
                "StatusCallbackEvent": "conference-end",
                "SequenceNumber": "6",
                "ReasonConferenceEnded": "participant-with-end-conference-on-exit-left",
            }.items()
            if k not in ("CallSid", "ParticipantLabel")
        },
    ]
    for params in events + events:  # every one redelivered
        assert twilio.post("/voice/conference/status", params).status_code == 204
    stored = store.call_events()
    assert [(e.status, e.sequence_number) for e in stored] == [
        ("conference-start", "1"),
        ("participant-join", "2"),
        ("participant-mute", "3"),
        ("participant-mute", "5"),
        ("participant-join", "4"),
        ("conference-end", "6"),
    ]
    assert stored[-1].call_sid == ""
    assert stored[-1].reason == "participant-with-end-conference-on-exit-left"


def test_without_a_sequence_number_the_timestamp_dedupes(
    make_twilio: AppFactory, store: SqliteStore
) -> None:
    twilio = make_twilio()
    params = {k: v for k, v in EVENT.items() if k != "SequenceNumber"}
    for stamp in ("t1", "t1", "t2"):
        twilio.post("/voice/conference/status", {**params, "Timestamp": stamp})
    assert [e.timestamp for e in store.call_events()] == ["t1", "t2"]


@pytest.mark.parametrize("missing", ["ConferenceSid", "StatusCallbackEvent"])
def test_a_callback_without_its_conference_fields_is_400(
    make_twilio: AppFactory, store: SqliteStore, missing: str
) -> None:
    params = {k: v for k, v in EVENT.items() if k != missing}
    assert make_twilio().post("/voice/conference/status", params).status_code == 400
    assert store.call_events() == []


def test_a_store_outage_is_503_so_twilio_retries(
    make_twilio: AppFactory, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: object, **__: object) -> bool:
        raise StoreError("store down")

    twilio = make_twilio()
    monkeypatch.setattr(store, "claim", down)
    assert twilio.post("/voice/conference/status", EVENT).status_code == 503
    monkeypatch.undo()
    assert twilio.post("/voice/conference/status", EVENT).status_code == 204
    assert len(store.call_events()) == 1
