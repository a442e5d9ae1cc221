"""`twilio-voice call` / `infra.outbound.CallPlacer` through the emulator's simulator and the real
webhook app: the callee answers the flow's TwiML, the progress events reach `call_status`
once each, machine detection reaches the flow, 429s are backed off, bad requests refused."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_support import ROOT, provision_local, serve_app

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.client import TwilioApi, resolve_credentials
from infra.commands.call import call
from infra.outbound import CallPlacer
from infra.spec.stackfile import load_stack_file

MAIN_LINE = "+14155550120"
CALLEE = "+14155550177"


class Estate:
    def __init__(self, emu: RunningEmulator, app: Any, project: Path) -> None:
        self.emu = emu
        self.app = app
        self.project = project  # the repository's local stack, pointing at this app
        assert emu.emulator is not None
        self.outbound = emu.emulator.calls.simulator.outbound

    def run(self, *callees: str, **options: Any) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = call(
            self.project,
            "local",
            list(callees),
            from_=options.pop("from_", MAIN_LINE),
            flow=options.pop("flow", "ivr_main"),
            environ=self.emu.env(),
            out=out,
            err=err,
            **options,
        )
        return code, out.getvalue(), err.getvalue()

    def placed(self, out: str) -> list[str]:
        sids = [line.split()[1] for line in out.splitlines()]
        for sid in sids:
            assert self.outbound.join(sid, timeout=30)
        return sids


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    tmp = tmp_path_factory.mktemp("outbound")
    with running_emulator() as emu, serve_app(tmp, emu.auth_token) as app:
        provision_local(emu, app.base_url)
        emu.admin.request("PUT", "/calls/outbound", {"cps": 50})
        project = tmp / "project"
        project.mkdir()
        shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
        stack = (ROOT / "Pulumi.local.yaml").read_text()
        assert "public_base_url: http://127.0.0.1:8080" in stack
        stack = stack.replace("http://127.0.0.1:8080", app.base_url)
        (project / "Pulumi.local.yaml").write_text(stack)
        yield Estate(emu, app, project)


def test_a_call_to_the_ivr_with_its_events_processed_once(estate: Estate) -> None:
    estate.emu.admin.request(
        "PUT",
        "/calls/outbound",
        {"parties": {CALLEE: {"answer": "answered", "caller": [{"press": "1"}]}}},
    )
    code, out, err = estate.run(CALLEE)
    assert code == 0, err
    (sid,) = estate.placed(out)
    assert out.startswith(f"{CALLEE}: CA")
    assert "queued" in out
    client = estate.emu.client().api.v2010.accounts(estate.emu.account_sid)
    assert client.calls(sid).fetch().status == "completed"
    (leg,) = client.calls.list(parent_call_sid=sid)
    assert leg.to == "+14155550101"  # the callee pressed 1: the app dialled sales
    events = [
        e for e in estate.app.store.call_events() if e.call_sid == sid and e.source == "status"
    ]
    assert sorted(e.status for e in events) == sorted(
        ["initiated", "ringing", "in-progress", "completed"]
    ), events


def test_machine_detection_reaches_the_flow(estate: Estate) -> None:
    estate.emu.admin.request(
        "PUT",
        "/calls/outbound",
        {"parties": {CALLEE: {"answer": "answered", "answered_by": "machine_end_beep"}}},
    )
    code, out, err = estate.run(CALLEE, machine_detection="DetectMessageEnd")
    assert code == 0, err
    (sid,) = estate.placed(out)
    client = estate.emu.client().api.v2010.accounts(estate.emu.account_sid)
    assert client.calls(sid).fetch().answered_by == "machine_end_beep"


def test_429s_are_backed_off_and_retried(estate: Estate) -> None:
    assert estate.emu.emulator is not None
    store = estate.emu.emulator.store
    now = {"t": 5_000.0}
    original = store.clock
    store.clock = lambda: now["t"]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    estate.emu.admin.request("PUT", "/calls/outbound", {"cps": 1, "parties": {}})
    try:
        env = load_stack_file(estate.project, "local")
        credentials = resolve_credentials({}, estate.emu.env())
        api = TwilioApi(credentials, base_url=estate.emu.base_url)
        placer = CallPlacer(api, env, cps=1000, clock=lambda: now["t"], sleep=sleep)
        records = [
            placer.place(CALLEE, from_=MAIN_LINE, flow="voicemail", status_callback_flow=None)
            for _ in range(2)
        ]
    finally:
        store.clock = original
        estate.emu.admin.request("PUT", "/calls/outbound", {"cps": 50})
    assert len({r["sid"] for r in records}) == 2
    assert any(delay >= 1.0 for delay in slept)  # Retry-After honoured
    for record in records:
        assert estate.outbound.join(str(record["sid"]), timeout=30)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"from_": "+15005550006"}, "not a number the stack declares"),
        ({"flow": "ivr_menu"}, "does not answer calls"),
        ({"flow": "nope"}, "unknown flow"),
        ({"machine_detection": "Sometimes"}, "machine_detection"),
    ],
)
def test_what_is_refused_before_dialling(
    estate: Estate, options: dict[str, Any], message: str
) -> None:
    before = len(estate.emu.admin.resources("call"))
    code, _, err = estate.run(CALLEE, **options)
    assert code == 2
    assert message in err
    assert len(estate.emu.admin.resources("call")) == before


def test_a_callee_that_is_no_number_is_refused(estate: Estate) -> None:
    code, _, err = estate.run("4155550177")
    assert code == 2  # not E.164: refused before anyone is dialled
    assert "not an E.164 number" in err


def test_placer_paces_calls(tmp_path: Path) -> None:
    """Pacing alone (no Twilio): the third call of a 2-per-second batch waits half a second."""
    now = {"t": 0.0}
    slept: list[float] = []

    class FakeApi:
        account_sid = "AC" + "0" * 32

        def url(self, host: str, path: str) -> str:
            return path

        def send_once(self, method: str, url: str, **_: Any) -> dict[str, Any]:
            return {"sid": "CA" + "1" * 32, "status": "queued"}

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now["t"] += seconds

    env = load_stack_file(ROOT, "local")
    placer = CallPlacer(FakeApi(), env, cps=2, clock=lambda: now["t"], sleep=sleep)  # type: ignore[arg-type]
    for _ in range(3):
        placer.place(CALLEE, from_=MAIN_LINE, flow="ivr_main")
    assert slept == [0.5, 0.5]
