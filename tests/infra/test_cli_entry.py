"""The CLI's entry points: the `twilio-voice` script, `python -m infra.cli`, `python -m infra`."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_is_the_cli() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["twilio-voice"] == "infra.cli:main"


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "infra.cli", "validate", "--stack", "local"],
        ["-m", "infra", "validate", "--stack", "local"],
        ["-m", "infra", "drift", "--help"],
    ],
)
def test_module_entry_points_run_the_cli(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "twilio-voice" in done.stdout or "local: valid" in done.stdout


def test_commands_do_not_import_the_cli() -> None:
    code = (
        "import sys, infra.commands.drift, infra.commands.validate, infra.commands.schema; "
        "sys.exit('infra.cli' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0
