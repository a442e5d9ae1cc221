"""The Pulumi program: stack config -> environment spec -> `VoiceEnvironment` -> stack outputs.

`infra/__main__.py` calls `main()` when the Pulumi engine runs the program. It also runs under
`pulumi.runtime.set_mocks` (the program tests and the offline apply harness), so it does nothing
but read config, register resources and export.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra import spec
from infra.environment import VoiceEnvironment
from infra.resources.call_flows import RESOURCE_NAME, CallFlows, call_flows_args, stack_hash
from infra.urls import entry_webhooks

CONFIG_KEY = "environment"  # `twilio-voice:environment` in Pulumi.<stack>.yaml
COMPONENT_NAME = "voice"


def number_routing(number: spec.PhoneNumber) -> str:
    """How calls to a number are routed: `call_flow:<flow>`, `flow:<route flow>`,
    `application:<name>`, `trunk:<name>` or `external:<url>`."""
    if number.call_flow:
        return f"call_flow:{number.call_flow}"
    if number.application:
        return f"application:{number.application}"
    if number.trunk:
        return f"trunk:{number.trunk}"
    if number.external_url:
        return f"external:{number.external_url}"
    return f"flow:{number.flow}"


def spec_outputs(env: spec.Environment) -> dict[str, Any]:
    """The stack outputs that follow from the spec alone (no SIDs)."""
    return {
        "account_sid": env.credentials.account_sid,
        "edge": env.edge,
        "region": env.region,
        "public_base_url": env.public_base_url,
        "sip_domain_uris": {d.name: f"sip:{d.domain_name}" for d in env.sip_domains},
        "trunk_termination_uris": {t.name: t.domain_name for t in env.trunks},
        "number_routing": {n.e164: number_routing(n) for n in env.numbers},
        # The voice URL of each number on one of the app's flows (a route or a call flow).
        "number_flow_urls": {
            n.e164: hook.url
            for n in env.numbers
            if (n.flow or n.call_flow)
            and (hook := entry_webhooks(env.public_base_url, "numbers", n).voice) is not None
        },
        # What the app's /healthz reports when it serves `twilio-voice app-config` of this stack
        # (the built-in flow's hash with the stack's countries when it declares no call_flows).
        "call_flows_hash": stack_hash(env),
    }


def stack_outputs(env: spec.Environment, component: VoiceEnvironment) -> dict[str, Any]:
    """Everything an operator needs after `pulumi up`: URIs, routing, SIDs, edge/region."""
    return {
        **spec_outputs(env),
        "byoc_trunk_sids": component.byoc_trunk_sids,
        "sip_domain_sids": component.sip_domain_sids,
        "trunk_sids": component.trunk_sids,
        "number_sids": component.number_sids,
    }


def load_from_config() -> spec.Environment:
    """Read and validate `twilio-voice:environment`; a bad spec stops the run with its message."""
    config = pulumi.Config()
    full_key = f"{config.name}:{CONFIG_KEY}"
    try:
        raw = config.require_object(CONFIG_KEY)
    except pulumi.ConfigTypeError as err:
        # Pulumi's message repeats the whole value (decrypted secrets too); say only why.
        cause = err.__cause__
        reason = "nested too deeply" if isinstance(cause, RecursionError) else "not valid JSON"
        if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
            reason = "an integer has more than 4,300 digits"
        raise pulumi.RunError(
            f"{pulumi.get_stack()}: {full_key} cannot be read: {reason}; check it with "
            f"`python -m infra validate --stack {pulumi.get_stack()}`"
        ) from None
    try:
        return spec.load_environment(
            raw,
            stack=pulumi.get_stack(),
            secrets_decrypted=pulumi.runtime.is_config_secret(full_key),
        )
    except spec.SpecError as err:
        # RunError prints the message without a Python traceback: the message is the fix.
        raise pulumi.RunError(str(err)) from None


def register_call_flows(env: spec.Environment, component: VoiceEnvironment) -> CallFlows | None:
    """The stack's call flows as state (one `CallFlows`, under the component), when declared."""
    args = call_flows_args(env)
    if args is None:
        return None
    return CallFlows(RESOURCE_NAME, args, pulumi.ResourceOptions(parent=component))


def main() -> dict[str, Any]:
    """Register the stack's resources and export its outputs; returns the outputs."""
    env = load_from_config()
    component = VoiceEnvironment(COMPONENT_NAME, env)
    register_call_flows(env, component)
    outputs = stack_outputs(env, component)
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
