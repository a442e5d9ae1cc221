"""What every subcommand shares: `Command`, the exit codes, the stack arguments.

Commands import this module; `infra.cli` imports the commands. Nothing here imports either, so
there is no cycle between the CLI and what it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
