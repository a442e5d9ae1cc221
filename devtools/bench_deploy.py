"""`nox -s bench-deploy`: the real `pulumi up` on generated estates against the emulator.

For each size (default 100 and 1,000 numbers, with their trunks and domains): `pulumi up` wall
time and REST calls per resource, a no-op `pulumi preview` (time and REST calls: must be 0), and
`pulumi destroy`. Prints a table and the growth ratio (goal: time grows at most 1.1x as fast as
the resources). Timing is printed, never asserted: this is a benchmark, not a test.

Modes: `checkpoints` is the engine as users run it; `skip-checkpoints` sets
`PULUMI_SKIP_CHECKPOINTS=true`, which stops the engine from rewriting the whole state file after
every step. The difference between the two is the file backend's cost, not the providers'.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devtools.emulator_testing import RunningEmulator, emulator_process
from devtools.engine import Engine, changes
from devtools.estates import scale_spec
from devtools.projects import lay_out
from devtools.pulumi_cli import ROOT, ensure_cli

STACK = "local"


MODES = {"checkpoints": {}, "skip-checkpoints": {"PULUMI_SKIP_CHECKPOINTS": "true"}}


@dataclass(frozen=True)
class Row:
    mode: str
    numbers: int
    resources: int
    up_s: float
    up_calls: int
    preview_s: float
    preview_calls: int
    destroy_s: float
    destroy_calls: int

    @property
    def calls_per_resource(self) -> float:
        return self.up_calls / self.resources


def scratch_project(folder: Path, numbers: int) -> None:
    """The users' project layout (devtools.projects) with a generated local stack."""
    lay_out(folder)
    doc = {"config": {"twilio-voice:environment": scale_spec(numbers)}}
    (folder / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def timed(emu: RunningEmulator, run: Callable[[], Any]) -> tuple[float, int, Any]:
    """Wall seconds, REST calls the emulator answered, and the result of `run`."""
    emu.admin.reset_counters()
    started = time.monotonic()
    result = run()
    seconds = time.monotonic() - started
    return seconds, int(emu.admin.counters()["total"]), result


def measure(numbers: int, bin_dir: Path, work: Path, parallel: int, mode: str) -> Row:
    tag = f"{mode}-{numbers}"
    folder = work / f"estate-{tag}"
    scratch_project(folder, numbers)
    (work / f"emu-{tag}").mkdir()
    with emulator_process("--seed-numbers", str(numbers), cwd=work / f"emu-{tag}") as emu:
        engine = Engine(
            bin_dir=bin_dir,
            project_dir=folder,
            state_dir=work / f"state-{tag}",
            extra_env={**emu.env(), **MODES[mode]},
            home=work / "pulumi-home",
        )
        engine.select(STACK)
        flags = ("--parallel", str(parallel))
        up_s, up_calls, up = timed(emu, lambda: engine.up(STACK, *flags))
        resources = changes(up.stdout).get("created", 0)
        preview_s, preview_calls, preview = timed(
            emu, lambda: engine.preview(STACK, "--expect-no-changes", *flags)
        )
        engine.run("state", "unprotect", "--all", "--yes", "--stack", STACK)
        destroy_s, destroy_calls, _ = timed(emu, lambda: engine.destroy(STACK, *flags))
        del preview
    return Row(
        mode,
        numbers,
        resources,
        up_s,
        up_calls,
        preview_s,
        preview_calls,
        destroy_s,
        destroy_calls,
    )


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| mode | numbers | resources | up s | REST calls/resource (up) | no-op preview s "
        "| preview REST calls | destroy s | REST calls/resource (destroy) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.mode} | {row.numbers:,} | {row.resources:,} | {row.up_s:.1f} | "
            f"{row.calls_per_resource:.2f} | {row.preview_s:.1f} | {row.preview_calls} | "
            f"{row.destroy_s:.1f} | {row.destroy_calls / max(row.resources, 1):.2f} |"
        )
    for mode in MODES:
        sized = [row for row in rows if row.mode == mode]
        if len(sized) < 2:
            continue
        small, large = sized[0], sized[-1]
        growth = large.resources / max(small.resources, 1)
        up_ratio = large.up_s / small.up_s
        preview_ratio = large.preview_s / small.preview_s
        lines.append("")
        lines.append(
            f"{mode}: {growth:.1f}x the resources, up took {up_ratio:.1f}x "
            f"(goal: at most {growth * 1.1:.1f}x), no-op preview {preview_ratio:.1f}x"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_deploy", description=__doc__)
    parser.add_argument("--sizes", default="100,1000", help="numbers per estate, comma-separated")
    parser.add_argument(
        "--parallel", type=int, default=16, help="pulumi --parallel (the engine's default is 16)"
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, of: {', '.join(MODES)}"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    bin_dir = ensure_cli(ROOT)
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        for mode in [m for m in args.modes.split(",") if m]:
            for numbers in sizes:
                print(f"{mode}, {numbers:,} numbers: up, no-op preview, destroy ...", flush=True)
                row = measure(numbers, bin_dir, Path(tmp), args.parallel, mode)
                print(f"  {row}", flush=True)
                rows.append(row)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    sys.exit(main())
