"""Provider tests: the real provider classes over real HTTP against an in-process emulator."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.client import RetryPolicy, TwilioApi, resolve_credentials
from infra.resources import PROVIDERS
from infra.resources.base import TwilioProvider


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A fresh emulator; the TWILIO_* environment points the providers at it."""
    with running_emulator() as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        yield running


class Sleeps:
    """Injected sleep: records delays, never waits, and can run a hook (e.g. clear faults)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.hook: Callable[[], None] | None = None
        self.now = 0.0

    def clock(self) -> float:
        """Fake monotonic time: only the injected sleeps advance it."""
        return self.now

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds
        if self.hook is not None:
            self.hook()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def provider(sleeps: Sleeps) -> Callable[[str], TwilioProvider[Any]]:
    """Make the provider of a kind whose client never really sleeps between retries."""

    def make(kind: str, policy: RetryPolicy | None = None) -> TwilioProvider[Any]:
        instance = PROVIDERS[kind]()
        apis: dict[str, TwilioApi] = {}

        def factory(config: Mapping[str, Any]) -> TwilioApi:
            creds = resolve_credentials(config, os.environ)
            if creds.cache_key not in apis:
                apis[creds.cache_key] = TwilioApi(
                    creds, policy, sleep=sleeps, jitter=lambda c: c, clock=sleeps.clock
                )
            return apis[creds.cache_key]

        instance.api_factory = factory  # type: ignore[method-assign]
        return instance

    return make


@pytest.fixture
def client(emu: RunningEmulator) -> Any:
    """An SDK client on the emulator, for building parents and checking results."""
    return emu.client()
