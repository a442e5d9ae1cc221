"""The main job (`nox -s local`) end to end, on a copy of the project with free ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.local_job import LocalSettings, pretty_xml, read_settings

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_project(tmp_path: Path, app_port: int) -> Path:
    """Pulumi.yaml + Pulumi.local.yaml with the app moved to `app_port`."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    # the program's virtualenv: the one running the tests (it has `infra` installed)
    project["runtime"]["options"]["virtualenv"] = str(Path(sys.executable).parent.parent)
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(project))
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
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, "http://127.0.0.1:18080"
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


def run_job(project: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "infra.local_job", "--project-dir", str(project), *extra],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_main_job_applies_the_local_stack_and_answers_a_signed_call(tmp_path: Path) -> None:
    project = local_project(tmp_path, free_port())
    out = run_job(project, "--offline", "--emulator-port", str(free_port()))
    assert "stand-in" in out
    assert "+ create   SipDomain local-pbx" in out
    assert "sip_domain " in out  # the emulator's per-kind counts
    assert "-> HTTP 200" in out
    assert "<Response>" in out
    assert "stopped the webhook app" in out
    assert "stopped the Twilio emulator" in out
    assert (project / ".cache" / "emulator-state.json").is_file()
    # state survives: a second run changes nothing
    again = run_job(project, "--offline", "--emulator-port", str(free_port()))
    assert "+ create" not in again
    assert "~ update" not in again
    assert "-> HTTP 200" in again


FAKE_PULUMI = """#!/bin/sh
python3 - "$@" <<'PY'
import json, os, sys
keys = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "TWILIO_API_BASE_URL",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(),
                          "env": {k: os.environ.get(k) for k in keys}}) + "\\n")
PY
"""


@pytest.mark.slow
def test_main_job_runs_pulumi_up_with_a_file_backend_when_the_cli_exists(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    project = local_project(tmp_path / "project", free_port())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(0o755)
    log = tmp_path / "pulumi-calls.jsonl"
    emulator_port = free_port()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_PULUMI_LOG": str(log),
    }
    env.pop("PULUMI_CONFIG_PASSPHRASE", None)
    out = run_job(project, "--emulator-port", str(emulator_port), env=env)
    assert "stand-in" not in out
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["argv"] for c in calls] == [
        ["stack", "select", "--create", "local"],
        ["up", "--stack", "local", "--yes"],
    ]
    for call in calls:
        assert call["cwd"] == str(project)
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{project / '.cache' / 'pulumi-state'}"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"]
        assert call["env"]["TWILIO_API_BASE_URL"] == f"http://127.0.0.1:{emulator_port}"
        assert call["env"]["TWILIO_ACCOUNT_SID"].startswith("AC")
        assert call["env"]["TWILIO_AUTH_TOKEN"]
