# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""The app serves the call-flows artifact: loading it, /healthz's hash, ?flow= and recording."""

from __future__ import annotations

import gc
import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from webhook_support import BASE, TOKEN, Twilio, built_in_with, twilio_for
from werkzeug.test import Client

from webhook_app.app import get_app
from webhook_app.callflow import artifact
from webhook_app.callflow.model import CallFlows
from webhook_app.metrics import Metrics
from webhook_app.settings import SettingsError, load_settings
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
PARAMS = {"AccountSid": "AC" + "0" * 32, "CallSid": CALL, "From": "+12125550199"}

TWO_FLOWS: dict[str, Any] = {
    "default_flow": "main",
    "caller_id": "+14155550177",
    "operator": {"numbers": ["+14155550100"]},
    "sip_users": {"alice": {"uri": "sip:alice@pbx.example.com"}},
    "voicemail_boxes": {"general": {}},
    "disaster_recovery_number": "+14155550170",
    "flows": {
        "main": {
            "start": {"menu": "main"},
            "menus": {
                "main": {
                    "prompt": "Press 1 for support.",
                    "options": [
                        {"digit": "1", "action": {"flow": "support"}},
                        {"digit": "2", "action": {"dial": {"numbers": ["+14155550101"]}}},
                        {"digit": "3", "action": {"conference": {}}},
                    ],
                }
            },
        },
        "support": {
            "voice": "Polly.Amy",
            "language": "en-GB",
            "recording": {"mode": "dual", "consent": "This call is recorded."},
            "start": {"dial": {"numbers": ["+14155550131"]}},
            "byoc_routes": {"+14155550150": {"sip_user": "alice"}},
        },
    },
}


def _write(tmp_path: Path, flows: dict[str, Any], name: str = "flows.json") -> Path:
    path = tmp_path / name
    text = artifact.render(CallFlows.model_validate(flows), ("US",), stack="test")
    path.write_text(text, encoding="utf-8")
    return path


def _env(tmp_path: Path, settings_file: Path | None, **extra: str) -> dict[str, str]:
    env = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": BASE,
        "VOICE_STORE_URL": f"sqlite:///{tmp_path}/state.sqlite3",
        "LOG_LEVEL": "CRITICAL",
        **extra,
    }
    if settings_file is not None:
        env["VOICE_SETTINGS_FILE"] = str(settings_file)
    return env


def test_healthz_reports_the_artifacts_content_hash_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, TWO_FLOWS)
    monkeypatch.setattr("gc.freeze", lambda: None)  # leave the test process's heap alone
    app = get_app(_env(tmp_path, path))
    gc.unfreeze()
    health = Client(app).get("/healthz", base_url=BASE)
    assert health.status_code == 200
    expected = artifact.content_hash(CallFlows.model_validate(TWO_FLOWS), ("US",))
    assert health.json["call_flows"] == expected  # type: ignore[index]
    assert health.json["call_flows"] == json.loads(path.read_text())["hash"]  # type: ignore[index]
    assert health.json["call_flows_source"] == str(path)  # type: ignore[index]


def test_without_an_artifact_the_built_in_flow_is_served(tmp_path: Path) -> None:
    settings = load_settings(_env(tmp_path, None))
    assert settings.served.source == "built-in"
    assert settings.served.hash == artifact.content_hash(artifact.DEFAULT_CALL_FLOWS, None)


def test_a_hand_edited_artifact_is_refused_at_start_up(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO_FLOWS)
    data = json.loads(path.read_text())
    data["call_flows"]["flows"]["main"]["menus"]["main"]["prompt"] = "Edited by hand."
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SettingsError, match="edited by hand") as info:
        load_settings(_env(tmp_path, path))
    assert "VOICE_SETTINGS_FILE" in str(info.value)
    assert "app-config" in str(info.value)  # how to fix it


