"""`python -m infra <command>`: offline commands that need no Pulumi CLI.

Adding a subcommand: write `infra/commands/<name>.py` exposing `COMMAND = Command(...)` and add
it to `commands()` below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, its arguments, and what it runs (-> exit code)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """`--stack` and `--project-dir`, the arguments every stack-reading command takes."""
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="folder with Pulumi.yaml and the stack files (default: current directory)",
    )


def commands() -> tuple[Command, ...]:
    """Every registered subcommand (imported here so `--help` lists them all)."""
    from infra.commands import schema, validate
    from infra.drift import command as drift

    return (validate.COMMAND, drift.COMMAND, schema.COMMAND)


def build_parser(available: Sequence[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra",
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
    parser = build_parser(commands())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
