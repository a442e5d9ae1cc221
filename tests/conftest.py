"""Suite-wide fixtures."""

from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import HealthCheck, settings

# No property test is a timing test: a loaded 2-core runner must not turn a slow example into a
# failure. In CI the examples are derived from each test's name, so a red run is reproducible;
# local runs keep exploring new examples.
settings.register_profile(
    "suite",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI", "").lower() == "true",
    print_blob=True,
)
settings.load_profile("suite")

# The developer's (or runner's) Twilio account, routing and app settings. Tests run offline
# against the emulator and must never pick these up: an exported TWILIO_EDGE rewrites the
# emulator's hosts, an exported TWILIO_API_KEY outranks the emulator's auth token. Harness
# switches (TWILIO_OAI_DIR, TWILIO_EMULATOR_RECORD, VOICE_TEST_REDIS_URL, CI) are kept.
_HARNESS_VARIABLES = frozenset({"TWILIO_OAI_DIR", "TWILIO_EMULATOR_RECORD"})
_DEVELOPER_PREFIXES = ("TWILIO_", "PUBLIC_BASE_URL", "VOICE_STORE_URL", "VOICE_SETTINGS")
_APP_VARIABLES = ("PORT", "HOST", "LOG_LEVEL", "TRUSTED_PROXY_HOPS")


# prometheus_client picks multiprocess mode when it is first imported, which the folder
# conftests (loaded after this one, before any fixture) already do: drop the switch now.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
os.environ.pop("prometheus_multiproc_dir", None)


@pytest.fixture(autouse=True)
def _no_developer_twilio_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the shell's Twilio credentials, edge, region or app settings."""
    for name in list(os.environ):
        if name.startswith(_DEVELOPER_PREFIXES) and name not in _HARNESS_VARIABLES:
            monkeypatch.delenv(name)
    for name in _APP_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _main_thread_event_loop() -> None:
    """Give every test a main-thread event loop, as a fresh `pulumi up` process has.

    Pulumi's runtime (`set_mocks`, `Output`) calls `asyncio.get_event_loop()`; once any earlier
    test in the same xdist worker ran `asyncio.run()` or set the loop to None, that call raises
    "There is no current event loop", and the failure would depend on test order.
    """
    policy = asyncio.get_event_loop_policy()
    try:
        policy.get_event_loop()
    except RuntimeError:
        policy.set_event_loop(policy.new_event_loop())
