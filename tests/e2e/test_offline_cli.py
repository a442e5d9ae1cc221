"""`python -m infra.offline` as a user runs it: up, no-op up, unprotect, destroy on `local`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from e2e_support import ROOT, stack_numbers

from emulator.testing import running_emulator


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.offline", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_up_noop_destroy_against_the_emulator(tmp_path: Path) -> None:
    state = str(tmp_path / "local.json")
    with running_emulator(numbers=stack_numbers("local")) as emu:
        env = {**os.environ, **emu.env()}
        up = run_cli("up", "--stack", "local", "--state", state, env=env)
        assert up.returncode == 0, up.stderr
        assert "stand-in for `pulumi up`" in up.stdout
        assert "+ create   Trunk local-trunk" in up.stdout
        assert "number_sids" in up.stdout

        again = run_cli("up", "--stack", "local", "--state", state, env=env)
        assert again.returncode == 0, again.stderr
        assert "create" not in again.stdout.split("done in", 1)[1]
        assert "update" not in again.stdout.split("done in", 1)[1]

        refused = run_cli("destroy", "--stack", "local", "--state", state, env=env)
        assert refused.returncode == 1
        assert "protected" in refused.stderr
        assert "unprotect --stack local" in refused.stderr

        assert run_cli("unprotect", "--stack", "local", "--state", state, env=env).returncode == 0
        gone = run_cli("destroy", "--stack", "local", "--state", state, env=env)
        assert gone.returncode == 0, gone.stderr
        assert "(0 resources)" in gone.stdout
        kinds = emu.admin.request("GET", "/counts")
        assert set(kinds) <= {
            "incoming_phone_number",
            "route_phone_number",
            "route_sip_domain",
            "route_trunk",
        }, kinds


def test_cli_refuses_encrypted_stack_config_naming_the_path(tmp_path: Path) -> None:
    result = run_cli(
        "up", "--stack", "prod", "--state", str(tmp_path / "p.json"), env={**os.environ}
    )
    assert result.returncode == 2
    assert "credential_lists[0].credentials[0].password is encrypted" in result.stderr
    assert "v1:" not in result.stderr
