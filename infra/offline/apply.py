"""`up`, `refresh` and `destroy` of one stack: host lifecycle, state file, program run."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.offline.deployment import Deployment, Observer, StepError, Summary
from infra.offline.hostclient import DynamicHost
from infra.offline.mocks import run_program
from infra.offline.stack_config import StackConfig
from infra.offline.state import StackState, load_state, save_state

DEFAULT_PROGRAM = "infra.program:main"
DEFAULT_WORKERS = 8

Program = Callable[[], object]


@dataclass(frozen=True)
class Target:
    """Which stack to apply, from where, and how."""

    project_dir: Path
    config: StackConfig
    state_path: Path
    program: Program | None = None
    workers: int = DEFAULT_WORKERS
    host_env: Mapping[str, str] = field(default_factory=dict)
    observer: Observer | None = None


@dataclass
class Result:
    """What one operation did."""

    summary: Summary
    state: StackState
    seconds: float
    outputs: dict[str, Any] = field(default_factory=dict)
    refresh_changes: dict[str, list[str]] = field(default_factory=dict)


def load_program(ref: str) -> Program:
    """`module:function` -> the function (the program entry point)."""
    module_name, _, attr = ref.partition(":")
    program: Program = getattr(importlib.import_module(module_name), attr or "main")
    return program


def default_state_path(project_dir: Path, stack: str) -> Path:
    return project_dir / ".pulumi-state" / f"offline-{stack}.json"


def _start(target: Target) -> tuple[DynamicHost, StackState]:
    state = load_state(target.state_path, target.config.project, target.config.stack)
    host = DynamicHost(
        target.project_dir, target.config.project, target.config.stack, env=target.host_env
    )
    try:
        host.configure(target.config.values, target.config.secret_keys)
    except BaseException:
        host.close()
        raise
    return host, state


def _run(target: Target, body: Callable[[Deployment], Result]) -> Result:
    host, state = _start(target)
    with host:
        deployment = Deployment(
            host, state, lambda s: save_state(target.state_path, s), target.observer
        )
        try:
            return body(deployment)
        finally:
            deployment.flush()


def up(target: Target) -> Result:
    """Run the program; create/update/replace what it declares, delete what it dropped."""
    program = target.program or load_program(DEFAULT_PROGRAM)

    def body(deployment: Deployment) -> Result:
        started = time.perf_counter()
        try:
            outputs = run_program(
                program,
                deployment,
                project=target.config.project,
                stack=target.config.stack,
                config=target.config.values,
                secret_keys=target.config.secret_keys,
                workers=target.workers,
            )
        except StepError as exc:
            # The SDK re-raises whichever failed registration it awaits last; report the cause.
            raise (deployment.first_error or exc) from None
        deployment.finish_up(target.workers)
        elapsed = time.perf_counter() - started
        return Result(deployment.summary, deployment.state, elapsed, outputs=outputs)

    return _run(target, body)


def refresh(target: Target) -> Result:
    """`Read` every recorded resource and record what Twilio has now."""

    def body(deployment: Deployment) -> Result:
        started = time.perf_counter()
        changes = deployment.refresh(target.workers)
        elapsed = time.perf_counter() - started
        return Result(deployment.summary, deployment.state, elapsed, refresh_changes=changes)

    return _run(target, body)


def destroy(target: Target) -> Result:
    """Delete every recorded resource, dependents first."""

    def body(deployment: Deployment) -> Result:
        started = time.perf_counter()
        deployment.destroy(target.workers)
        return Result(deployment.summary, deployment.state, time.perf_counter() - started)

    return _run(target, body)


def unprotect(state_path: Path, project: str, stack: str) -> int:
    """Clear `protect` on every recorded resource (the offline `pulumi state unprotect --all`)."""
    state = load_state(state_path, project, stack)
    changed = 0
    for record in state.resources.values():
        if record.protect:
            record.protect = False
            changed += 1
    save_state(state_path, state)
    return changed
