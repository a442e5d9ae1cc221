"""`twilio-voice simulate scenarios/*.yaml --stack local`: call flows tested offline.

Each scenario file scripts one inbound call (who calls what, what the caller presses or says,
how each dialled party behaves) and states what must happen. The Twilio emulator places the
call through the voice configuration the stack provisioned and the running webhook app's
TwiML, the way Twilio would (`emulator.simulate`); this command prints each call's trace and
checks the expectations. A scenario with ``transfer`` places the warm transfer's legs
(`twilio-voice transfer`'s function, over the emulator's REST API) while its caller waits in a
conference room, and checks the room (``expect.conference``). Exit 0 all passed, 1 an
expectation failed, 2 unusable input (a scenario that does not parse, a target the stack does
not declare, no emulator).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from emulator.calls import SpecError
from emulator.scenarios import Outcome, Scenario, load, run
from infra.client import TwilioApi, resolve_credentials
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.commands.drift import stack_config
from infra.commands.transfer import transfer
from infra.errors import ConfigurationError, TwilioApiError
from infra.spec import Environment, StackFileError, load_stack_file
from infra.spec import SpecError as StackSpecError
from infra.twilio_http import BASE_URL_ENV
from infra.urls import UnknownFlowError, route_for, webhook_url

DEFAULT_EMULATOR = "http://127.0.0.1:4010"
ADMIN_TOKEN_ENV = "TWILIO_EMULATOR_ADMIN_TOKEN"  # noqa: S105 - the variable's name
CALL_TIMEOUT = 300.0  # one call: up to max_documents webhooks of at most 60 s each is bounded
ROOM_WAIT = 20.0  # seconds for the caller to reach a conference room, or the legs to join it


class Unusable(Exception):
    """Input the command cannot run (exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", type=Path, help="scenario files (YAML)")
    add_stack_arguments(parser)
    parser.add_argument(
        "--emulator",
        help=f"the emulator's URL (default: ${BASE_URL_ENV}, else {DEFAULT_EMULATOR})",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: one result per line"
    )
    parser.add_argument("--no-trace", action="store_true", help="print failures only, no trace")


def run_command(args: argparse.Namespace) -> int:
    emulator = args.emulator or os.environ.get(BASE_URL_ENV) or DEFAULT_EMULATOR
    return simulate(
        args.scenarios,
        project_dir=args.project_dir,
        stack=args.stack,
        emulator=emulator,
        out=sys.stdout,
        err=sys.stderr,
        as_json=args.format == "json",
        trace=not args.no_trace,
    )


def simulate(
    paths: Sequence[Path],
    *,
    project_dir: Path,
    stack: str,
    emulator: str,
    out: TextIO,
    err: TextIO,
    as_json: bool = False,
    trace: bool = True,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run every scenario; see the module docstring for the exit codes.

    A scenario with ``transfer`` places the legs as `twilio-voice transfer` does, with the
    stack's credentials (stack config, else ``environ``: TWILIO_ACCOUNT_SID…) against
    ``emulator``.
    """
    environ = os.environ if environ is None else environ
    try:
        env = load_stack_file(project_dir, stack)
    except (StackFileError, StackSpecError) as exc:
        print(f"{stack}: cannot read the stack: {exc}", file=err)
        return EXIT_ERROR
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in paths:
        try:
            scenario = load(path)
            undeclared = _undeclared_target(scenario.call, env)
            if undeclared:
                raise SpecError(f"{path}: {undeclared} (stack {stack})")
            scenarios.append(scenario)
        except SpecError as exc:
            problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"unusable scenario: {problem}", file=err)
        return EXIT_ERROR
    token = os.environ.get(ADMIN_TOKEN_ENV) or None
    outcomes: list[Outcome] = []
    room = _Room(emulator, token, project_dir, stack, environ)
    for scenario in scenarios:
        try:
            if scenario.transfer is not None or "conference" in scenario.expect:
                outcome = run(scenario, partial(room.place, scenario))
            else:
                outcome = run(scenario, lambda call: _place(emulator, _resolved(call, env), token))
        except Unusable as exc:
            print(f"{scenario.name}: {exc}", file=err)
            return EXIT_ERROR
        outcomes.append(outcome)
        if as_json:
            line = {
                "scenario": scenario.name,
                "file": str(scenario.path),
                "passed": outcome.passed,
                "failures": outcome.failures,
                "result": outcome.result,
            }
            out.write(json.dumps(line) + "\n")
        else:
            for text in outcome.lines(trace=trace):
                out.write(text + "\n")
            out.write("\n")
    failed = [o for o in outcomes if not o.passed]
    if not as_json:
        out.write(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed\n")
    return EXIT_INVALID if failed else EXIT_OK


def _resolved(call: Mapping[str, Any], env: Environment) -> Mapping[str, Any]:
    """An outbound call's ``flow`` (and ``status_callback_flow``) as URLs of the stack's app."""
    if call.get("direction") != "outbound":
        return call
    resolved = {k: v for k, v in call.items() if k not in ("flow", "status_callback_flow")}
    if call.get("flow"):
        resolved["url"] = webhook_url(env.public_base_url, str(call["flow"]))
    if call.get("status_callback_flow"):
        flow = str(call["status_callback_flow"])
        resolved["status_callback"] = webhook_url(env.public_base_url, flow)
    return resolved


def _undeclared_target(call: Mapping[str, Any], env: Environment) -> str:
    """Why the call's target is not part of the stack ("" when it is declared)."""
    to = str(call.get("to", ""))
    if call.get("direction") == "outbound":
        caller = str(call.get("from", ""))
        for key in ("flow", "status_callback_flow"):
            if call.get(key):
                try:
                    route_for(str(call[key]))
                except UnknownFlowError as exc:
                    return f"call.{key}: {exc}"
        declared = {n.e164 for n in env.numbers}
        return "" if caller in declared else f"call.from {caller} is not a declared number"
    if call.get("byoc_trunk"):
        name = str(call["byoc_trunk"])
        names = {b.name for b in env.byoc_trunks} | {
            b.friendly_name for b in env.byoc_trunks if b.friendly_name
        }
        return "" if name in names else f"call.byoc_trunk {name!r} is not declared"
    if to.startswith(("sip:", "sips:")):
        host = to.split("@", 1)[-1].split(";", 1)[0].split(":", 1)[0].lower()
        domains = {d.domain_name.lower() for d in env.sip_domains}
        return "" if host in domains else f"call.to {to}: SIP domain {host!r} is not declared"
    numbers = {n.e164 for n in env.numbers}
    return "" if to in numbers else f"call.to {to} is not a declared number"


def _place(emulator: str, call: Mapping[str, Any], token: str | None) -> Mapping[str, Any]:
    return _admin(emulator, "POST", "/_admin/calls", token, call)


class _Room:
    """Runs a scenario whose caller waits in a conference room (a warm transfer).

    The call is placed live; once its caller is a participant of a room, the legs are placed
    with `twilio-voice transfer`'s function and, once they joined, the room is noted; then the
    caller is removed (hangs up), the room ends, and its event log (each status callback and
    what the app answered) is added to the call's result as ``conference``.
    """

    def __init__(
        self,
        emulator: str,
        token: str | None,
        project_dir: Path,
        stack: str,
        environ: Mapping[str, str],
    ) -> None:
        self.emulator, self.token = emulator, token
        self.project_dir, self.stack = project_dir, stack
        self.environ = {**environ, BASE_URL_ENV: emulator}

    def _get(self, path: str) -> Mapping[str, Any]:
        return _admin(self.emulator, "GET", path, self.token)

    def _room_of(self, call_sid: str) -> Mapping[str, Any] | None:
        rooms: list[Mapping[str, Any]] = self._get("/_admin/calls").get("conferences", [])
        for room in rooms:
            if any(p.get("call_sid") == call_sid for p in room.get("participants", [])):
                return room
        return None

    def _api(self) -> TwilioApi:
        try:
            config = stack_config(self.project_dir, self.stack)
            credentials = resolve_credentials(config, self.environ)
        except ConfigurationError as exc:
            raise Unusable(f"transfer: {exc}") from None
        return TwilioApi(credentials, base_url=self.emulator)

    def place(self, scenario: Scenario, call: Mapping[str, Any]) -> Mapping[str, Any]:
        api = self._api()
        started = _admin(
            self.emulator, "POST", "/_admin/calls", self.token, {**call, "wait": False}
        )
        customer = str(started["call_sid"])
        deadline = time.monotonic() + ROOM_WAIT
        room = self._room_of(customer)
        while room is None and time.monotonic() < deadline:
            time.sleep(0.05)
            room = self._room_of(customer)
        if room is None:
            result = dict(self._get(f"/_admin/calls/{customer}?timeout={ROOM_WAIT:.0f}"))
            result["conference"] = {"error": "the caller never waited in a conference room"}
            return result
        notes: list[str] = []
        problems: list[str] = []
        legs = 1
        spec = scenario.transfer
        if spec is not None:
            out, err = io.StringIO(), io.StringIO()
            code = transfer(
                self.project_dir,
                self.stack,
                customer=customer,
                agent=str(spec["agent"]),
                supervisor=str(spec["supervisor"]) if spec.get("supervisor") else None,
                coach=bool(spec.get("coach")),
                from_=str(spec["from"]),
                environ=self.environ,
                out=out,
                err=err,
            )
            notes += out.getvalue().splitlines()
            if code == EXIT_ERROR:
                self._hang_up(api, room, customer)
                raise Unusable(err.getvalue().strip())
            if code != EXIT_OK:
                problems.append(err.getvalue().strip())
            legs += 1 + bool(spec.get("supervisor"))
        deadline = time.monotonic() + ROOM_WAIT
        while True:  # every leg in the room (and the supervisor coaching, when asked)
            room = self._room_of(customer) or room
            joined = [p for p in room.get("participants", []) if p.get("status") == "connected"]
            coached = not (spec and spec.get("coach")) or any(p.get("coaching") for p in joined)
            if (len(joined) >= legs and coached) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(joined) < legs:
            problems.append(f"{legs - len(joined)} leg(s) did not join within {ROOM_WAIT:.0f} s")
        present = [dict(p) for p in joined]
        self._hang_up(api, room, customer)
        result = dict(self._get(f"/_admin/calls/{customer}?timeout={CALL_TIMEOUT:.0f}"))
        for participant in room.get("participants", []):
            if participant["call_sid"] != customer:  # each leg's call ends with the room
                self._get(f"/_admin/calls/{participant['call_sid']}?timeout={ROOM_WAIT:.0f}")
        sid = room["sid"]
        ended = next(r for r in self._get("/_admin/calls")["conferences"] if r["sid"] == sid)
        result["conference"] = {
            "sid": sid,
            "name": ended.get("friendly_name"),
            "status": ended.get("status"),
            "reason": ended.get("reason_conference_ended"),
            "participants": present,
            "events": ended.get("events", []),
            "transfer": notes,
            "problems": problems,
        }
        return result

    def _hang_up(self, api: TwilioApi, room: Mapping[str, Any], customer: str) -> None:
        """The caller hangs up: removed from the room (which their leg ends)."""
        path = f"/2010-04-01/Accounts/{api.account_sid}/Conferences/{room['sid']}"
        try:
            api.delete("api", f"{path}/Participants/{customer}.json")
        except TwilioApiError as exc:
            if exc.status != 404:  # already gone: the call ended on its own
                raise Unusable(f"cannot remove the caller from {room['sid']}: {exc}") from None


def _admin(
    emulator: str,
    method: str,
    path: str,
    token: str | None,
    body: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    url = f"{emulator.rstrip('/')}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the emulator's URL, given by the user
        url, data=data, method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Admin-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as response:  # noqa: S310
            result: Mapping[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except (ValueError, AttributeError):
            message = ""
        raise Unusable(f"the emulator refused the call (HTTP {exc.code}): {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unusable(
            f"no emulator at {emulator} ({reason}); start it (nox -s local) or pass --emulator"
        ) from None


COMMAND = Command(
    name="simulate",
    help="Run call scenarios (YAML) through the emulator and the running webhook app.",
    add_arguments=add_arguments,
    run=run_command,
)
