"""The GitOps workflows' own commands, run for real with the built CLI against the emulator.

preview.yml: stack detection from a diff, `validate --format github`, `pulumi preview --diff`
with the policy pack, the PR comment. drift.yml: `pulumi refresh --preview-only
--expect-no-changes`, `infra drift --format markdown`, the job summary and the failing step.
deploy.yml: stack detection of a push, `pulumi up --refresh` with the policy pack, and the signed
smoke call against the webhook app serving the stack's public URL.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    ROOT,
    StackProject,
    make_prod_project,
    make_project,
    prod_emulator_options,
    stack_numbers,
)
from werkzeug.serving import make_server
from workflow_support import run_step, step

from devtools.emulator_testing import running_emulator
from webhook_app import get_app

pytestmark = pytest.mark.engine


def step_env(project: StackProject, tmp_path: Path) -> dict[str, str]:
    """What the runner's job env gives the steps: the stack, the engine, the account."""
    env = project.engine.env()
    env.update(
        {
            "STACK": project.stack,
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
            "PYTHONPATH": str(ROOT),
        }
    )
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).touch()
    return env


def test_preview_workflow_detects_validates_previews_and_comments(tmp_path: Path) -> None:
    # Stack detection: a diff that touches only Pulumi.prod.yaml selects prod, never local.
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    for name in ("Pulumi.yaml", "Pulumi.local.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml"):
        (repo / name).write_text((ROOT / name).read_text())
    (repo / ".github" / "scripts").mkdir(parents=True)
    script = repo / ".github" / "scripts" / "changed-stacks.sh"
    script.write_text((ROOT / ".github" / "scripts" / "changed-stacks.sh").read_text())
    script.chmod(0o755)
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    with (repo / "Pulumi.prod.yaml").open("a") as handle:
        handle.write("# a reviewed change\n")
    (repo / "Pulumi.local.yaml").write_text((ROOT / "Pulumi.local.yaml").read_text() + "#\n")
    subprocess.run([*git, "commit", "-qam", "change"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    output = tmp_path / "detect_output"
    output.touch()
    detect = run_step(
        step("preview.yml", "stacks", "Detect stacks touched by this PR"),
        repo,
        {**os.environ, "BASE_SHA": base, "HEAD_SHA": head, "GITHUB_OUTPUT": str(output)},
    )
    assert detect.returncode == 0, detect.stderr
    assert output.read_text().strip() == 'stacks=["prod"]'

    with running_emulator(**prod_emulator_options()) as emu:
        project = make_prod_project(tmp_path, emu)
        env = step_env(project, tmp_path)
        validate = run_step(
            step("preview.yml", "preview", "Validate the spec"), project.folder, env
        )
        assert validate.returncode == 0, validate.stdout + validate.stderr
        preview = run_step(step("preview.yml", "preview", "pulumi preview"), project.folder, env)
        assert preview.returncode == 0, preview.stdout + preview.stderr
        text = (project.folder / "preview.txt").read_text()
        assert "twilio-voice-guardrails" in text
        assert "to create" in text
        comment = run_step(
            step("preview.yml", "preview", "Build the comment"),
            project.folder,
            {**env, "OUTCOME": "success"},
        )
        assert comment.returncode == 0, comment.stderr
        body = (project.folder / "comment.md").read_text()
        assert body.startswith("### `pulumi preview` for stack `prod`: success")
        assert "```diff" in body
        assert "Resources:" in body


def drift_run(project: StackProject, env: dict[str, str]) -> dict[str, Any]:
    """The drift job's steps in order, with the outcomes the runner would compute."""
    refresh = run_step(
        step("drift.yml", "drift", "pulumi refresh (state vs account)"), project.folder, env
    )
    drift = run_step(
        step("drift.yml", "drift", "infra drift (spec vs account)"),
        project.folder,
        {**env, "STRICT": ""},
    )
    outcomes = {
        "REFRESH": "success" if refresh.returncode == 0 else "failure",
        "DRIFT": "success" if drift.returncode == 0 else "failure",
    }
    Path(env["GITHUB_STEP_SUMMARY"]).write_text("")
    summary = run_step(
        step("drift.yml", "drift", "Job summary"), project.folder, {**env, **outcomes}
    )
    assert summary.returncode == 0, summary.stderr
    fail = run_step(step("drift.yml", "drift", "Fail on drift"), project.folder, env)
    return {
        **outcomes,
        "summary": Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
        "drift_md": (project.folder / "drift.md").read_text(),
        "fail": fail,
        "refresh_output": refresh.stdout + refresh.stderr,
    }


def test_drift_workflow_is_green_on_a_clean_stack_and_red_on_a_console_edit(
    tmp_path: Path,
) -> None:
    with running_emulator(**prod_emulator_options()) as emu:
        project = make_prod_project(tmp_path, emu)
        project.up()
        env = step_env(project, tmp_path)
        # The drift command reads credentials from the environment (as the workflow's secrets).
        env.update(
            {
                "TWILIO_ACCOUNT_SID": emu.account_sid,
                "TWILIO_API_KEY": next(iter(emu.api_keys)),
                "TWILIO_API_SECRET": next(iter(emu.api_keys.values())),
            }
        )
        clean = drift_run(project, env)
        assert (clean["REFRESH"], clean["DRIFT"]) == ("success", "success"), clean
        assert "## Drift: stack `prod`" in clean["summary"]

        trunk = emu.admin.resources("trunk")[0]
        edited = "disable-all" if trunk["transfer_mode"] != "disable-all" else "enable-all"
        emu.admin.edit("trunk", trunk["sid"], transfer_mode=edited)
        red = drift_run(project, env)
        assert (red["REFRESH"], red["DRIFT"]) == ("failure", "failure"), red["refresh_output"]
        assert "transfer_mode" in red["drift_md"]
        assert "pulumi up --refresh" in red["drift_md"]
        assert "<details><summary>pulumi refresh output</summary>" in red["summary"]
        assert red["fail"].returncode == 1
        assert "::error::Stack prod has drifted" in red["fail"].stdout


def test_deploy_workflow_applies_with_refresh_and_smoke_calls_the_app(tmp_path: Path) -> None:
    # A first push (before = all zeros) deploys every stack but local.
    output = tmp_path / "detect_output"
    output.touch()
    detect = run_step(
        step("deploy.yml", "stacks", "Detect stacks touched by this push"),
        ROOT,
        {**os.environ, "BASE_SHA": "0" * 40, "HEAD_SHA": "HEAD", "GITHUB_OUTPUT": str(output)},
    )
    assert detect.returncode == 0, detect.stderr
    assert output.read_text().strip() == 'stacks=["dev","prod"]'

    # The deploy steps, on a stack whose public URL is an app served here.
    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        with running_emulator(numbers=stack_numbers("local")) as emu:

            def served_here(env: dict[str, Any]) -> None:
                env["public_base_url"] = base

            project = make_project(tmp_path / "deploy", emu, "local", change=served_here)
            holder["app"] = get_app(
                {
                    "TWILIO_AUTH_TOKEN": emu.auth_token,
                    "PUBLIC_BASE_URL": base,
                    "VOICE_STORE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
                }
            )
            env = {**step_env(project, tmp_path), **emu.env()}
            # A Console edit made since the last deploy: `up --refresh` repairs it.
            project.up()
            trunk = emu.admin.resources("trunk")[0]
            emu.admin.edit("trunk", trunk["sid"], friendly_name="edited in the console")
            up = run_step(step("deploy.yml", "deploy", "pulumi up --refresh"), project.folder, env)
            assert up.returncode == 0, up.stdout + up.stderr
            assert emu.admin.resources("trunk")[0]["friendly_name"] != "edited in the console"
            smoke = run_step(step("deploy.yml", "deploy", "Signed smoke call"), project.folder, env)
            assert smoke.returncode == 0, smoke.stdout + smoke.stderr
            assert "ok   POST " + base + "/voice/inbound" in smoke.stdout
            summary = run_step(step("deploy.yml", "deploy", "Job summary"), project.folder, env)
            assert summary.returncode == 0, summary.stderr
            text = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
            assert "## Deploy: stack `local`" in text
            assert "Resources:" in text

            # A broken app fails the deploy job at the smoke step.
            holder["app"] = lambda environ, start_response: (
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                or [b"boom"]
            )
            broken = run_step(
                step("deploy.yml", "deploy", "Signed smoke call"), project.folder, env
            )
            assert broken.returncode == 1, broken.stdout
            assert "11200" in broken.stdout
    finally:
        server.shutdown()
        thread.join(timeout=10)
