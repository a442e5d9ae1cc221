"""Drift after a real `pulumi up`, and the remediation its report advises, checked on the engine.

The engine does not re-read live state on `pulumi up`: a Console edit survives a plain `up` and is
repaired only by `pulumi up --refresh`, which is what the drift report tells users to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_support import ROOT, StackProject, make_project, stack_numbers

from devtools.emulator_testing import running_emulator

pytestmark = pytest.mark.engine
EXTRA_NUMBER = "+14155550177"  # owned by the account, declared by no stack


def drift(project: StackProject) -> tuple[int, dict[str, Any]]:
    """`python -m infra drift --stack local --format json`, as the scheduled workflow runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "infra", "drift", "--stack", "local", "--format", "json"],
        cwd=project.folder,
        env={**os.environ, **project.emu.env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def failing(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["fails"]]


def test_drift_is_clean_after_up_and_its_remedy_repairs_a_console_edit(tmp_path: Path) -> None:
    with running_emulator(numbers=[*stack_numbers("local"), EXTRA_NUMBER]) as emu:
        project = make_project(tmp_path, emu, "local")
        project.up()
        code, report = drift(project)
        assert code == 0, report
        assert [(f["status"], f["key"]) for f in report["findings"]] == [
            ("unmanaged", EXTRA_NUMBER)
        ]

        [trunk] = emu.admin.resources("trunk")
        emu.admin.edit("trunk", trunk["sid"], transfer_mode="enable-all")
        code, report = drift(project)
        assert code == 1
        [changed] = failing(report)
        assert changed["changes"] == [
            {"field": "transfer_mode", "declared": "disable-all", "live": "enable-all"}
        ]
        assert "pulumi up --refresh" in changed["hint"]

        # A plain `up` trusts the state: the edit survives (why the hint says --refresh).
        project.up()
        assert emu.admin.resources("trunk")[0]["transfer_mode"] == "enable-all"
        assert drift(project)[0] == 1

        project.up("--refresh")
        assert emu.admin.resources("trunk")[0]["transfer_mode"] == "disable-all"
        assert drift(project)[0] == 0

        # A record deleted in the Console: reported missing; `up --refresh` recreates it.
        [target] = emu.admin.resources("connection_policy_target")
        emu.admin.delete("connection_policy_target", target["sid"])
        code, report = drift(project)
        assert code == 1
        [missing] = failing(report)
        assert missing["status"] == "missing"
        assert "pulumi up --refresh" in missing["hint"]
        project.up("--refresh")
        assert drift(project)[0] == 0
