"""Fixtures for drift tests: a project folder and an emulator with the `local` spec applied."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from drift_support import API_KEY, API_SECRET, EXTRA_NUMBER, ROOT, Account, apply_spec

from devtools.emulator_testing import running_emulator
from infra.spec import Environment, load_stack_file


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the real Pulumi.yaml and the `local` stack file."""
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def local_env(project: Path) -> Environment:
    return load_stack_file(project, "local")


@pytest.fixture
def account(
    local_env: Environment, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Account]:
    """An emulator holding the `local` spec, applied; drift's environment points at it."""
    numbers = [n.e164 for n in local_env.numbers] + [EXTRA_NUMBER]
    with running_emulator(numbers=numbers, api_keys={API_KEY: API_SECRET}) as emu:
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        client = emu.client()
        apply_spec(client, local_env)
        emu.admin.reset_counters()
        yield Account(emu, client, local_env, project)
