"""What every subcommand shares: `Command`, the exit codes, the stack arguments.

Commands import this module; `infra.cli` imports the commands. Nothing here imports either, so
there is no cycle between the CLI and what it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from infra.spec import Environment, SpecError, StackFileError, load_stack_file

EXIT_OK = 0
EXIT_INVALID = 1  # validate: the spec is invalid; drift: drift found
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


def read_spec(project_dir: Path, stack: str, err: TextIO) -> Environment | None:
    """The stack's valid spec, or None after telling `err` why not (the command then exits 2)."""
    try:
        return load_stack_file(project_dir, stack)
    except StackFileError as exc:
        print(f"{stack}: cannot read the stack: {exc}", file=err)
    except SpecError as exc:
        print(exc.format(), file=err)
        print(f"{stack}: fix the spec first (`twilio-voice validate --stack {stack}`)", file=err)
    return None


def emit_report(
    text: str, output: Path | None, stack: str, verdict: str, out: TextIO, err: TextIO
) -> bool:
    """Print a report, or write it to `output` and say so; False (after saying why) if it fails."""
    if output is None:
        out.write(text)
        return True
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{stack}: cannot write the report to {output}: {exc.strerror}", file=err)
        return False
    print(f"{stack}: {verdict}; report written to {output}", file=out)
    return True
