"""Outbound calls through the emulator's Calls API: queued at once, then placed by the call
simulator (status callback events, AnsweredBy with machine detection), a calls-per-second
limit answered with 429, and Twilio's validation of To, From and Url."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sim_support import APP, ScriptedApp

from devtools.emulator_testing import RunningEmulator, running_emulator

FROM = "+14155550100"
TO = "+14155550177"


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with running_emulator(numbers=[FROM]) as running:
        yield running


@pytest.fixture
def app(emu: RunningEmulator) -> ScriptedApp:
    scripted = ScriptedApp(token=emu.auth_token)
    assert emu.emulator is not None
    emu.emulator.calls.simulator.transport = scripted
    return scripted


def calls(emu: RunningEmulator) -> Any:
    return emu.client().api.v2010.accounts(emu.account_sid).calls


def wait(emu: RunningEmulator, sid: str) -> None:
    assert emu.emulator is not None
    assert emu.emulator.calls.simulator.outbound.join(sid, timeout=30)


def test_an_outbound_call_is_queued_then_placed_with_its_events(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/outbound"] = "<Say>This is a reminder</Say>"
    call = calls(emu).create(
        to=TO,
        from_=FROM,
        url=f"{APP}/outbound",
        status_callback=f"{APP}/events",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection="Enable",
    )
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    wait(emu, call.sid)
    done = calls(emu)(call.sid).fetch()
    assert done.status == "completed"
    assert done.answered_by == "human"
    fetched = next(r for r in app.seen if r["path"] == "/outbound")
    assert fetched["signed"]
    params = fetched["params"]
    assert (params["Direction"], params["AnsweredBy"], params["CallStatus"]) == (
        "outbound-api",
        "human",
        "in-progress",
    )
    assert (params["From"], params["To"]) == (FROM, TO)
    events = [r["params"] for r in app.seen if r["path"] == "/events"]
    assert [e["CallStatus"] for e in events] == ["initiated", "ringing", "in-progress", "completed"]
    assert [e["SequenceNumber"] for e in events] == ["0", "1", "2", "3"]


def test_a_machine_and_a_busy_callee(emu: RunningEmulator, app: ScriptedApp) -> None:
    emu.admin.request(
        "PUT",
        "/calls/outbound",
        {
            "cps": 10,
            "parties": {
                TO: {"answer": "answered", "answered_by": "machine_end_beep"},
                "+14155550178": "busy",
            },
        },
    )
    app.pages["/drop"] = "<Say>Voicemail drop</Say><Hangup/>"
    machine = calls(emu).create(
        to=TO, from_=FROM, url=f"{APP}/drop", machine_detection="DetectMessageEnd"
    )
    busy = calls(emu).create(to="+14155550178", from_=FROM, url=f"{APP}/drop")
    wait(emu, machine.sid)
    wait(emu, busy.sid)
    drop = next(r for r in app.seen if r["path"] == "/drop")
    assert drop["params"]["AnsweredBy"] == "machine_end_beep"
    assert calls(emu)(busy.sid).fetch().status == "busy"
    assert len([r for r in app.seen if r["path"] == "/drop"]) == 1  # the busy call fetched none


def test_inline_twiml(emu: RunningEmulator, app: ScriptedApp) -> None:
    call = calls(emu).create(to=TO, from_=FROM, twiml="<Response><Pause/><Hangup/></Response>")
    wait(emu, call.sid)
    assert calls(emu)(call.sid).fetch().status == "completed"
    assert app.seen == []


def _post(emu: RunningEmulator, form: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
    auth = base64.b64encode(f"{emu.account_sid}:{emu.auth_token}".encode()).decode()
    request = urllib.request.Request(
        f"{emu.base_url}/api/2010-04-01/Accounts/{emu.account_sid}/Calls.json",
        data=urlencode(form).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {auth}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def test_calls_beyond_the_rate_limit_are_answered_429(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    assert emu.emulator is not None
    clock = {"now": 1_000.0}
    emu.emulator.store.clock = lambda: clock["now"]
    emu.admin.request("PUT", "/calls/outbound", {"cps": 2})
    form = {"To": TO, "From": FROM, "Twiml": "<Response><Hangup/></Response>"}
    sids = []
    for _ in range(2):
        status, body, _ = _post(emu, form)
        assert status == 201
        sids.append(body["sid"])
    status, body, headers = _post(emu, form)
    assert (status, body["code"]) == (429, 20429)
    assert headers["Retry-After"]
    clock["now"] += 1.0
    status, body, _ = _post(emu, form)
    assert status == 201
    for sid in [*sids, body["sid"]]:
        wait(emu, sid)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": TO, "From": "+19995550000", "Url": f"{APP}/x"}, 21210),
        ({"To": "4155550177", "From": FROM, "Url": f"{APP}/x"}, 21211),
        ({"To": TO, "From": FROM}, 21205),
        ({"To": TO, "From": FROM, "Url": f"{APP}/x", "StatusCallbackEvent": "hungup"}, 20001),
    ],
)
def test_what_twilio_refuses(
    emu: RunningEmulator, app: ScriptedApp, form: dict[str, str], code: int
) -> None:
    status, body, _ = _post(emu, form)
    assert (status, body["code"]) == (400, code)
