"""What the voice policies need to know about a resource: its environment and its flows."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pulumi

from infra.kinds import kind_of_type
from infra.spec.stackfile import config_key
from webhook_app.routes import ROUTES

LOCAL_ENVIRONMENTS = ("local",)
PRODUCTION_ENVIRONMENTS = ("prod", "production")

# Props that hold webhook URLs on numbers, applications, SIP domains, BYOC trunks and trunks.
URL_PROPS = (
    "voice_url",
    "voice_fallback_url",
    "status_callback",
    "status_callback_url",
    "voice_status_callback_url",
    "disaster_recovery_url",
)


# The kind of a resource type (`pulumi-python:dynamic/twilio:Trunk` -> `Trunk`), from infra.kinds.
twilio_kind = kind_of_type


def stack_of(urn: str) -> str | None:
    """The stack from a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`)."""
    if not urn.startswith("urn:pulumi:"):
        return None
    stack = urn[len("urn:pulumi:") :].split("::", 1)[0]
    return stack or None


def environment(config: Mapping[str, Any], urn: str | None) -> str:
    """Policy config `environment` wins; then the stack in the URN; then PULUMI_STACK."""
    configured = config.get("environment")
    if isinstance(configured, str) and configured:
        return configured
    return (stack_of(urn) if urn else None) or os.environ.get("PULUMI_STACK", "")


def _names(config: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = config.get(key)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return default


def is_local(config: Mapping[str, Any], urn: str | None) -> bool:
    return environment(config, urn) in _names(config, "localEnvironments", LOCAL_ENVIRONMENTS)


def is_production(config: Mapping[str, Any], urn: str | None) -> bool:
    env = environment(config, urn)
    return env in _names(config, "productionEnvironments", PRODUCTION_ENVIRONMENTS)


def names(config: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list-of-strings policy config value, or `default`."""
    return _names(config, key, default)


def flow_of(url: Any) -> str | None:
    """The webhook app flow a URL points at (by route path), if any."""
    if not isinstance(url, str) or not url:
        return None
    path = urlsplit(url).path.rstrip("/")
    for route in ROUTES:
        if route.twilio and path.endswith(route.path):
            return route.flow
    return None


def sip_params(uri: str) -> dict[str, str]:
    """`;key=value` parameters of a SIP URI (`sip:host:5061;transport=tls;edge=ashburn`)."""
    params = uri.split(";")[1:]
    return {k.lower(): v for k, v in parse_qsl("&".join(params), keep_blank_values=True)}


def spec_edge(project: str = "twilio-voice") -> str | None:
    """The stack spec's `edge`, when the engine passed the stack config to the analyzer."""
    raw = pulumi.runtime.get_config(config_key(project))
    if not isinstance(raw, str):
        return None
    try:
        spec = json.loads(raw)
    except ValueError:
        return None
    edge = spec.get("edge") if isinstance(spec, dict) else None
    return edge if isinstance(edge, str) and edge else None
