"""The example estate's call scenarios (scenarios/*.yaml) through `twilio-voice simulate`, the
emulator holding the applied `local` stack and the real webhook app on a loopback port.

Each scenario must pass as shipped; the mutation tests break one thing each (a route's method,
a `<Dial action>` the app does not serve, a fallback URL, the stack's provisioning) in a copy
and show the scenarios catch it.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_support import ROOT, SCENARIOS, local_flows, project_copy, provision_local, serve_app

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.cli import main
from infra.commands.simulate import simulate
from webhook_app.store import RecordingJob

ALL = sorted(SCENARIOS.glob("*.yaml"))


class Estate:
    def __init__(self, emu: RunningEmulator, app: Any, project: Path) -> None:
        self.emu = emu
        self.app = app
        self.project = project  # the local stack, its app at this test's app

    def run(self, *paths: Path, trace: bool = True) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = simulate(
            list(paths),
            project_dir=self.project,
            stack="local",
            emulator=self.emu.base_url,
            out=out,
            err=err,
            trace=trace,
            environ=self.emu.env(),  # the transfer's REST credentials
        )
        return code, out.getvalue(), err.getvalue()

    def number_sid(self, e164: str) -> str:
        (record,) = [
            r
            for r in self.emu.admin.resources("incoming_phone_number")
            if r["phone_number"] == e164
        ]
        return str(record["sid"])


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    tmp = tmp_path_factory.mktemp("simulator")
    with (
        running_emulator() as emu,
        serve_app(tmp, emu.auth_token, served_flows=local_flows()) as app,
    ):
        provision_local(emu, app.base_url)
        yield Estate(emu, app, project_copy(tmp / "project", app.base_url))


def test_the_example_scenarios_exist() -> None:
    names = {path.stem for path in ALL}
    assert {
        "ivr-sales-answered",
        "no-answer-voicemail",
        "sip-user-pstn-fallback",
        "byoc-route",
        "trunk-disaster-recovery",
        "app-500-fallback",
        "warm-transfer",
        "outbound-machine",
        "support-recorded-with-consent",
    } <= names


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_each_scenario_passes_through_the_app(estate: Estate, path: Path) -> None:
    code, out, err = estate.run(path)
    assert code == 0, out + err
    assert out.startswith("PASS ")
    assert "1 passed, 0 failed" in out


def test_the_voicemail_becomes_a_recording_job_in_the_app(estate: Estate) -> None:
    before = {job.recording_sid for job in _jobs(estate)}
    code, out, _ = estate.run(SCENARIOS / "no-answer-voicemail.yaml")
    assert code == 0, out
    (job,) = [job for job in _jobs(estate) if job.recording_sid not in before]
    recordings = estate.emu.admin.request("GET", "/calls")["recordings"]
    (recording,) = [r for r in recordings if r["sid"] == job.recording_sid]
    assert job.url == recording["media_url"]
    assert job.url.startswith(estate.emu.base_url)  # served by the emulator
    assert job.duration == "12"


SUPPORT = SCENARIOS / "support-recorded-with-consent.yaml"


def test_the_support_lines_dial_recording_becomes_a_recording_job_in_the_app(
    estate: Estate,
) -> None:
    """Consent, the menu, the agent: the <Dial record> recording's signed callback is accepted
    by the app (204) and queued as a job naming the parent call."""
    before = {job.recording_sid for job in _jobs(estate)}
    code, out, _ = estate.run(SUPPORT)
    assert code == 0, out
    (job,) = [job for job in _jobs(estate) if job.recording_sid not in before]
    recordings = estate.emu.admin.request("GET", "/calls")["recordings"]
    (recording,) = [r for r in recordings if r["sid"] == job.recording_sid]
    assert (recording["source"], recording["channels"], recording["duration"]) == (
        "DialVerb",
        2,
        "30",
    )
    assert job.call_sid == recording["call_sid"]
    assert f"call {job.call_sid} +12125550199 -> +14155550121" in out
    assert job.url == recording["media_url"]
    assert job.duration == "30"
    (line,) = [line for line in out.splitlines() if " recording " in line]
    assert "source=DialVerb mode=record-from-answer-dual start=answer channels=2" in line


def test_a_support_line_served_without_recording_is_caught(estate: Estate, tmp_path: Path) -> None:
    """The stack's validate refuses a recording flow without consent, so break the app side:
    it serves flow support with recording off, and the scenario misses its recording."""
    from webhook_app.callflow.model import Recording

    unrecorded = local_flows(support={"recording": Recording(mode="off")})
    with serve_app(tmp_path, estate.emu.auth_token, served_flows=unrecorded) as broken:
        (application,) = estate.emu.admin.resources("application")
        keys = ("voice_url", "voice_fallback_url", "status_callback")
        good = {k: application[k] for k in keys}
        base = broken.base_url
        estate.emu.admin.edit(
            "application",
            application["sid"],
            **{k: v.replace(estate.app.base_url, base) for k, v in good.items()},
        )
        try:
            code, out, _ = estate.run(SUPPORT)
        finally:
            estate.emu.admin.edit("application", application["sid"], **good)
    assert code == 1
    assert "FAIL Support line, consent then a recorded agent call" in out
    assert "recordings: expected 1, got 0" in out
    assert " recording " not in out


def _jobs(estate: Estate) -> list[RecordingJob]:
    jobs: list[RecordingJob] = estate.app.store.recording_jobs()
    return jobs


def test_the_cli_prints_the_trace_and_the_summary(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", *map(str, ALL[:2]), "--stack", "local"]
    argv += ["--project-dir", str(estate.project)]
    code = main([*argv, "--emulator", estate.emu.base_url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "twiml" in out
    assert "POST http://127.0.0.1:" in out
    assert "2 passed, 0 failed" in out
    code = main([*argv, "--emulator", estate.emu.base_url, "--format", "json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [line["passed"] for line in lines] == [True, True]
    assert lines[0]["result"]["trace"][0]["kind"] == "call"


# --- each scenario can fail --------------------------------------------------------------------


def test_a_route_answered_with_the_wrong_method_is_caught(estate: Estate) -> None:
    """The main line's voice method switched to GET: the app's route answers 405 -> 11200."""
    sid = estate.number_sid("+14155550120")
    estate.emu.admin.edit("incoming_phone_number", sid, voice_method="GET")
    try:
        code, out, _ = estate.run(SCENARIOS / "ivr-sales-answered.yaml")
    finally:
        estate.emu.admin.edit("incoming_phone_number", sid, voice_method="POST")
    assert code == 1
    assert "FAIL IVR to sales, answered" in out
    assert "GET http://127.0.0.1" in out
    assert "Monitor alerts: expected [], got [11200]" in out


def test_a_broken_fallback_url_is_caught(estate: Estate) -> None:
    sid = estate.number_sid("+14155550120")
    good = estate.emu.admin.request("GET", f"/resources/incoming_phone_number/{sid}")
    estate.emu.admin.edit(
        "incoming_phone_number",
        sid,
        voice_fallback_url=good["voice_fallback_url"].replace("/voice/fallback", "/voice/fallbak"),
    )
    try:
        code, out, _ = estate.run(SCENARIOS / "app-500-fallback.yaml")
    finally:
        estate.emu.admin.edit(
            "incoming_phone_number", sid, voice_fallback_url=good["voice_fallback_url"]
        )
    assert code == 1
    assert "request not made (in this order): purpose=fallback, path=/voice/fallback" in out
    assert "We are sorry, an application error has occurred" in out


def test_a_dial_action_the_app_does_not_serve_is_caught(estate: Estate, tmp_path: Path) -> None:
    """The same scenario against an app whose <Dial action> route is gone (404)."""
    from werkzeug.wrappers import Response

    with serve_app(tmp_path, estate.emu.auth_token) as broken:
        inner = broken.wsgi

        def without_dial_status(environ: Any, start_response: Any) -> Any:
            if environ["PATH_INFO"] == "/voice/dial/status":
                return Response("not found", 404)(environ, start_response)
            return inner(environ, start_response)

        broken.wsgi = without_dial_status
        sid = estate.number_sid("+14155550120")
        good = estate.emu.admin.request("GET", f"/resources/incoming_phone_number/{sid}")
        base = broken.base_url
        estate.emu.admin.edit(
            "incoming_phone_number",
            sid,
            voice_url=f"{base}/voice/inbound",
            voice_fallback_url=f"{base}/voice/fallback",
            status_callback=f"{base}/voice/status",
        )
        try:
            code, out, _ = estate.run(SCENARIOS / "no-answer-voicemail.yaml")
        finally:
            estate.emu.admin.edit(
                "incoming_phone_number",
                sid,
                **{k: good[k] for k in ("voice_url", "voice_fallback_url", "status_callback")},
            )
    assert code == 1
    assert "/voice/dial/status?step=menu.main.1 -> 404" in out
    assert "not heard at all: 'Please leave a message after the tone'" in out


def test_unprovisioned_or_misprovisioned_estates_fail_the_scenarios(estate: Estate) -> None:
    """The SIP domain without its IP ACL mapping refuses the call; the BYOC trunk pointing at
    the IVR instead of byoc_inbound misses its route."""
    domains = estate.emu.admin.resources("sip_domain")
    (domain,) = [d for d in domains if d["domain_name"] == "acme-local.sip.twilio.com"]
    mappings = estate.emu.admin.resources("auth_calls_ip_access_control_list_mapping")
    (acl,) = [m for m in mappings if m["parent"] == domain["sid"]]
    estate.emu.admin.request(
        "DELETE",
        f"/resources/auth_calls_ip_access_control_list_mapping/{acl['sid']}?parent={domain['sid']}",
    )
    try:
        code, out, _ = estate.run(SCENARIOS / "sip-user-pstn-fallback.yaml")
    finally:
        assert estate.emu.emulator is not None
        store = estate.emu.emulator.store
        with store.lock:
            restored = {k: v for k, v in acl.items() if k != "parent"}
            store.put("auth_calls_ip_access_control_list_mapping", domain["sid"], restored)
    assert code == 1
    assert "sip-refused" in out
    (trunk,) = estate.emu.admin.resources("byoc_trunk")
    estate.emu.admin.edit(
        "byoc_trunk", trunk["sid"], voice_url=trunk["voice_url"].replace("byoc/inbound", "inbound")
    )
    try:
        code, out, _ = estate.run(SCENARIOS / "byoc-route.yaml")
    finally:
        estate.emu.admin.edit("byoc_trunk", trunk["sid"], voice_url=trunk["voice_url"])
    assert code == 1
    assert "path=/voice/byoc/inbound" in out


def test_unusable_input_exits_2(estate: Estate, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncall: {to: '+14155550120', caller: [{dance: 1}]}\n")
    code, _, err = estate.run(bad)
    assert code == 2
    assert "caller[0]" in err
    undeclared = tmp_path / "undeclared.yaml"
    undeclared.write_text("call: {to: '+15005550006'}\n")
    code, _, err = estate.run(undeclared)
    assert code == 2
    assert "not a declared number" in err
    alias = tmp_path / "alias.yaml"
    alias.write_text("call: &c {to: '+14155550120'}\nexpect: {heard: *c}\n")
    code, _, err = estate.run(alias)
    assert code == 2
    assert "aliases are not allowed" in err
    out, errors = io.StringIO(), io.StringIO()
    code = simulate(
        [SCENARIOS / "byoc-route.yaml"],
        project_dir=ROOT,
        stack="local",
        emulator="http://127.0.0.1:9",
        out=out,
        err=errors,
    )
    assert code == 2
    assert "no emulator at http://127.0.0.1:9" in errors.getvalue()


def test_scenarios_run_concurrently_against_one_emulator(estate: Estate) -> None:
    """Two scenario runs at once (two CI jobs on one emulator) do not mix their calls."""
    results: list[int] = []

    def one() -> None:
        results.append(estate.run(*ALL, trace=False)[0])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [0, 0]


def test_an_outbound_call_without_machine_detection_is_caught(
    estate: Estate, tmp_path: Path
) -> None:
    import yaml

    data = yaml.safe_load((SCENARIOS / "outbound-machine.yaml").read_text())
    del data["call"]["machine_detection"]
    copy = tmp_path / "outbound-no-amd.yaml"
    copy.write_text(yaml.safe_dump(data))
    code, out, _ = estate.run(copy)
    assert code == 1
    assert "request not made (in this order)" in out
    assert "'AnsweredBy': 'machine_end_beep'" in out
    data["call"]["from"] = "+15005550006"  # owned by the account, not declared by the stack
    copy.write_text(yaml.safe_dump(data))
    code, _, err = estate.run(copy)
    assert code == 2
    assert "is not a declared number" in err


# --- the warm transfer: the legs placed while the caller waits in the room ----------------------

WARM = SCENARIOS / "warm-transfer.yaml"


def test_the_warm_transfer_callbacks_are_stored_once_by_the_app(estate: Estate) -> None:
    code, out, _ = estate.run(WARM)
    assert code == 0, out
    (sid,) = {line.split()[1] for line in out.splitlines() if line.startswith("  conference CF")}
    stored = [e for e in estate.app.store.call_events() if e.conference_sid == sid]
    sent = [line for line in out.splitlines() if line.startswith("    event #")]
    assert len(sent) == len(stored) == 8
    keys = [(e.status, e.call_sid, e.sequence_number) for e in stored]
    assert len(set(keys)) == len(keys)
    assert all(e.source == "conference" for e in stored)
    (supervisor,) = [line for line in out.splitlines() if "participant supervisor-" in line]
    assert "muted=True" in supervisor


def test_a_warm_transfer_with_an_unmuted_supervisor_is_caught(estate: Estate) -> None:
    """The app's supervisor leg joins unmuted (its TwiML's muted="true" dropped)."""
    from werkzeug.wrappers import Response

    inner = estate.app.wsgi

    def unmuted(environ: Any, start_response: Any) -> Any:
        query = environ.get("QUERY_STRING", "")
        if environ["PATH_INFO"] == "/voice/transfer" and "leg=supervisor" in query:
            response = Response.from_app(inner, environ)
            twiml = response.get_data().replace(b'muted="true"', b'muted="false"')
            response.set_data(twiml)
            return response(environ, start_response)
        return inner(environ, start_response)

    estate.app.wsgi = unmuted
    try:
        code, out, _ = estate.run(WARM)
    finally:
        estate.app.wsgi = inner
    assert code == 1
    assert "FAIL Warm transfer" in out
    assert "conference participant not present: label=supervisor, muted=True" in out


def test_a_warm_transfer_without_the_agent_leg_is_caught(estate: Estate, tmp_path: Path) -> None:
    """No transfer placed (the caller waits alone), then an agent who never answers."""
    import yaml

    data = yaml.safe_load(WARM.read_text())
    del data["transfer"]
    copy = tmp_path / "no-agent.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, _ = estate.run(copy)
    assert code == 1
    assert "conference participant not present: label=agent, muted=False" in out
    assert "conference callback not sent (in this order): event=conference-start" in out
    estate.emu.admin.request("PUT", "/calls/outbound", {"parties": {"+14155550141": "busy"}})
    try:
        code, out, _ = estate.run(WARM)
    finally:
        estate.emu.admin.request("PUT", "/calls/outbound", {"parties": {}})
    assert code == 1
    assert "conference: 1 leg(s) did not join within 20 s" in out
    assert "conference participant not present: label=agent, muted=False" in out


def test_transfer_and_conference_keys_are_validated(estate: Estate, tmp_path: Path) -> None:
    import yaml

    base = yaml.safe_load(WARM.read_text())
    for change, message in (
        ({"transfer": {**base["transfer"], "agnet": "+1"}}, "transfer: unknown keys ['agnet']"),
        ({"transfer": {"from": "+14155550120"}}, "transfer.agent: required"),
        ({"transfer": {**base["transfer"], "coach": "yes"}}, "transfer.coach: true or false"),
        (
            {"expect": {"conference": {"participant": []}}},
            "expect.conference: unknown keys ['participant']",
        ),
        (
            {"expect": {"conference": {"participants": [{"label": "x", "mute": True}]}}},
            "participants[0]: unknown keys ['mute']",
        ),
    ):
        copy = tmp_path / "bad-transfer.yaml"
        copy.write_text(yaml.safe_dump({**base, **change}))
        code, _, err = estate.run(copy)
        assert code == 2, err
        assert message in err
    copy.write_text(
        yaml.safe_dump({**base, "transfer": {**base["transfer"], "from": "+15005550006"}})
    )
    code, _, err = estate.run(copy)
    assert code == 2
    assert "not a number the stack declares" in err
