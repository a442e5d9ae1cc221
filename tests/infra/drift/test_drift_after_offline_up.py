"""The real providers converge the `local` stack (through Pulumi's dynamic-provider host, via
`python -m infra.offline up`); drift then agrees the account matches the spec."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from drift_support import EXTRA_NUMBER, ROOT

from emulator.testing import running_emulator
from infra.commands.drift import drift
from infra.spec import load_stack_file


@pytest.mark.slow
def test_providers_then_drift_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    numbers = [n.e164 for n in load_stack_file(tmp_path, "local").numbers] + [EXTRA_NUMBER]
    with running_emulator(numbers=numbers) as emu:
        up = subprocess.run(
            [
                sys.executable,
                "-m",
                "infra.offline",
                "up",
                "--stack",
                "local",
                "--project-dir",
                str(tmp_path),
                "--state",
                str(tmp_path / "state.json"),
            ],
            env={**os.environ, **emu.env()},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        out = io.StringIO()
        assert drift(tmp_path, "local", fmt="json", out=out) == 0
        report = json.loads(out.getvalue())
        assert [(f["status"], f["key"]) for f in report["findings"]] == [
            ("unmanaged", EXTRA_NUMBER)
        ]
        # A Console edit after `pulumi up` is drift, with the field named.
        [trunk] = emu.admin.resources("trunk")
        emu.admin.edit("trunk", trunk["sid"], transfer_mode="enable-all")
        out = io.StringIO()
        assert drift(tmp_path, "local", fmt="json", out=out) == 1
        [changed] = [f for f in json.loads(out.getvalue())["findings"] if f["fails"]]
        assert changed["changes"] == [
            {"field": "transfer_mode", "declared": "disable-all", "live": "enable-all"}
        ]
