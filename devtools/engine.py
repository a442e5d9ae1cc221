"""Run the Pulumi CLI on a project, hermetically: what the main job, benchmarks and tests share.

Every run gets `engine_env()` (PULUMI_HOME and a `file://` backend under the given state folder,
a passphrase secrets provider, no update checks, no plugin downloads) plus whatever the caller
adds (the emulator's `TWILIO_*` variables). Output is captured as text; `check=True` turns a
non-zero exit into `EngineError` carrying the command and its output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.pulumi_cli import engine_env


class EngineError(RuntimeError):
    """A `pulumi` command failed."""

    def __init__(self, argv: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        self.argv = list(argv)
        self.result = result
        super().__init__(
            f"`{' '.join(argv)}` exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )


@dataclass
class Engine:
    """One project folder, one backend folder, one CLI."""

    bin_dir: Path
    project_dir: Path
    state_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    home: Path | None = None

    @property
    def pulumi(self) -> str:
        return str(self.bin_dir / "pulumi")

    def env(self, more: Mapping[str, str] | None = None) -> dict[str, str]:
        env = engine_env(self.bin_dir, self.state_dir, home=self.home)
        env.update(self.extra_env)
        env.update(more or {})
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 900,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        argv = [self.pulumi, *args, "--non-interactive"]
        result = subprocess.run(  # noqa: S603 - the CLI we built or found, fixed subcommands
            argv,
            cwd=self.project_dir,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            check=False,
        )
        if check and result.returncode != 0:
            raise EngineError(argv, result)
        return result

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a command without waiting (interruption tests)."""
        return subprocess.Popen(  # noqa: S603 - see run()
            [self.pulumi, *args, "--non-interactive"],
            cwd=self.project_dir,
            env=self.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    # -- the commands users run --------------------------------------------------------------

    def select(self, stack: str) -> None:
        self.run("stack", "select", "--create", stack)

    def set_config(self, stack: str, key: str, value: str, *, secret: bool, path: bool) -> None:
        """`pulumi config set [--secret] [--path] KEY` with the value on stdin (not in argv)."""
        flags = [*(["--secret"] if secret else ["--plaintext"]), *(["--path"] if path else [])]
        self.run("config", "set", "--stack", stack, *flags, key, stdin=value)

    def up(self, stack: str, *flags: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--stack", stack, "--yes", "--skip-preview", *flags, check=check)

    def preview(
        self, stack: str, *flags: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("preview", "--stack", stack, *flags, check=check)

    def refresh(
        self, stack: str, *flags: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("refresh", "--stack", stack, "--yes", *flags, check=check)

    def destroy(
        self, stack: str, *flags: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "--stack", stack, "--yes", *flags, check=check)

    def export(self, stack: str) -> dict[str, Any]:
        """`pulumi stack export`: the deployment as the backend holds it (secrets encrypted)."""
        data: dict[str, Any] = json.loads(self.run("stack", "export", "--stack", stack).stdout)
        return data

    def resources(self, stack: str) -> list[dict[str, Any]]:
        """The resources in the stack's state (custom resources only, no stack/component)."""
        deployment = self.export(stack).get("deployment", {})
        return [
            r
            for r in deployment.get("resources", [])
            if r.get("custom") and not r["type"].startswith("pulumi:providers:")
        ]


def summary_line(output: str) -> str:
    """The `Resources:` block of a CLI run, on one line (for logs and assertions)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "Resources:":
            block = []
            for item in lines[index + 1 :]:
                if not item.strip():
                    break
                block.append(item.strip())
            return ", ".join(block)
    return ""


def changes(output: str) -> dict[str, int]:
    """{'created': 3, 'unchanged': 25, ...} from the `Resources:` block."""
    counts: dict[str, int] = {}
    for part in summary_line(output).split(","):
        words = part.replace("+", "").replace("~", "").replace("-", "").split()
        if len(words) >= 2 and words[0].isdigit():
            counts[" ".join(words[1:])] = int(words[0])
    return counts
