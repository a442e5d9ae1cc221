"""`twilio-voice app-config --stack NAME [--output FILE]`: the call-flows artifact the app serves.

Prints the artifact (`webhook_app.callflow.artifact`, JSON) made from the stack: its
`call_flows` section (the app's built-in flow, `DEFAULT_CALL_FLOWS`, when it declares none) and
the countries its `dialing_permissions` allow (a SIP user dialling elsewhere hears a refusal;
no section, or `inherit: true`: the stack does not know them, so the app refuses only
premium-rate and shared-cost numbers). The app loads it from `VOICE_SETTINGS_FILE`, and its
`/healthz` reports the artifact's hash, the same value the Pulumi program exports as
`call_flows_hash`. The stack is validated first (its call flows against the estate) and the
artifact is parsed back before it is written; it needs neither the stack's secrets nor
credentials. Exit 0 written, 2 could not (an unreadable or invalid stack, an unwritable file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from infra.commands.command import EXIT_ERROR, EXIT_OK, Command, add_stack_arguments
from infra.resources.call_flows import stack_call_flows
from infra.spec import Environment, SpecError, StackFileError, load_stack_file
from webhook_app.callflow.artifact import ArtifactError, parse, render


def artifact_text(env: Environment, stack: str) -> str:
    """The artifact of a valid stack (its call flows, else the built-in flow): the same flows
    and countries the program's `call_flows_hash` output hashes."""
    return render(stack_call_flows(env), env.dial_countries(), stack=stack)


def app_config(
    project_dir: Path,
    stack: str,
    *,
    output: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        env = load_stack_file(project_dir, stack)
    except StackFileError as exc:
        print(f"{stack}: cannot read the stack: {exc}", file=err)
        return EXIT_ERROR
    except SpecError as exc:
        count = sum(1 for issue in exc.issues if not issue.warning)
        first = next(issue for issue in exc.issues if not issue.warning)
        more = f" (and {count - 1} more)" if count > 1 else ""
        print(
            f"{first.format(stack)}{more}; no artifact written: fix the stack first "
            f"(`twilio-voice validate --stack {stack}` lists every problem)",
            file=err,
        )
        return EXIT_ERROR
    text = artifact_text(env, stack)
    try:
        parse(text, f"the artifact of stack {stack}")  # what the app will load
    except ArtifactError as exc:
        print(f"{stack}: the artifact would not load in the app: {exc}", file=err)
        return EXIT_ERROR
    if output is None:
        out.write(text)
        return EXIT_OK
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{stack}: cannot write {output}: {exc.strerror}", file=err)
        return EXIT_ERROR
    print(f"{stack}: call-flows artifact written to {output}", file=err)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument(
        "--output", type=Path, help="write the artifact to this file (default: standard output)"
    )


def run(args: argparse.Namespace) -> int:
    return app_config(args.project_dir, args.stack, output=args.output)


COMMAND = Command(
    name="app-config",
    help="Print the call-flows artifact the webhook app serves (VOICE_SETTINGS_FILE), from the "
    "stack.",
    add_arguments=add_arguments,
    run=run,
)
