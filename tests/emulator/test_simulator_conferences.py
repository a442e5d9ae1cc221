"""Conferences in the call simulator: live rooms, control over REST (mute, hold, coach,
announce, kick, dial-in, end), conference status callbacks, and the warm transfer through the
real app with `twilio-voice transfer` placing the agent's and a coaching supervisor's legs."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_support import APP, NUMBER, ROOT, ScriptedApp, provision_local, serve_app
from twilio.base.exceptions import TwilioRestException

from devtools.emulator_testing import RunningEmulator, running_emulator
from emulator.calls import CallSpec
from infra.commands.transfer import transfer

DEADLINE = 20.0  # seconds any wait for a background leg may take at most


def until(condition: Any, what: str) -> Any:
    """Poll ``condition`` (bounded); its first truthy value."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# --- rooms and control against a scripted app ----------------------------------------------


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
    number(pn.sid).update(voice_url=f"{APP}/voice")
    emu.admin.request("PUT", "/calls/outbound", {"cps": 50})
    return scripted


def test_conference_control_over_rest_with_status_callbacks(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    assert emu.emulator is not None
    sim = emu.emulator.calls.simulator
    app.pages["/voice"] = (
        '<Dial><Conference statusCallback="/conf" '
        'statusCallbackEvent="start end join leave mute hold modify announcement" '
        'endConferenceOnExit="true" participantLabel="customer">room-1</Conference></Dial>'
    )
    app.pages["/announce"] = "<Say>Hello everyone</Say>"
    customer = sim.place_async(CallSpec.from_mapping({"to": NUMBER}), emu.base_url)
    api = emu.client().api.v2010.accounts(emu.account_sid)
    conference = until(
        lambda: next(
            iter(api.conferences.list(friendly_name="room-1", status="in-progress")), None
        ),
        "the customer's conference",
    )
    room = api.conferences(conference.sid)
    (only,) = room.participants.list()
    assert (only.call_sid, only.label, only.end_conference_on_exit) == (customer, "customer", True)
    assert room.participants("customer").update(muted=True, hold=True).muted is True
    assert room.participants.list(muted=True)[0].hold is True
    agent = room.participants.create(from_=NUMBER, to="+14155550131", label="agent")
    assert agent.status == "queued"
    until(lambda: room.participants("agent").fetch().status == "connected", "the agent to join")
    supervisor = room.participants.create(
        from_=NUMBER,
        to="+14155550132",
        label="supervisor",
        muted=True,
        coaching=True,
        call_sid_to_coach=agent.call_sid,
    )
    joined = until(
        lambda: [p for p in room.participants.list() if p.status == "connected"][2:],
        "the supervisor to join",
    )
    (coach,) = [p for p in joined if p.label == "supervisor"]
    assert (coach.muted, coach.coaching, coach.call_sid_to_coach) == (True, True, agent.call_sid)
    with pytest.raises(TwilioRestException) as info:
        room.participants.create(from_=NUMBER, to="+14155550133", label="agent")
    assert info.value.code == 16025
    with pytest.raises(TwilioRestException) as info:
        room.participants("CA" + "9" * 32).update(muted=False)
    assert info.value.status == 404
    room.update(announce_url=f"{APP}/announce")
    room.participants("customer").delete()  # kicked: endConferenceOnExit ends the room
    result = sim.join(customer, timeout=DEADLINE)
    assert result is not None
    assert "Hello everyone" in result["heard"]
    for sid in (agent.call_sid, supervisor.call_sid):
        assert sim.join(sid, timeout=DEADLINE) is not None
    ended = room.fetch()
    assert ended.status == "completed"
    assert ended.reason_conference_ended == "participant-with-end-conference-on-exit-kicked"
    assert ended.call_sid_ending_conference == customer
    events = [r["params"] for r in app.seen if r["path"] == "/conf"]
    names = [e["StatusCallbackEvent"] for e in events]
    assert names[:4] == [
        "conference-start",
        "participant-join",
        "participant-mute",
        "participant-hold",
    ]
    assert "announcement-end" in names
    assert names[-1] == "conference-end"
    assert names.count("participant-leave") == 3
    assert [int(e["SequenceNumber"]) for e in events] == list(range(1, len(events) + 1))
    assert all(r["signed"] for r in app.seen if r["path"] == "/conf")
    assert events[-1]["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-kicked"


def test_ending_a_conference_over_rest_releases_every_live_leg(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    assert emu.emulator is not None
    sim = emu.emulator.calls.simulator
    app.pages["/voice"] = "<Dial><Conference>room-2</Conference></Dial><Say>After</Say>"
    first = sim.place_async(CallSpec.from_mapping({"to": NUMBER}), emu.base_url)
    second = sim.place_async(CallSpec.from_mapping({"to": NUMBER}), emu.base_url)
    api = emu.client().api.v2010.accounts(emu.account_sid)
    conference = until(
        lambda: [
            c
            for c in api.conferences.list(friendly_name="room-2")
            if len(api.conferences(c.sid).participants.list()) == 2
        ],
        "both legs in the room",
    )[0]
    api.conferences(conference.sid).update(status="completed")
    for sid in (first, second):
        result = sim.join(sid, timeout=DEADLINE)
        assert result is not None
        assert result["heard"] == ["After"]  # the call goes on after the conference
    assert api.conferences(conference.sid).fetch().reason_conference_ended == (
        "conference-ended-via-api"
    )


def test_a_scenario_call_leaves_after_its_scripted_time(
    emu: RunningEmulator, app: ScriptedApp
) -> None:
    app.pages["/voice"] = (
        '<Dial><Conference record="record-from-start" recordingStatusCallback="/rec">'
        "room-3</Conference></Dial>"
    )
    assert emu.emulator is not None
    result = emu.emulator.calls.simulator.place(
        CallSpec.from_mapping({"to": NUMBER, "parties": {"room-3": {"seconds": 42}}}),
        emu.base_url,
    )
    assert result["duration"] == 42
    (recording,) = result["recordings"]
    assert recording["source"] == "Conference"
    callback = next(r for r in app.seen if r["path"] == "/rec")["params"]
    assert callback["ConferenceSid"] == recording["conference_sid"]
    conference = emu.client().api.v2010.accounts(emu.account_sid).conferences.list()[0]
    assert (conference.status, conference.reason_conference_ended) == (
        "completed",
        "last-participant-left",
    )


# --- the warm transfer through the real app --------------------------------------------------


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, Path]]:
    tmp = tmp_path_factory.mktemp("transfer")
    with running_emulator() as running, serve_app(tmp, running.auth_token) as served:
        provision_local(running, served.base_url)
        project = tmp / "project"
        project.mkdir()
        shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
        stack = (ROOT / "Pulumi.local.yaml").read_text()
        (project / "Pulumi.local.yaml").write_text(
            stack.replace("http://127.0.0.1:8080", served.base_url)
        )
        running.admin.request("PUT", "/calls/outbound", {"cps": 50, "parties": {}})
        yield running, project


def test_warm_transfer_agent_leg_and_coaching_supervisor(
    estate: tuple[RunningEmulator, Path],
) -> None:
    emu, project = estate
    placed = emu.admin.request(
        "POST", "/calls", {"to": "+14155550120", "caller": [{"press": "2"}], "wait": False}
    )
    customer = placed["call_sid"]
    api = emu.client().api.v2010.accounts(emu.account_sid)

    def waiting_room() -> Any:
        for conference in api.conferences.list(status="init"):
            if any(
                p.call_sid == customer for p in api.conferences(conference.sid).participants.list()
            ):
                return conference
        return None

    conference = until(waiting_room, "the customer on hold in the transfer room")
    assert conference.friendly_name.startswith("transfer-")
    out, err = io.StringIO(), io.StringIO()
    code = transfer(
        project,
        "local",
        customer=customer,
        agent="+14155550141",
        supervisor="+14155550142",
        coach=True,
        from_="+14155550120",
        environ=emu.env(),
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    assert "coaching the agent" in out.getvalue()
    room = api.conferences(conference.sid)
    assert room.fetch().status == "in-progress"  # the agent's entry started it
    legs = {p.label.split("-")[0]: p for p in room.participants.list() if p.label}
    assert set(legs) == {"customer", "agent", "supervisor"}
    assert legs["customer"].end_conference_on_exit is True
    assert legs["agent"].start_conference_on_enter is True
    assert legs["supervisor"].muted is True
    assert legs["supervisor"].coaching is True
    assert legs["supervisor"].call_sid_to_coach == legs["agent"].call_sid
    room.participants(customer).delete()  # the customer hangs up: the room ends
    result = emu.admin.request("GET", f"/calls/{customer}?timeout={DEADLINE}")
    assert result["status"] == "completed"
    assert emu.emulator is not None
    for leg in ("agent", "supervisor"):
        assert emu.emulator.calls.simulator.join(legs[leg].call_sid, timeout=DEADLINE)
    assert room.fetch().status == "completed"
    # The customer's flow records nothing (recording: off), so neither does its room.
    assert api.recordings.list(conference_sid=conference.sid) == []


def test_transfer_refuses_bad_input(estate: tuple[RunningEmulator, Path]) -> None:
    emu, project = estate
    for options, message in (
        ({"customer": "nope"}, "CallSid"),
        ({"coach": True}, "--coach needs --supervisor"),
        ({"from_": "+15005550006"}, "not a number the stack declares"),
    ):
        err = io.StringIO()
        arguments: dict[str, Any] = {
            "customer": "CA" + "1" * 32,
            "agent": "+14155550141",
            "from_": "+14155550120",
            **options,
        }
        code = transfer(
            project, "local", environ=emu.env(), out=io.StringIO(), err=err, **arguments
        )
        assert code == 2
        assert message in err.getvalue()
