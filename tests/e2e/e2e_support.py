"""Shared pieces of the end-to-end tests (imported by name: tests/e2e is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emulator.numbers import numbers_in_files
from emulator.testing import RunningEmulator
from infra.offline import apply
from infra.offline.deployment import StepEvent
from infra.offline.stack_config import StackConfig, load_stack_config

ROOT = Path(__file__).resolve().parents[2]


def harness_target(
    emu: RunningEmulator,
    config: StackConfig,
    state_path: Path,
    *,
    program: Callable[[], object] | None = None,
    workers: int = apply.DEFAULT_WORKERS,
    observer: Callable[[StepEvent], None] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> apply.Target:
    """A harness target whose provider host talks to `emu`."""
    return apply.Target(
        project_dir=ROOT,
        config=config,
        state_path=state_path,
        program=program or apply.load_program(apply.DEFAULT_PROGRAM),
        workers=workers,
        host_env={**emu.env(), **(extra_env or {})},
        observer=observer,
    )


def stack_numbers(stack: str) -> list[str]:
    """The E.164 numbers a stack file declares (the emulator must own them: they are adopted)."""
    return numbers_in_files([ROOT / f"Pulumi.{stack}.yaml"])


def stack_config(stack: str, **kwargs: Any) -> StackConfig:
    return load_stack_config(ROOT, stack, **kwargs)