def test_an_artifact_with_a_dangling_step_is_refused_even_with_a_matching_hash(
    tmp_path: Path,
) -> None:
    # A hash recomputed by hand passes the hash check; the app still checks the flows.
    flows = json.loads(json.dumps(TWO_FLOWS))
    flows["flows"]["main"]["menus"]["main"]["options"][0]["action"] = {"menu": "nowhere"}
    path = _write(tmp_path, flows)
    with pytest.raises(SettingsError, match=r"call_flows\.flows\.main\.menus\.main"):
        load_settings(_env(tmp_path, path))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flows.yaml", "operator_number: '+14155550111'\nmenu:\n  prompt: Hello.\n"),
        ("flows.toml", 'operator_number = "+14155550111"\n[menu]\nprompt = "Hello."\n'),
    ],
)
def test_the_old_settings_file_is_refused_with_how_to_migrate(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(_env(tmp_path, path))
    message = str(info.value)
    assert "call_flows" in message
    assert "twilio-voice app-config --stack NAME > flows.json" in message
    assert "docs/webhook-app.md" in message


def test_an_old_settings_file_under_a_json_name_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "flows.json"
    path.write_text(json.dumps({"operator_number": "+14155550111"}), encoding="utf-8")
    with pytest.raises(SettingsError, match="not a call-flows artifact"):
        load_settings(_env(tmp_path, path))


# --- ?flow= -----------------------------------------------------------------------------------


@pytest.fixture
def two_flows(store: SqliteStore) -> Twilio:
    return twilio_for(store, TWO_FLOWS, caller_id="+14155550199")


def test_no_flow_parameter_enters_the_default_flow(two_flows: Twilio) -> None:
    body = two_flows.post("/voice/inbound", PARAMS).data
    assert b"Press 1 for support." in body
    assert two_flows.post("/voice/inbound?flow=main", PARAMS).data == body


def test_an_unknown_flow_is_the_default_flow_with_a_warning_and_a_count(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    twilio = twilio_for(store, TWO_FLOWS, metrics=metrics)
    default = twilio.post("/voice/inbound", PARAMS)
    with caplog.at_level(logging.WARNING, logger="webhook_app"):
        unknown = twilio.post("/voice/inbound?flow=retired", PARAMS)
    assert unknown.status_code == 200
    assert unknown.data == default.data
    [record] = [r for r in caplog.records if "call flow" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert (record.__dict__["call_flow"], record.__dict__["default_flow"]) == ("retired", "main")
    exposed = metrics.render().decode()
    assert 'voice_flow_outcomes_total{flow="ivr_main",outcome="unknown_call_flow"} 1.0' in exposed
    # Never an error on any route: the caller hears the default flow.
    for path in ("/voice/menu", "/voice/voicemail", "/voice/fallback", "/voice/dial/status"):
        assert twilio.post(f"{path}?flow=retired", {**PARAMS, "Digits": "1"}).status_code == 200


def test_every_route_speaks_with_the_flows_voice(two_flows: Twilio) -> None:
    for path in (
        "/voice/voicemail?flow=support",
        "/voice/voicemail/done?flow=support",
        "/voice/fallback?flow=support",
    ):
        body = two_flows.post(path, PARAMS).data
        says = ET.fromstring(body).findall("Say")
        assert says, path
        assert {(s.get("voice"), s.get("language")) for s in says} == {("Polly.Amy", "en-GB")}


def test_the_artifacts_caller_id_wins_over_twilio_caller_id(two_flows: Twilio) -> None:
    dial = two_flows.post("/voice/menu", {**PARAMS, "Digits": "2"}).data
    assert b'callerId="+14155550177"' in dial  # call_flows.caller_id, not TWILIO_CALLER_ID


def test_twilio_caller_id_applies_when_the_artifact_names_none(store: SqliteStore) -> None:
    twilio = twilio_for(store, built_in_with(), caller_id="+14155550199")
    dial = twilio.post("/voice/menu", {**PARAMS, "Digits": "1"}).data
    assert b'callerId="+14155550199"' in dial


# --- recording: consent first; a flow that does not record has no record attribute -------------

RECORDING_ENTRIES = [
    ("/voice/inbound?flow=support", {}),
    ("/voice/byoc/inbound?flow=support", {"To": "+14155550150"}),  # a BYOC route
    ("/voice/byoc/inbound?flow=support", {"To": "+14155550199"}),  # the start
    ("/voice/sip/inbound?flow=support", {"To": "sip:alice@acme.sip.twilio.com"}),
    ("/voice/sip/inbound?flow=support", {"To": "sip:+14155550123@acme.sip.twilio.com"}),
    ("/voice/outbound?flow=support", {"AnsweredBy": "human"}),
    ("/voice/fallback?flow=support", {}),
    ("/voice/trunk/disaster-recovery?flow=support", {}),
    ("/voice/transfer?flow=support", {}),  # the customer's leg of the warm transfer
    (f"/voice/transfer?flow=support&leg=agent&customer={CALL}", {}),
    (f"/voice/transfer?flow=support&leg=supervisor&customer={CALL}", {}),
]


@pytest.mark.parametrize(("path", "params"), RECORDING_ENTRIES)
def test_a_recording_flows_consent_is_said_before_any_record_attribute(
    two_flows: Twilio, path: str, params: dict[str, str]
) -> None:
    root = ET.fromstring(two_flows.post(path, {**PARAMS, **params}).data)
    elements = list(root.iter())
    recorded = [i for i, e in enumerate(elements) if "record" in e.attrib]
    assert recorded, "the support flow records its dials"
    consent = [i for i, e in enumerate(elements) if e.text == "This call is recorded."]
    assert consent == [1]  # the first verb
    assert min(recorded) > consent[0]
    # dials record both channels; a conference records the room from its start
    assert {elements[i].get("record") for i in recorded} <= {
        "record-from-answer-dual",
        "record-from-start",
    }


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/voice/inbound", {}),
        ("/voice/menu", {"Digits": "2"}),  # a dial
        ("/voice/menu", {"Digits": "3"}),  # the caller's conference room
        ("/voice/transfer", {}),
        (f"/voice/transfer?leg=agent&customer={CALL}", {}),
        ("/voice/sip/inbound", {"To": "sip:alice@acme.sip.twilio.com"}),
        ("/voice/fallback", {}),
        ("/voice/trunk/disaster-recovery", {}),
        ("/voice/dial/status?step=menu.main.2", {"DialCallStatus": "no-answer"}),
    ],
)
def test_a_flow_that_does_not_record_has_no_record_attribute(
    two_flows: Twilio, path: str, params: dict[str, str]
) -> None:
    root = ET.fromstring(two_flows.post(path, {**PARAMS, **params}).data)
    assert [e.tag for e in root.iter() if "record" in e.attrib] == []
    assert b"This call is recorded." not in ET.tostring(root)


def test_a_recording_flows_warm_transfer_room_is_recorded(two_flows: Twilio) -> None:
    for path in (
        "/voice/transfer?flow=support",
        f"/voice/transfer?flow=support&leg=agent&customer={CALL}",
    ):
        conference = ET.fromstring(two_flows.post(path, PARAMS).data).find("Dial/Conference")
        assert conference is not None
        assert conference.get("record") == "record-from-start"
