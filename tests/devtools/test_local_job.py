"""The main job (`nox -s local`) end to end with the real Pulumi CLI, on a copy of the project."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.local_job import LocalSettings, pretty_xml, read_settings
from devtools.projects import lay_out
from devtools.pulumi_cli import find_cli

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_project(tmp_path: Path, app_port: int) -> Path:
    """Pulumi.yaml + Pulumi.local.yaml with the app moved to `app_port`."""
    lay_out(tmp_path)  # .venv is the test's own virtualenv (it has `infra` installed)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    doc = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    doc["config"]["twilio-voice:environment"]["public_base_url"] = f"http://127.0.0.1:{app_port}"
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_settings_default_to_the_emulator_credentials(tmp_path: Path) -> None:
    from emulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    project = local_project(tmp_path, 18080)
    stack = tmp_path / "Pulumi.local.yaml"
    doc = yaml.safe_load(stack.read_text())
    doc["config"] = {k: v for k, v in doc["config"].items() if not k.startswith("twilio:")}
    stack.write_text(yaml.safe_dump(doc))
    settings = read_settings(project)
    assert settings == LocalSettings(
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, "http://127.0.0.1:18080", "+14155550120"
    )
    assert settings.app_port == 18080
    assert settings.app_host == "127.0.0.1"


def test_settings_take_the_stack_credentials_when_set(tmp_path: Path) -> None:
    project = local_project(tmp_path, 18080)
    stack = tmp_path / "Pulumi.local.yaml"
    doc = yaml.safe_load(stack.read_text())
    doc["config"]["twilio:accountSid"] = "AC" + "a" * 32
    doc["config"]["twilio:authToken"] = "local-token"
    stack.write_text(yaml.safe_dump(doc))
    settings = read_settings(project)
    assert settings.account_sid == "AC" + "a" * 32
    assert settings.auth_token == "local-token"


def test_pretty_xml_indents_twiml_and_passes_other_text() -> None:
    assert pretty_xml("<Response><Say>hi</Say></Response>") == (
        "<Response>\n  <Say>hi</Say>\n</Response>"
    )
    assert pretty_xml("forbidden\n") == "forbidden"


def run_job(project: Path, *extra: str, env: dict[str, str] | None = None, expect: int = 0) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "devtools.local_job", "--project-dir", str(project), *extra],
        cwd=project,
        # devtools is not installed (it is not shipped): it comes from the checkout
        env={**(env if env is not None else os.environ), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == expect, result.stdout + result.stderr
    return result.stdout + result.stderr


def link_cli(project: Path) -> None:
    """Reuse the built CLI: the job looks in the project's .cache/pulumi."""
    found = find_cli(ROOT)
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no Pulumi CLI: nox -s pulumi-cli must run first")
        pytest.skip("no Pulumi CLI: run `nox -s pulumi-cli` first")
    target = project / ".cache" / "pulumi"
    target.parent.mkdir(parents=True, exist_ok=True)
    if found.parent.parent == ROOT / ".cache" / "pulumi":
        target.symlink_to(found.parent.parent, target_is_directory=True)


@pytest.mark.engine
def test_main_job_runs_pulumi_up_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    project = local_project(tmp_path, free_port())
    link_cli(project)
    out = run_job(project, "--emulator-port", str(free_port()))
    assert "pulumi up --stack local --yes" in out
    assert "Resources:" in out
    assert "29 created" in out, out
    assert "SIP domain " in out  # the per-kind listing from the kind table
    assert "-> HTTP 200" in out
    assert "walked: menu main -> 1 (sales) -> dial +14155550101" in out
    assert "<Response>" in out
    assert "twilio-voice simulate scenarios/ivr-sales-answered.yaml" in out
    assert "IVR to sales, answered" in out
    assert "stopped the webhook app" in out
    assert "stopped the Twilio emulator" in out
    again = run_job(project, "--emulator-port", str(free_port()))
    summary = again[again.index("Resources:") :].split("Duration")[0]
    assert "29 unchanged" in summary, again
    assert "created" not in summary
    assert "updated" not in summary
    assert "-> HTTP 200" in again


def test_without_pulumi_or_go_the_job_stops_with_install_advice(tmp_path: Path) -> None:
    project = local_project(tmp_path, free_port())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    out = run_job(project, "--emulator-port", str(free_port()), env=env, expect=2)
    assert "Install the Pulumi CLI" in out
    assert "nox -s pulumi-cli" in out
    assert "Traceback" not in out
    assert "Start the Twilio emulator" not in out
