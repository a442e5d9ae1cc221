"""`twilio-voice call --stack NAME --from +1… --to +1… --flow ivr_main`: place outbound calls.

Each callee gets a call from a declared number whose TwiML is the flow's webhook (see
`infra.outbound`), paced to `--cps` calls per second, 429s retried after the backoff. Prints
one line per call (SID and status). Exit 0 all placed, 1 a call was refused or failed, 2
unusable input (the stack, credentials, caller ID, flow or callee).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from infra.client import TwilioApi, resolve_credentials
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.commands.drift import stack_config
from infra.errors import ConfigurationError, TwilioApiError
from infra.outbound import MACHINE_DETECTION, CallPlacer, OutboundError
from infra.spec import SpecError, StackFileError, load_stack_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--from", dest="from_", required=True, help="a declared number (E.164)")
    parser.add_argument(
        "--to", action="append", required=True, help="the callee (E.164 or sip:); repeatable"
    )
    parser.add_argument("--flow", required=True, help="the flow that answers (e.g. ivr_main)")
    parser.add_argument(
        "--machine-detection",
        choices=MACHINE_DETECTION,
        help="detect answering machines; the flow receives AnsweredBy",
    )
    parser.add_argument(
        "--status-callback-flow",
        default="call_status",
        help="where progress events go (default call_status; '' for none)",
    )
    parser.add_argument("--cps", type=float, default=1.0, help="calls per second (default 1)")


def run(args: argparse.Namespace) -> int:
    return call(
        args.project_dir,
        args.stack,
        args.to,
        from_=args.from_,
        flow=args.flow,
        machine_detection=args.machine_detection,
        status_callback_flow=args.status_callback_flow or None,
        cps=args.cps,
        out=sys.stdout,
        err=sys.stderr,
    )


def stack_placer(
    project_dir: Path, stack: str, environ: Mapping[str, str], err: TextIO, cps: float = 1.0
) -> CallPlacer | None:
    """The stack's `CallPlacer` (its spec, credentials and `TWILIO_API_BASE_URL`), or None
    after telling `err` why not (the command then exits 2)."""
    try:
        env = load_stack_file(project_dir, stack)
        credentials = resolve_credentials(stack_config(project_dir, stack), environ)
        api = TwilioApi(credentials, base_url=environ.get("TWILIO_API_BASE_URL") or None)
        return CallPlacer(api, env, cps=cps)
    except (StackFileError, SpecError, ConfigurationError, OutboundError) as exc:
        print(f"{stack}: {exc}", file=err)
        return None


def call(
    project_dir: Path,
    stack: str,
    callees: Sequence[str],
    *,
    from_: str,
    flow: str,
    machine_detection: str | None = None,
    status_callback_flow: str | None = "call_status",
    cps: float = 1.0,
    environ: Mapping[str, str] | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    placer = stack_placer(project_dir, stack, os.environ if environ is None else environ, err, cps)
    if placer is None:
        return EXIT_ERROR
    try:
        for callee in callees:  # refuse the whole batch before dialling anyone
            placer.form(
                callee,
                from_=from_,
                flow=flow,
                machine_detection=machine_detection,
                status_callback_flow=status_callback_flow,
            )
    except OutboundError as exc:
        print(f"{stack}: {exc}", file=err)
        return EXIT_ERROR
    failed = 0
    for callee in callees:
        try:
            record = placer.place(
                callee,
                from_=from_,
                flow=flow,
                machine_detection=machine_detection,
                status_callback_flow=status_callback_flow,
            )
        except TwilioApiError as exc:
            failed += 1
            print(f"{callee}: not placed: {exc}", file=err)
            continue
        out.write(f"{callee}: {record.get('sid')} {record.get('status')}\n")
    return EXIT_INVALID if failed else EXIT_OK


COMMAND = Command(
    name="call",
    help="Place outbound calls from a declared number to a flow (paced, 429s retried).",
    add_arguments=add_arguments,
    run=run,
)
