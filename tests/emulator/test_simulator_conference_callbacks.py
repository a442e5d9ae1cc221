"""The emulator's conference status callbacks reach the real app's conference_status route and
are stored once, even when every callback is delivered twice."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sim_support import project_copy, provision_local, serve_app

from devtools.emulator_testing import running_emulator
from infra.commands.transfer import transfer

DEADLINE = 20.0
CALLBACK_PATH = "/voice/conference/status"


def until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def estate(tmp_path: Any) -> Iterator[tuple[Any, Any, Any, list[tuple[int, int]]]]:
    with running_emulator() as emu, serve_app(tmp_path, emu.auth_token) as served:
        provision_local(emu, served.base_url)
        project = project_copy(tmp_path / "project", served.base_url)
        emu.admin.request("PUT", "/calls/outbound", {"cps": 50, "parties": {}})
        assert emu.emulator is not None
        sim = emu.emulator.calls.simulator
        original = sim.transport
        answers: list[tuple[int, int]] = []  # (first delivery, redelivery) HTTP statuses
        lock = threading.Lock()

        def deliver_twice(method: str, url: str, body: Any, headers: Any, timeout: float) -> Any:
            result = original(method, url, body, headers, timeout)
            if CALLBACK_PATH in url:  # at-least-once: the same signed callback again
                again = original(method, url, body, headers, timeout)
                with lock:
                    answers.append((result.status, again.status))
            return result

        sim.transport = deliver_twice
        try:
            yield emu, project, served.store, answers
        finally:
            sim.transport = original


def test_conference_callbacks_reach_the_app_and_are_stored_once(
    estate: tuple[Any, Any, Any, list[tuple[int, int]]],
) -> None:
    emu, project, store, answers = estate
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
    code = transfer(
        project,
        "local",
        customer=customer,
        agent="+14155550141",
        supervisor="+14155550142",
        from_="+14155550120",
        environ=emu.env(),
        out=io.StringIO(),
        err=(err := io.StringIO()),
    )
    assert code == 0, err.getvalue()
    room = api.conferences(conference.sid)
    until(lambda: len(room.participants.list()) == 3, "three legs in the room")
    agent = next(p for p in room.participants.list() if (p.label or "").startswith("agent-"))
    room.participants(agent.call_sid).update(muted=True)
    room.participants("customer").update(hold=True)
    room.participants("customer").update(hold=False)
    room.participants(customer).delete()  # the customer hangs up: the room ends
    assert emu.admin.request("GET", f"/calls/{customer}?timeout={DEADLINE}")["status"]
    until(lambda: room.fetch().status == "completed", "the room to end")

    def events() -> list[Any]:
        return [e for e in store.call_events() if e.conference_sid == conference.sid]

    def ended() -> bool:  # conference-end stored and delivered twice: the last callback
        with_end = [e for e in events() if e.status == "conference-end"]
        return bool(with_end) and len(answers) >= len(events())

    until(ended, "conference-end stored and redelivered")
    stored = events()
    # Every callback was answered 204 twice, and each is stored once.
    assert all(first == again == 204 for first, again in answers)
    assert len(stored) == len(answers)
    keys = [(e.status, e.call_sid, e.sequence_number) for e in stored]
    assert len(set(keys)) == len(keys)
    assert all(e.source == "conference" for e in stored)
    names = [e.status for e in stored]
    # the customer waits alone (init); the agent's entry starts the room
    assert (names[0], stored[0].participant_label) == ("participant-join", "customer")
    assert names.count("conference-start") == 1
    assert names[-1] == "conference-end"
    joined = {e.participant_label.split("-")[0] for e in stored if e.status == "participant-join"}
    assert joined == {"customer", "agent", "supervisor"}
    assert ("participant-mute", agent.call_sid) in {(e.status, e.call_sid) for e in stored}
    assert {"participant-hold", "participant-unhold", "participant-leave"} <= set(names)
    assert stored[-1].reason.startswith("participant-with-end-conference-on-exit")
