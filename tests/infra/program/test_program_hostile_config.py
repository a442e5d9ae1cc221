"""The engine hands the program the spec as JSON: unreadable JSON stops the run in one line.

Pulumi's own `ConfigTypeError` repeats the whole value, decrypted secrets included, so a spec
nested too deeply for Python's JSON reader (go-yaml lets 10,000 levels through) or holding a
4,400-digit integer must end in a short message instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

pytestmark = pytest.mark.xdist_group("pulumi-mocks")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ("7" * 4400, "more than 4,300 digits"),
    ],
    ids=["deep-nesting", "4400-digit-integer"],
)
def test_unreadable_spec_json_stops_the_run_without_repeating_it(
    run_config: Callable[..., Any], stack_config: Callable[[str], Any], value: str, reason: str
) -> None:
    config = stack_config("prod")
    env = json.loads(config.values["twilio-voice:environment"])
    secret = env["credential_lists"][0]["credentials"][0]["password"]
    text = json.dumps(env)[:-1] + f', "edge": {value}}}'
    values = {**config.values, "twilio-voice:environment": text}
    broken = type(config)(values=values, secret_keys=config.secret_keys, secrets=config.secrets)
    with pytest.raises(pulumi.RunError) as caught:
        run_config("prod", broken)
    message = str(caught.value)
    assert message.startswith("prod: twilio-voice:environment cannot be read: ")
    assert reason in message
    assert len(message) < 300
    assert secret not in message
