"""`twilio-voice simulate scenarios/*.yaml --stack local`: call flows tested offline.

Each scenario file scripts one inbound call (who calls what, what the caller presses or says,
how each dialled party behaves) and states what must happen. The Twilio emulator places the
call through the voice configuration the stack provisioned and the running webhook app's
TwiML, the way Twilio would (`emulator.simulate`); this command prints each call's trace and
checks the expectations. Exit 0 all passed, 1 an expectation failed, 2 unusable input (a
scenario that does not parse, a target the stack does not declare, no emulator).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from emulator.calls import SpecError
from emulator.scenarios import Outcome, Scenario, load, run
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.spec import Environment, StackFileError, load_stack_file
from infra.spec import SpecError as StackSpecError
from infra.twilio_http import BASE_URL_ENV
from infra.urls import UnknownFlowError, route_for, webhook_url

DEFAULT_EMULATOR = "http://127.0.0.1:4010"
ADMIN_TOKEN_ENV = "TWILIO_EMULATOR_ADMIN_TOKEN"  # noqa: S105 - the variable's name
CALL_TIMEOUT = 300.0  # one call: up to max_documents webhooks of at most 60 s each is bounded


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
) -> int:
    """Run every scenario; see the module docstring for the exit codes."""
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
    for scenario in scenarios:
        try:
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
    url = f"{emulator.rstrip('/')}/_admin/calls"
    request = urllib.request.Request(  # noqa: S310 - the emulator's URL, given by the user
        url, data=json.dumps(call).encode(), method="POST"
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
