"""Fixtures: a fresh in-process emulator per test and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator, running_emulator


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        yield running


@pytest.fixture
def client(emu: RunningEmulator) -> Any:
    return emu.client()


@pytest.fixture
def account(client: Any, emu: RunningEmulator) -> Any:
    return client.api.v2010.accounts(emu.account_sid)
