"""Program-test fixtures: one mocked run of the program per example stack (tests/program_mocks)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from program_mocks import STACKS, EngineConfig, ProgramRun, engine_config, run_program

_RUNS: dict[str, ProgramRun] = {}


def program_run(stack: str) -> ProgramRun:
    """The stack's mocked run, once per test process (the runs are plain data afterwards)."""
    if stack not in _RUNS:
        _RUNS[stack] = run_program(stack)
    return _RUNS[stack]


@pytest.fixture(params=STACKS)
def run(request: pytest.FixtureRequest) -> ProgramRun:
    """One mocked run of the program per stack: local, dev, prod."""
    return program_run(request.param)


@pytest.fixture
def run_stack() -> Callable[[str], ProgramRun]:
    return program_run


@pytest.fixture
def run_config() -> Callable[[str, EngineConfig], ProgramRun]:
    """Run the program for `stack` with a hand-made config (not cached)."""
    return lambda stack, config: run_program(stack, config)


@pytest.fixture
def stack_config() -> Callable[[str], EngineConfig]:
    return engine_config
