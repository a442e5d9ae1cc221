"""`twilio-voice graph --stack NAME [--format mermaid|markdown|svg|png] [--output FILE]`.

The estate's call routing as a picture: entry points -> call flows -> menus -> options ->
targets, trunks -> origination URLs, BYOC trunks -> connection policies -> targets
(`infra.graph.mermaid`). `mermaid` prints the Mermaid text; `markdown` a one-line heading and a
```mermaid block (GitHub renders it: the PR preview comment and docs/call-flows.md use it);
`svg` and `png` draw it with the real Mermaid in headless Chromium (`infra.graph.render`).
Reads only the stack file: no secrets, no credentials, no Pulumi.
Exit 0 printed, 2 unusable stack or the picture could not be drawn (one line says why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO, Literal, TextIO

from infra.commands.command import EXIT_ERROR, EXIT_OK, Command, add_stack_arguments, read_spec
from infra.graph.mermaid import mermaid
from infra.graph.render import RenderError, render

FORMATS = ("mermaid", "markdown", "svg", "png")


def markdown(stack: str, text: str) -> str:
    """The picture for a PR comment or a doc: a heading line and a ```mermaid block."""
    return f"#### Call routing of stack `{stack}`\n\n```mermaid\n{text}```\n"


def graph(
    project_dir: Path,
    stack: str,
    *,
    fmt: str = "mermaid",
    output: Path | None = None,
    out: BinaryIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Write the stack's picture in `fmt` to `output` (or `out`); the exit code."""
    out = out or sys.stdout.buffer
    err = err or sys.stderr
    env = read_spec(project_dir, stack, err)
    if env is None:
        return EXIT_ERROR
    text = mermaid(env)
    data: bytes
    if fmt == "mermaid":
        data = text.encode()
    elif fmt == "markdown":
        data = markdown(stack, text).encode()
    else:
        image: Literal["svg", "png"] = "png" if fmt == "png" else "svg"
        try:
            data = render(text, image)
        except RenderError as exc:
            print(f"{stack}: cannot draw the {fmt}: {exc}", file=err)
            return EXIT_ERROR
    if output is None:
        out.write(data)
        out.flush()
        return EXIT_OK
    try:
        output.write_bytes(data)
    except OSError as exc:
        print(f"{stack}: cannot write {output}: {exc.strerror}", file=err)
        return EXIT_ERROR
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="mermaid: the diagram text; markdown: a ```mermaid block with a heading (PR "
        "comments, docs); svg, png: drawn with Mermaid in headless Chromium",
    )
    parser.add_argument("--output", type=Path, help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    return graph(args.project_dir, args.stack, fmt=args.format, output=args.output)


COMMAND = Command(
    name="graph",
    help="Draw the stack's call routing (entry points, flows, menus, targets, trunks, BYOC) "
    "as Mermaid, Markdown, SVG or PNG.",
    add_arguments=add_arguments,
    run=run,
)
