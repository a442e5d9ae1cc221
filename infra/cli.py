"""`twilio-voice <command>` (also `python -m infra <command>`, `python -m infra.cli <command>`).

Offline commands that need no Pulumi CLI. Adding a subcommand: write `infra/commands/<name>.py`
exposing `COMMAND = Command(...)` (`infra.commands.command`) and add it to `COMMANDS` below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from infra.commands import (
    app_config,
    call,
    doctor,
    drift,
    graph,
    import_stack,
    schema,
    simulate,
    smoke,
    transfer,
    validate,
)
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_INVALID", "EXIT_OK", "Command", "build_parser", "main"]

COMMANDS: tuple[Command, ...] = (
    validate.COMMAND,
    drift.COMMAND,
    schema.COMMAND,
    smoke.COMMAND,
    app_config.COMMAND,
    simulate.COMMAND,
    doctor.COMMAND,
    call.COMMAND,
    import_stack.COMMAND,
    transfer.COMMAND,
    graph.COMMAND,
)


def build_parser(available: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twilio-voice",
        description="Offline commands for the twilio-voice Pulumi project.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in available:
        sub_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub_parser)
        sub_parser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: `sys.argv[1:]`), run the subcommand, return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
