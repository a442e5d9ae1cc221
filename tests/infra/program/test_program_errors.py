"""What the program does with a spec it cannot build: stop with the fix, before any resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from infra.environment import SpecGraphError, VoiceEnvironment
from infra.spec import Environment, SpecContext

pytestmark = pytest.mark.xdist_group("pulumi-mocks")


def with_env(config: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    env = json.loads(config.values["twilio-voice:environment"])
    change(env)
    values = {**config.values, "twilio-voice:environment": json.dumps(env)}
    return type(config)(values=values, secret_keys=config.secret_keys, secrets=config.secrets)


def test_invalid_spec_stops_the_run_with_stack_and_path(
    run_config: Callable[..., Any], stack_config: Callable[[str], Any]
) -> None:
    def break_it(env: dict[str, Any]) -> None:
        env["numbers"][0]["flow"] = "no_such_flow"

    config = with_env(stack_config("dev"), break_it)
    with pytest.raises(pulumi.RunError) as caught:
        run_config("dev", config)
    message = str(caught.value)
    assert "dev: numbers[0].flow" in message
    assert "no_such_flow" in message
    assert "Traceback" not in message


def test_secret_leaves_never_reach_the_error(
    run_config: Callable[..., Any], stack_config: Callable[[str], Any]
) -> None:
    config = stack_config("prod")

    def weaken(env: dict[str, Any]) -> None:
        env["credential_lists"][0]["credentials"][0]["password"] = "weakpass7"

    with pytest.raises(pulumi.RunError) as caught:
        run_config("prod", with_env(config, weaken))
    message = str(caught.value)
    assert "prod: credential_lists[0].credentials[0].password" in message
    assert "weakpass7" not in message


def test_domain_byoc_cycle_is_refused(stack_config: Callable[[str], Any]) -> None:
    raw = json.loads(stack_config("local").values["twilio-voice:environment"])
    domain = raw["byoc_trunks"][0]["from_domain"]
    next(d for d in raw["sip_domains"] if d["name"] == domain)["byoc_trunk"] = raw["byoc_trunks"][
        0
    ]["name"]
    # model only (no cross-tree rules): the program must refuse the cycle on its own
    env = Environment.model_validate(raw, context=SpecContext(stack="local"))
    pulumi.runtime.set_mocks(_Echo(), project="twilio-voice", stack="local", preview=False)

    @pulumi.runtime.test  # type: ignore[misc]
    def build() -> None:
        VoiceEnvironment("voice", env)

    with pytest.raises(SpecGraphError, match="reference cycle") as caught:
        build()
    assert "byoc_trunk" in str(caught.value)
    assert "from_domain" in str(caught.value)


class _Echo(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"mock-sid:{args.name}", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}
