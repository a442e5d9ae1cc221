"""Run a GitHub workflow step's `run:` script here, the way the runner does.

The script text comes from the workflow file itself, so the test runs exactly the commands a pull
request or the schedule runs (`bash -e` as GitHub's default shell, `set -o pipefail` where the
script asks for it), with the step's and job's literal `env:` plus what the test provides in
place of `${{ ... }}` expressions and secrets.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


@dataclass(frozen=True)
class Step:
    name: str
    run: str
    env: dict[str, str]


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def step(workflow_file: str, job: str, name: str) -> Step:
    """The named step of `job`; its env without `${{ }}` expressions (the test supplies those)."""
    steps = workflow(workflow_file)["jobs"][job]["steps"]
    for item in steps:
        if item.get("name") == name:
            env = {
                key: str(value)
                for key, value in (item.get("env") or {}).items()
                if "${{" not in str(value)
            }
            return Step(name, item["run"], env)
    raise KeyError(f"{workflow_file}: job {job} has no step named {name!r}")


def run_step(
    found: Step, cwd: Path, env: Mapping[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", found.run],
        cwd=cwd,
        env={**env, **found.env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
