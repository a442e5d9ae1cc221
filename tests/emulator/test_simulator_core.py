"""The call simulator's core: safe TwiML parsing, Twilio's signature, and each verb's behaviour
against scripted app answers (an in-memory transport: no sockets, no waiting)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_support import APP, NUMBER, XML, ScriptedApp
from twilio.request_validator import RequestValidator

from devtools.emulator_testing import RunningEmulator, running_emulator
from emulator.calls import CallSpec, SpecError
from emulator.signing import signature
from emulator.simulate import APPLICATION_ERROR, HttpResult, iter_trace_lines
from emulator.twiml_interpreter import TwimlError, parse_twiml
from webhook_app.signature import is_valid_signature

ROOT = Path(__file__).resolve().parents[2]
NODE_TWILIO = ROOT / ".cache" / "node-twilio"
NODE_TWILIO_VERSION = "6.3.1"  # as tests/webhook_app/test_webhook_signed_url.py


# --- parsing -----------------------------------------------------------------------------------


def test_twiml_with_a_dtd_is_refused_without_expanding_or_resolving_anything() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Response><Say>&b;</Say></Response>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Response><Say>&x;</Say></Response>"
    )
    for body in (laughs, external):
        with pytest.raises(TwimlError) as info:
            parse_twiml(body, "text/xml")
        assert info.value.code == 12100


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"<Response><Say>hi</Say>", "text/xml", 12100),  # not well-formed
        (b"<Respons><Say>hi</Say></Respons>", "text/xml", 12100),  # wrong root
        (b"<Response><Shout>hi</Shout></Response>", "text/xml", 12100),  # no such verb
        (b"<Response><Dial><Say>x</Say></Dial></Response>", "text/xml", 12100),  # bad nesting
        (b"<Response>&undefined;</Response>", "text/xml", 12100),
        (b'{"twiml": "<Response/>"}', "application/json", 12300),
        (b"<Response/>", "", 12300),
    ],
)
def test_what_twilio_would_not_execute_gets_its_error_code(
    body: bytes, content_type: str, code: int
) -> None:
    with pytest.raises(TwimlError) as info:
        parse_twiml(body, content_type)
    assert info.value.code == code


def test_plain_text_is_said_and_audio_is_played() -> None:
    (say,) = parse_twiml(b"Hello there", "text/plain")
    assert (say.name, say.text) == ("Say", "Hello there")
    (play,) = parse_twiml(b"\x00\x01", "audio/mpeg", "https://app.test/hello.mp3")
    assert (play.name, play.text) == ("Play", "https://app.test/hello.mp3")


# --- signatures --------------------------------------------------------------------------------

SIGNED_CASES = [
    ("https://voice.example.com/voice/inbound", {"CallSid": "CA1", "From": "+1415", "To": "+1"}),
    ("https://voice.example.com:8443/voice/menu?retries=2", {"Digits": "1", "CallSid": "CA2"}),
    ("http://127.0.0.1:8080/voice/dial/status?then=pstn&user=alice", {"A": "é ü &=", "B": ""}),
]


@pytest.mark.parametrize(("url", "params"), SIGNED_CASES)
def test_signatures_are_accepted_by_the_sdk_and_the_app(url: str, params: dict[str, str]) -> None:
    token = "a-twilio-auth-token-0123456789"
    sig = signature(token, url, params.items())
    assert RequestValidator(token).validate(url, params, sig)
    assert is_valid_signature(token.encode(), url, list(params.items()), sig)
    assert not RequestValidator("another-token").validate(url, params, sig)


@pytest.fixture(scope="session")
def node_twilio() -> Path:
    """The `twilio` npm package under .cache/node-twilio (shared with the webhook tests: the
    same version, installed once under the same file lock)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node and npm are needed to check signatures with Twilio's Node SDK")
        pytest.skip("node and npm are needed to check signatures with Twilio's Node SDK")
    package = NODE_TWILIO / "node_modules" / "twilio"
    NODE_TWILIO.mkdir(parents=True, exist_ok=True)
    with (NODE_TWILIO / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test workers share the folder: one installs
        if not (package / "package.json").exists():
            install = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix"]
            result = subprocess.run(
                [*install, str(NODE_TWILIO), f"twilio@{NODE_TWILIO_VERSION}"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"npm install twilio@{NODE_TWILIO_VERSION} failed:\n{result.stderr}")
    return package


def test_signatures_are_accepted_by_the_node_sdk(node_twilio: Path) -> None:
    token = "a-twilio-auth-token-0123456789"
    cases = [
        [token, url, params, signature(token, url, params.items())] for url, params in SIGNED_CASES
    ]
    script = (
        "const twilio = require(process.argv[1]);"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(cases.map(([t, u, p, s]) =>"
        " twilio.validateRequest(t, s, u, p))));"
    )
    out = subprocess.run(
        ["node", "-e", script, str(node_twilio)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == [True] * len(cases)


# --- an app scripted per URL -------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with running_emulator(numbers=[NUMBER, "+14155550199"]) as running:
        yield running


@pytest.fixture
def app(emu: RunningEmulator) -> ScriptedApp:
    scripted = ScriptedApp(token=emu.auth_token)
    assert emu.emulator is not None
    emu.emulator.calls.simulator.transport = scripted
    number = emu.client().api.v2010.accounts(emu.account_sid).incoming_phone_numbers
    (pn,) = [n for n in number.list() if n.phone_number == NUMBER]
    number(pn.sid).update(
        voice_url=f"{APP}/voice",
        voice_fallback_url=f"{APP}/fallback",
        status_callback=f"{APP}/status",
    )
    return scripted


def place(emu: RunningEmulator, **call: Any) -> dict[str, Any]:
    assert emu.emulator is not None
    spec = CallSpec.from_mapping({"to": NUMBER, **call})
    return emu.emulator.calls.simulator.place(spec, emu.base_url)


def test_the_first_request_carries_twilios_inbound_parameters_signed(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = "<Say>Hello</Say>"
    result = place(emu, **{"from": "+442079460000"})
    first = app.seen[0]
    assert first["signed"]
    assert first["method"] == "POST"
    assert first["path"] == "/voice"
    params = first["params"]
    assert params["CallSid"] == result["call_sid"]
    assert params["CallSid"].startswith("CA")
    assert params["AccountSid"] == emu.account_sid
    assert (params["From"], params["To"], params["Caller"], params["Called"]) == (
        "+442079460000",
        NUMBER,
        "+442079460000",
        NUMBER,
    )
    assert (params["CallStatus"], params["Direction"], params["ApiVersion"]) == (
        "ringing",
        "inbound",
        "2010-04-01",
    )
    assert (params["FromCountry"], params["ToCountry"]) == ("GB", "US")
    assert result["heard"] == ["Hello"]
    assert result["status"] == "completed"
    status = app.seen[-1]
    assert status["path"] == "/status"
    assert status["signed"]
    assert status["params"]["CallStatus"] == "completed"


def test_gather_speech_timeout_and_redirect(emu: RunningEmulator, app: ScriptedApp) -> None:
    app.pages["/voice"] = (
        '<Gather input="speech" action="/said"><Say>Say something</Say></Gather>'
        "<Say>Nothing heard</Say><Redirect>/again</Redirect>"
    )
    app.pages["/said"] = "<Say>Thanks</Say>"
    app.pages["/again"] = '<Gather numDigits="2"><Say>Digits</Say></Gather>'
    # The first Gather listens for speech only: a key press is ignored, it times out.
    result = place(emu, caller=[{"press": "5"}, {"press": "42#"}])
    # /again answers its own Gather again (no action: the same URL); then silence ends it.
    assert result["heard"] == ["Say something", "Nothing heard", "Digits", "Digits"]
    gathered = [r for r in app.seen if r["path"] == "/again" and "Digits" in r["params"]]
    assert gathered[0]["params"]["Digits"] == "42"  # no action: the current document's URL
    result = place(emu, caller=[{"say": "sales please"}])
    said = [r for r in app.seen if r["path"] == "/said"][-1]
    assert said["params"]["SpeechResult"] == "sales please"
    assert said["params"]["CallStatus"] == "in-progress"
    assert result["heard"][-1] == "Thanks"


def test_a_redirect_loop_ends_at_the_document_limit(emu: RunningEmulator, app: ScriptedApp) -> None:
    app.pages["/voice"] = "<Redirect>/voice</Redirect>"
    result = place(emu, max_documents=5)
    assert len([r for r in app.seen if r["path"] == "/voice"]) == 5
    assert result["heard"] == [APPLICATION_ERROR]


def test_reject_before_answer_ends_busy_or_no_answer(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = '<Reject reason="busy"/>'
    assert place(emu)["status"] == "busy"
    assert app.seen[-1]["params"]["CallStatus"] == "busy"
    app.pages["/voice"] = "<Reject/>"
    assert place(emu)["status"] == "no-answer"


@pytest.mark.parametrize(
    ("page", "code"),
    [
        (HttpResult(500, "text/html", b"oops"), 11200),
        (HttpResult(404, "text/html", b"missing"), 11200),
        (HttpResult(error="timeout"), 11200),
        (HttpResult(200, "application/json", b"{}"), 12300),
        (HttpResult(200, XML, b"<Response><Say>"), 12100),
    ],
)
def test_failures_fall_back_with_the_error_code_and_an_alert(
    emu: RunningEmulator, app: ScriptedApp, page: HttpResult, code: int
) -> None:
    app.pages["/voice"] = page
    app.pages["/fallback"] = "<Say>Sorry</Say>"
    result = place(emu)
    fallback = next(r for r in app.seen if r["path"] == "/fallback")
    assert fallback["params"]["ErrorCode"] == str(code)
    assert fallback["params"]["ErrorUrl"] == f"{APP}/voice"
    assert fallback["signed"]
    assert result["heard"] == ["Sorry"]
    assert [a["error_code"] for a in result["alerts"]] == [str(code)]
    assert result["fallback"]["error_code"] == code
    (alert,) = emu.client().monitor.v1.alerts.list()
    assert (alert.error_code, alert.resource_sid) == (str(code), result["call_sid"])
    assert alert.request_url == f"{APP}/voice"


def test_a_failed_fallback_or_action_says_twilios_application_error(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = HttpResult(500, "text/html", b"")
    app.pages["/fallback"] = HttpResult(503, "text/html", b"")
    result = place(emu)
    assert result["heard"] == [APPLICATION_ERROR]
    assert [a["error_code"] for a in result["alerts"]] == ["11200", "11200"]
    app.pages["/voice"] = '<Gather action="/gone"/>'
    app.pages["/gone"] = HttpResult(404, "text/html", b"")
    result = place(emu, caller=[{"press": "1"}])
    assert result["heard"] == [APPLICATION_ERROR]  # an action's failure: no fallback
    assert result["fallback"] is None


def test_dial_outcomes_reach_the_action_url(emu: RunningEmulator, app: ScriptedApp) -> None:
    app.pages["/voice"] = (
        '<Dial action="/dialled" timeout="10" callerId="+14155550199">'
        '<Sip statusCallback="/leg" statusCallbackEvent="initiated ringing answered completed">'
        "sip:bob@pbx.example.com</Sip></Dial>"
    )
    for answer, status, code in (
        ("answered", "completed", "200"),
        ("busy", "busy", "486"),
        ("no-answer", "no-answer", "487"),
        ("failed", "failed", "503"),
    ):
        app.seen.clear()
        result = place(emu, parties={"sip:bob@pbx.example.com": {"answer": answer, "seconds": 7}})
        action = next(r for r in app.seen if r["path"] == "/dialled")["params"]
        assert action["DialCallStatus"] == status
        assert action["DialSipResponseCode"] == code
        assert action["DialCallSid"] == result["dialled"][0]["call_sid"] != result["call_sid"]
        legs = [r["params"] for r in app.seen if r["path"] == "/leg"]
        assert all(leg["ParentCallSid"] == result["call_sid"] for leg in legs)
        assert legs[-1]["CallStatus"] == status
        if answer == "answered":
            assert action["DialCallDuration"] == "7"
            assert [leg["CallStatus"] for leg in legs] == [
                "initiated",
                "ringing",
                "in-progress",
                "completed",
            ]


def test_dial_with_a_caller_id_the_account_does_not_own_fails(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = '<Dial action="/dialled" callerId="+19995550000">+14155550123</Dial>'
    result = place(emu)
    action = next(r for r in app.seen if r["path"] == "/dialled")["params"]
    assert action["DialCallStatus"] == "failed"
    assert action["ErrorCode"] == "13214"
    assert result["dialled"][0]["error_code"] == 13214


def test_record_creates_a_recording_served_by_the_emulator(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = (
        '<Record maxLength="10" recordingStatusCallback="/rec" '
        'recordingStatusCallbackEvent="in-progress completed"/>'
    )
    app.pages["/voice2"] = "<Say>unused</Say>"
    result = place(emu, caller=[{"message": {"seconds": 30, "finish": "hangup"}}])
    (recording,) = result["recordings"]
    assert recording["duration"] == "10"  # capped by maxLength
    action = next(r for r in app.seen if r["path"] == "/voice" and "RecordingUrl" in r["params"])
    assert action["params"]["Digits"] == "hangup"  # no action: the current document
    callbacks = [r["params"] for r in app.seen if r["path"] == "/rec"]
    assert [c["RecordingStatus"] for c in callbacks] == ["in-progress", "completed"]
    assert callbacks[-1]["RecordingUrl"] == recording["url"]
    import urllib.request

    with urllib.request.urlopen(recording["url"] + ".wav", timeout=10) as response:
        assert response.headers["Content-Type"] == "audio/x-wav"
        assert response.read(4) == b"RIFF"
    # A silent caller leaves no recording and no action request.
    app.seen.clear()
    result = place(emu, caller=["silence"])
    assert result["recordings"] == []
    assert [r["path"] for r in app.seen] == ["/voice", "/status"]


AGENT = "+14155550123"


def test_dial_record_dual_records_the_bridged_call_on_the_parent_call(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = (
        '<Dial action="/dialled" record="record-from-answer-dual" recordingStatusCallback="/rec">'
        f"<Number>{AGENT}</Number></Dial>"
    )
    app.pages["/dialled"] = "<Hangup/>"
    result = place(emu, parties={AGENT: {"answer": "answered", "seconds": 30}})
    (recording,) = result["recordings"]
    assert (recording["source"], recording["channels"], recording["duration"]) == (
        "DialVerb",
        2,
        "30",
    )
    assert recording["call_sid"] == result["call_sid"] != result["dialled"][0]["call_sid"]
    # The callback (default event: completed only), signed, with the fields Twilio sends.
    (callback,) = [r for r in app.seen if r["path"] == "/rec"]
    assert callback["signed"]
    assert callback["method"] == "POST"
    params = callback["params"]
    assert params == {
        "AccountSid": emu.account_sid,
        "CallSid": result["call_sid"],
        "RecordingSid": recording["sid"],
        "RecordingUrl": recording["url"],
        "RecordingStatus": "completed",
        "RecordingDuration": "30",
        "RecordingChannels": "2",
        "RecordingSource": "DialVerb",
        "RecordingStartTime": params["RecordingStartTime"],
    }
    assert recording["sid"].startswith("RE")
    assert params["RecordingStartTime"].endswith("GMT")
    # The recording is the account's, listed over REST like the others.
    account = emu.client().api.v2010.accounts(emu.account_sid)
    (listed,) = account.recordings.list(call_sid=result["call_sid"])
    assert (listed.sid, listed.source, listed.channels, listed.duration) == (
        recording["sid"],
        "DialVerb",
        2,
        "30",
    )
    assert account.recordings(listed.sid).fetch().media_url == recording["url"]
    # The trace shows it, after the dial's result.
    kinds = [event["kind"] for event in result["trace"]]
    assert kinds.index("recording") == kinds.index("dial-result") + 1
    (line,) = [line for line in iter_trace_lines(result) if " recording " in line]
    assert "source=DialVerb mode=record-from-answer-dual start=answer channels=2" in line
    assert f"seconds=30 recording_sid={recording['sid']}" in line


def test_dial_record_mono_from_ringing_with_the_events_and_method_asked_for(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = (
        '<Dial record="record-from-ringing" recordingStatusCallback="/rec?box=1" '
        'recordingStatusCallbackMethod="GET" recordingStatusCallbackEvent="in-progress completed">'
        f"<Number>{AGENT}</Number></Dial>"
    )
    result = place(emu, parties={AGENT: {"answer": "answered", "seconds": 12}})
    (recording,) = result["recordings"]
    assert (recording["source"], recording["channels"], recording["duration"]) == (
        "DialVerb",
        1,
        "12",
    )
    callbacks = [r for r in app.seen if r["path"] == "/rec"]
    assert [c["method"] for c in callbacks] == ["GET", "GET"]
    assert all(c["signed"] for c in callbacks)
    assert all("box=1" in c["url"] and "RecordingChannels=1" in c["url"] for c in callbacks)
    assert ["RecordingDuration=12" in c["url"] for c in callbacks] == [False, True]
    assert ["RecordingStatus=in-progress" in c["url"] for c in callbacks] == [True, False]


@pytest.mark.parametrize("answer", ["busy", "no-answer", "failed"])
def test_dial_record_without_an_answer_records_nothing(
    emu: RunningEmulator, app: ScriptedApp, answer: str
) -> None:
    app.pages["/voice"] = (
        '<Dial action="/dialled" record="record-from-answer-dual" recordingStatusCallback="/rec">'
        f"<Number>{AGENT}</Number></Dial>"
    )
    app.pages["/dialled"] = "<Hangup/>"
    result = place(emu, parties={AGENT: answer})
    assert result["recordings"] == []
    assert not [r for r in app.seen if r["path"] == "/rec"]
    assert "recording" not in [event["kind"] for event in result["trace"]]
    account = emu.client().api.v2010.accounts(emu.account_sid)
    assert account.recordings.list(call_sid=result["call_sid"]) == []


def test_dial_without_record_or_with_an_unknown_value_records_nothing(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    for attrs in ("", ' record="do-not-record"', ' record="always"'):
        app.pages["/voice"] = f"<Dial{attrs}><Number>{AGENT}</Number></Dial>"
        result = place(emu)
        assert result["recordings"] == []
    (unsupported,) = [event for event in result["trace"] if event["kind"] == "unsupported"]
    assert (unsupported["verb"], unsupported["record"]) == ("Dial", "always")


def test_get_webhooks_are_signed_over_the_url_with_the_parameters(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    number = emu.client().api.v2010.accounts(emu.account_sid).incoming_phone_numbers
    (pn,) = [n for n in number.list() if n.phone_number == NUMBER]
    number(pn.sid).update(voice_url=f"{APP}/voice?tenant=a", voice_method="GET")
    app.pages["/voice"] = "<Hangup/>"
    place(emu)
    first = app.seen[0]
    assert first["method"] == "GET"
    assert "CallSid=" in first["url"]
    assert "tenant=a" in first["url"]
    assert first["signed"]


def test_calls_to_what_the_account_does_not_hold_are_refused(emu: RunningEmulator) -> None:
    with pytest.raises(SpecError, match="no number this account owns"):
        place(emu, to="+14155559999")
    with pytest.raises(SpecError, match="no SIP domain"):
        place(emu, to="sip:bob@nowhere.sip.twilio.com")
    with pytest.raises(SpecError, match="no BYOC trunk"):
        place(emu, byoc_trunk="carrier")
    status, body = _post_call(emu, {"to": "+14155559999"})
    assert status == 400
    assert "no number this account owns" in body["error"]
    status, body = _post_call(emu, {"to": NUMBER, "caller": [{"dance": 1}]})
    assert status == 400
    assert "caller[0]" in body["error"]


def _post_call(emu: RunningEmulator, call: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import urllib.error

    try:
        return 200, emu.admin.request("POST", "/calls", call)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_admin_endpoint_places_calls_and_keeps_its_guard(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = "<Say>Over HTTP</Say>"
    result = emu.admin.request("POST", "/calls", {"to": NUMBER})
    assert result["heard"] == ["Over HTTP"]
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{emu.base_url}/_admin/calls",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "Origin": "https://evil.example"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 403


# --- the calls and recordings over REST ---------------------------------------------------------


def test_simulated_calls_and_recordings_are_served_over_rest(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = (
        '<Dial action="/dialled"><Number>+14155550123</Number></Dial><Record action="/recorded"/>'
    )
    app.pages["/dialled"] = '<Record action="/recorded"/>'
    app.pages["/recorded"] = "<Hangup/>"
    result = place(
        emu,
        parties={"+14155550123": "busy"},
        caller=[{"message": {"seconds": 9}}],
    )
    account = emu.client().api.v2010.accounts(emu.account_sid)
    call = account.calls(result["call_sid"]).fetch()
    assert (call.status, call.direction, call.to, call._from) == (
        "completed",
        "inbound",
        NUMBER,
        "+12125550199",
    )
    assert call.to_formatted == "(415) 555-0100"
    assert call.phone_number_sid.startswith("PN")
    (leg,) = account.calls.list(parent_call_sid=result["call_sid"])
    assert (leg.status, leg.direction, leg.to) == ("busy", "outbound-dial", "+14155550123")
    assert [c.sid for c in account.calls.list(status="busy")] == [leg.sid]
    assert len(account.calls.list(to=NUMBER)) == 1
    (recording,) = account.recordings.list(call_sid=result["call_sid"])
    assert (recording.duration, recording.source, recording.status) == (
        "9",
        "RecordVerb",
        "completed",
    )
    assert recording.media_url == result["recordings"][0]["url"]
    assert account.recordings(recording.sid).fetch().call_sid == result["call_sid"]
    assert account.recordings(recording.sid).delete()
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(recording.media_url, timeout=10)
    assert info.value.code == 404
    assert account.calls(leg.sid).delete()
    assert [c.sid for c in account.calls.list()] == [result["call_sid"]]
