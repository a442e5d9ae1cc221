"""The user's path: `python -m emulator` and `python -m webhook_app` as processes, the `local`
stack applied, then `twilio-voice simulate scenarios/*.yaml --stack local` as a process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_support import CALLER_ID, ROOT, SCENARIOS, provision_local

from devtools.emulator_testing import RunningEmulator, emulator_process
from devtools.processes import stop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def app_process(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    from infra.commands.app_config import artifact_text
    from infra.spec import load_stack_file

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    flows = tmp_path / "flows.json"  # the local stack's call flows, as `app-config` writes them
    flows.write_text(artifact_text(load_stack_file(ROOT, "local"), "local"))
    env = {
        **os.environ,
        "TWILIO_AUTH_TOKEN": "emulator-auth-token",
        "PUBLIC_BASE_URL": base,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "TWILIO_CALLER_ID": CALLER_ID,
        "VOICE_STORE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        "VOICE_SETTINGS_FILE": str(flows),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "webhook_app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("python -m webhook_app did not start")
                time.sleep(0.05)
        yield base, env
    finally:
        stop(proc)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with emulator_process() as running:
        yield running


def test_simulate_against_running_processes(
    emulator: RunningEmulator, app_process: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, _ = app_process
    provision_local(emulator, base)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "Pulumi.local.yaml").write_text(
        (ROOT / "Pulumi.local.yaml").read_text().replace("http://127.0.0.1:8080", base)
    )
    cli = shutil.which("twilio-voice", path=str(Path(sys.executable).parent))
    command = [cli] if cli else [sys.executable, "-m", "infra"]
    result = subprocess.run(
        [
            *command,
            "simulate",
            *map(str, sorted(SCENARIOS.glob("*.yaml"))),
            "--stack",
            "local",
            "--project-dir",
            str(project),
        ],
        env={**os.environ, **emulator.env()},  # a transfer scenario calls the REST API
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    count = len(list(SCENARIOS.glob("*.yaml")))
    assert f"{count} passed, 0 failed" in result.stdout
