"""`twilio-voice doctor --stack NAME`: is this estate healthy, and if not, what to fix.

Checks, each with pass/fail, the Twilio errors it prevents and the fix: the public base URL's
TLS (1.2+, certificate valid for the host, trusted, not expired); every webhook answering a
signed call with TwiML in 2 s and refusing a forged one; the app serving the call flows the
stack declares (its /healthz `call_flows` hash against the stack's); credentials working for
the stack's account; edge and region agreeing; numbers owned; drift; Monitor alerts of the last
24 hours grouped by error code with cause and fix; the dialing-permissions risk summary.
Exit codes: 0 healthy, 1 problems, 2 could not run (unreadable or invalid stack).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from infra.commands.command import (
    EXIT_ERROR,
    Command,
    add_stack_arguments,
    emit_report,
    read_spec,
)
from infra.commands.drift import stack_config
from infra.doctor.report import FORMATS, render
from infra.doctor.run import run_checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", type=Path, help="write the report here instead of stdout")
    parser.add_argument(
        "--ca-file",
        type=Path,
        help="PEM bundle of CAs to trust for the app's certificate (default: the system's)",
    )


def doctor(
    project_dir: Path,
    stack: str,
    *,
    fmt: str = "text",
    output: Path | None = None,
    ca_file: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    **kwargs: object,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    env = read_spec(project_dir, stack, err)
    if env is None:
        return EXIT_ERROR
    if ca_file is not None and not ca_file.is_file():
        print(f"{stack}: --ca-file {ca_file} is not a file", file=err)
        return EXIT_ERROR
    report = run_checks(env, stack, stack_config(project_dir, stack), ca_file=ca_file, **kwargs)  # type: ignore[arg-type]
    verdict = "healthy" if report.healthy else "problems found"
    if not emit_report(render(report, fmt), output, stack, verdict, out, err):
        return EXIT_ERROR
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    return doctor(
        args.project_dir, args.stack, fmt=args.format, output=args.output, ca_file=args.ca_file
    )


COMMAND = Command(
    name="doctor",
    help="Check the stack's estate: TLS, webhooks, the app's call flows, credentials, numbers, "
    "drift, alerts, dialing risk (exit 0 healthy, 1 problems, 2 could not run).",
    add_arguments=add_arguments,
    run=run,
)
