"""`python -m infra.offline up|refresh|destroy|unprotect --stack local [--state FILE]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.offline import apply
from infra.offline.deployment import Op, StepError, StepEvent, short_type
from infra.offline.hostclient import HostError
from infra.offline.stack_config import load_stack_config
from infra.offline.state import StateError
from infra.spec.stackfile import StackFileError

BANNER = (
    "infra.offline: a stand-in for `pulumi {command}` that drives Pulumi's own dynamic-provider "
    "host over gRPC.\nIt is not the Pulumi engine: no preview, no Pulumi backend, no policy "
    "packs. Use the Pulumi CLI for real stacks."
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m infra.offline",
        description=(
            "Offline stand-in for `pulumi up/refresh/destroy` (NOT a second Pulumi engine): runs "
            "the Pulumi program under mocks and sends each dynamic resource through Pulumi's own "
            "dynamic-provider host (python -m pulumi.dynamic), recording results in a JSON state "
            "file. Point the providers at the emulator with TWILIO_API_BASE_URL."
        ),
    )
    p.add_argument("command", choices=["up", "refresh", "destroy", "unprotect"])
    p.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    p.add_argument(
        "--state",
        type=Path,
        help="state file (default: <project>/.pulumi-state/offline-<stack>.json)",
    )
    p.add_argument("--project-dir", type=Path, default=Path.cwd(), help="default: current dir")
    p.add_argument(
        "--program",
        default=apply.DEFAULT_PROGRAM,
        help=f"program entry point module:function (default: {apply.DEFAULT_PROGRAM})",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=apply.DEFAULT_WORKERS,
        help=f"resources applied concurrently (default: {apply.DEFAULT_WORKERS})",
    )
    return p


SYMBOLS = {Op.CREATE: "+", Op.UPDATE: "~", Op.REPLACE: "+-", Op.DELETE: "-"}


def progress(event: StepEvent) -> None:
    """One line per change, like `pulumi up` (unchanged resources are only counted)."""
    symbol = SYMBOLS.get(event.op)
    if symbol is None and event.op not in (Op.REFRESH_CHANGED, Op.REFRESH_GONE):
        return
    name = event.urn.rsplit("::", 1)[-1]
    print(f"  {symbol or '*'} {event.op.value:<8} {short_type(event.type)} {name}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    project_dir: Path = args.project_dir.resolve()
    print(BANNER.format(command=args.command), flush=True)
    try:
        config = load_stack_config(project_dir, args.stack)
        state_path: Path = args.state or apply.default_state_path(project_dir, args.stack)
        if args.command == "unprotect":
            n = apply.unprotect(state_path, config.project, config.stack)
            print(f"unprotected {n} resource(s) in {state_path}")
            return 0
        target = apply.Target(
            project_dir=project_dir,
            config=config,
            state_path=state_path,
            program=apply.load_program(args.program) if args.command == "up" else None,
            workers=args.workers,
            observer=progress,
        )
        operation = {"up": apply.up, "refresh": apply.refresh, "destroy": apply.destroy}
        result = operation[args.command](target)
    except (StackFileError, StateError, HostError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("(state recorded so far is saved; fix the cause and run again)", file=sys.stderr)
        return 1
    print(f"{args.command} of stack {config.stack} done in {result.seconds:.1f}s:")
    print("\n".join(result.summary.lines()))
    for urn, keys in sorted(result.refresh_changes.items()):
        print(f"  refreshed {urn}: {', '.join(keys)}")
    if result.outputs:
        print("outputs:")
        for key, value in sorted(result.outputs.items()):
            print(f"  {key}: {value}")
    print(f"state: {state_path} ({len(result.state.resources)} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
