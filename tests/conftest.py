"""Suite-wide fixtures."""

from __future__ import annotations

import asyncio

import pytest


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
