"""The real Pulumi CLI on a scratch copy of the project, against an emulator.

Each test gets its own project folder (Pulumi.yaml naming the test's own virtualenv, `infra/`
linked to the real program, one stack file), its own `file://` backend and PULUMI_HOME, and the
emulator's `TWILIO_*` variables: the CLI and every plugin it starts talk only to that emulator.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.emulator_testing import RunningEmulator
from devtools.engine import Engine
from devtools.projects import lay_out
from devtools.pulumi_cli import find_cli, install_advice

ROOT = Path(__file__).resolve().parents[2]
ENV_KEY = "twilio-voice:environment"


def cli_bin() -> Path:
    """The CLI's bin folder; without one the engine tests skip (and fail under CI=true)."""
    found = find_cli(ROOT)
    if found is None:
        message = f"no Pulumi CLI: run `nox -s pulumi-cli` first. {install_advice()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def stack_doc(stack: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return doc


def stack_numbers(stack: str) -> list[str]:
    """The numbers the stack declares (what the account must own); not the dial targets of its
    call flows, which an account does not own and drift would list as unmanaged numbers."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    spec = doc["config"]["twilio-voice:environment"]
    return [str(n["e164"]) for n in spec.get("numbers", [])]


def secure_paths(node: Any, path: str = "") -> Iterator[str]:
    """Config paths (`a.b[0].c`) of every `{secure: ...}` value under `node`."""
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            yield path
            return
        for key, value in node.items():
            yield from secure_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from secure_paths(value, f"{path}[{index}]")


def _replace_secure(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            return "set-by-pulumi-config"
        return {key: _replace_secure(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_secure(value) for value in node]
    return node


def test_secret(path: str) -> str:
    """A strong, deterministic stand-in for the secret at `path` (the repo's are ciphertext)."""
    import hashlib

    return "E2e-" + hashlib.sha256(path.encode()).hexdigest()[:12] + "-Passw0rd"


test_secret.__test__ = False  # type: ignore[attr-defined]


@dataclass
class StackProject:
    """A scratch project with one stack, the engine that runs it, and the emulator it targets."""

    engine: Engine
    stack: str
    emu: RunningEmulator
    folder: Path
    secrets: dict[str, str]

    @property
    def stack_file(self) -> Path:
        return self.folder / f"Pulumi.{self.stack}.yaml"

    def environment(self) -> dict[str, Any]:
        doc = yaml.safe_load(self.stack_file.read_text())
        env: dict[str, Any] = doc["config"][ENV_KEY]
        return env

    def edit(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the stack's environment spec in place (what a pull request does)."""
        doc = yaml.safe_load(self.stack_file.read_text())
        change(doc["config"][ENV_KEY])
        self.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def up(self, *flags: str, check: bool = True) -> str:
        result = self.engine.up(self.stack, *flags, check=check)
        return result.stdout + result.stderr

    def preview(self, *flags: str, check: bool = True) -> Any:
        return self.engine.preview(self.stack, *flags, check=check)


def make_project(
    tmp_path: Path,
    emu: RunningEmulator,
    stack: str = "local",
    *,
    change: Callable[[dict[str, Any]], None] | None = None,
) -> StackProject:
    """Copy `stack` into a scratch project, create the stack, set its secrets with the CLI."""
    folder = lay_out(tmp_path / "project")
    doc = copy.deepcopy(stack_doc(stack))
    doc.pop("encryptionsalt", None)
    paths = list(secure_paths(doc.get("config", {})))
    doc["config"] = _replace_secure(doc.get("config", {}))
    if change is not None:
        change(doc["config"][ENV_KEY])
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    engine = Engine(
        bin_dir=cli_bin(),
        project_dir=folder,
        state_dir=tmp_path / "state",
        extra_env=emu.env(),
        home=tmp_path / "pulumi-home",
    )
    engine.select(stack)
    secrets: dict[str, str] = {}
    for path in paths:
        _key, _, rest = path.partition(".")
        secrets[path] = test_secret(path)
        engine.set_config(stack, path, secrets[path], secret=True, path=bool(rest))
    return StackProject(engine, stack, emu, folder, secrets)


def live(emu: RunningEmulator, kind: str) -> list[dict[str, Any]]:
    return list(emu.admin.resources(kind))


def counts(emu: RunningEmulator) -> dict[str, int]:
    data: dict[str, int] = emu.admin.request("GET", "/counts")
    return data


PROD_ACCOUNT = "ACb0ebb1aee434f6076941fdae6a07a0d2"  # Pulumi.prod.yaml's twilio:accountSid
PROD_API_KEY = "SKa0b2429dda7f6a3d591334a68ef8f733"  # its credentials.api_key_sid
PROD_API_SECRET = "e2e-Api-Secret-0f3b9c1d7e"


def prod_emulator_options() -> dict[str, Any]:
    return {
        "account_sid": PROD_ACCOUNT,
        "api_keys": {PROD_API_KEY: PROD_API_SECRET},
        "numbers": stack_numbers("prod"),
    }


def make_prod_project(
    tmp_path: Path,
    emu: RunningEmulator,
    *,
    change: Callable[[dict[str, Any]], None] | None = None,
) -> StackProject:
    """The prod-shaped stack as a user runs it: API key in config, its secret a Pulumi secret."""
    project = make_project(tmp_path, emu, "prod", change=change)
    # Only the emulator's address comes from the environment: credentials come from the stack.
    project.engine.extra_env = {"TWILIO_API_BASE_URL": emu.base_url}
    project.engine.set_config("prod", "twilio:apiKey", PROD_API_KEY, secret=False, path=False)
    project.engine.set_config("prod", "twilio:apiSecret", PROD_API_SECRET, secret=True, path=False)
    project.secrets["twilio:apiSecret"] = PROD_API_SECRET
    return project


# A number's voice routing: destroy must leave every number owned with all of these empty.
NUMBER_RESET = ("voice_url", "voice_fallback_url", "voice_application_sid", "trunk_sid")


def assert_numbers_kept_and_reset(emu: RunningEmulator, numbers: list[str]) -> None:
    """Numbers are adopted, never released: after destroy each is owned and routes nowhere."""
    owned = {n["phone_number"]: n for n in live(emu, "incoming_phone_number")}
    for e164 in numbers:
        assert e164 in owned, f"{e164} was released"
        routed = {k: owned[e164][k] for k in NUMBER_RESET if owned[e164].get(k)}
        assert routed == {}, f"{e164} still routed after destroy: {routed}"
