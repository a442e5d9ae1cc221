"""Flow name -> webhook URL and method, from the app's route table (`webhook_app.routes`).

Resources never carry hand-typed URLs: they name a flow, and these helpers join the stack's
`public_base_url` with the route the app serves for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from webhook_app.routes import ROUTES_BY_FLOW, Route, url_for

# The one join of base URL and route path; the app checks signatures against the same URL.
from webhook_app.routes import join_url as join_url


class UnknownFlowError(ValueError):
    """A flow that is not a Twilio webhook route of the app."""


@dataclass(frozen=True)
class Webhook:
    """Where Twilio sends a request for one flow, and how."""

    url: str
    method: str


@dataclass(frozen=True)
class VoiceWebhooks:
    """The voice URLs of one resource (number, application, SIP domain, BYOC trunk)."""

    voice: Webhook | None
    fallback: Webhook | None
    status_callback: Webhook | None


class RoutesCalls(Protocol):
    """A resource that names flows for its voice, fallback and status callback URLs."""

    @property
    def flow(self) -> str | None: ...
    @property
    def call_flow(self) -> str | None: ...
    @property
    def fallback_flow(self) -> str | None: ...
    @property
    def status_callback_flow(self) -> str | None: ...


class HasDisasterRecovery(Protocol):
    @property
    def disaster_recovery_flow(self) -> str | None: ...


def route_for(flow: str, routes: Mapping[str, Route] = ROUTES_BY_FLOW) -> Route:
    """The Twilio-facing route of `flow`; raises `UnknownFlowError` naming the valid flows."""
    route = routes.get(flow)
    if route is None or not route.twilio:
        valid = ", ".join(sorted(f for f, r in routes.items() if r.twilio))
        raise UnknownFlowError(f"unknown flow {flow!r}; use one of: {valid}")
    return route


def webhook_url(base: str, flow: str) -> str:
    """The URL Twilio calls for `flow` on the app at `base`."""
    route_for(flow)  # a Twilio-facing flow, or UnknownFlowError naming the valid ones
    return url_for(flow, base)


def webhook(base: str, flow: str) -> Webhook:
    """URL and HTTP method (POST when the route accepts it) for `flow`."""
    route = route_for(flow)
    method = "POST" if "POST" in route.methods else route.methods[0]
    return Webhook(url_for(flow, base), method)


def optional_webhook(base: str, flow: str | None) -> Webhook | None:
    return None if flow is None else webhook(base, flow)


# The route a resource naming a `call_flow` enters, per spec list: its voice URL is this route
# with `?flow=<name>`.
CALL_FLOW_ROUTES: dict[str, str] = {
    "numbers": "ivr_main",
    "applications": "ivr_main",
    "sip_domains": "sip_inbound",
    "byoc_trunks": "byoc_inbound",
}


def with_call_flow(hook: Webhook | None, call_flow: str | None) -> Webhook | None:
    """`hook` with `?flow=<call_flow>` appended (unchanged without a call flow)."""
    if hook is None or call_flow is None:
        return hook
    return Webhook(f"{hook.url}?{urlencode({'flow': call_flow})}", hook.method)


def call_flow_url(base: str, entry_route: str, call_flow: str) -> str:
    """`https://h/voice/inbound?flow=main`: route `entry_route` entering call flow `call_flow`."""
    hook = with_call_flow(webhook(base, entry_route), call_flow)
    assert hook is not None
    return hook.url


def entry_webhooks(base: str, key: str, resource: RoutesCalls) -> VoiceWebhooks:
    """The webhooks of an entry point of spec list `key` (`numbers`, `applications`,
    `sip_domains`, `byoc_trunks`): with its `call_flow`, the kind's route and `?flow=`."""
    return voice_webhooks(base, resource, CALL_FLOW_ROUTES[key])


def voice_webhooks(
    base: str, resource: RoutesCalls, entry_route: str = "ivr_main"
) -> VoiceWebhooks:
    """Voice, fallback and status callback webhooks of a number, app, SIP domain or BYOC trunk.

    A resource may name an explicit external target instead of a flow (`external_url` with
    `external_method`, `fallback_external_url`, `status_callback_external_url`: a Studio flow,
    a Function, a third-party URL); those are used as declared (POST for the last two).
    A resource naming a `call_flow` gets `entry_route` (`CALL_FLOW_ROUTES`) with
    `?flow=<name>` as its voice URL, and its fallback URL carries the same `?flow=` (so the
    fallback speaks with the flow's voice); the status callback does not.
    """

    def external(name: str, method: str = "POST") -> Webhook | None:
        url: str | None = getattr(resource, name, None)
        return Webhook(url, method) if url else None

    call_flow = getattr(resource, "call_flow", None)
    voice = optional_webhook(base, resource.flow)
    if call_flow is not None:
        voice = with_call_flow(webhook(base, entry_route), call_flow)
    return VoiceWebhooks(
        voice=voice or external("external_url", getattr(resource, "external_method", "POST")),
        fallback=with_call_flow(optional_webhook(base, resource.fallback_flow), call_flow)
        or external("fallback_external_url"),
        status_callback=optional_webhook(base, resource.status_callback_flow)
        or external("status_callback_external_url"),
    )


def disaster_recovery_webhook(base: str, trunk: HasDisasterRecovery) -> Webhook | None:
    """The disaster-recovery URL and method of an Elastic SIP trunk, if it declares one."""
    return optional_webhook(base, trunk.disaster_recovery_flow)


def voice_props(
    base: str,
    resource: RoutesCalls,
    status: str = "status_callback",
    entry_route: str = "ivr_main",
) -> dict[str, str | None]:
    """Provider props for the voice hooks: URL + method each, None when the flow is unset.

    `status` names the status-callback URL field, which differs per kind (`status_callback`
    on numbers and apps, `voice_status_callback_url` on SIP domains, `status_callback_url` on
    BYOC trunks); `entry_route` is the route a `call_flow` enters (`CALL_FLOW_ROUTES`). The
    program and drift detection both use this, so they agree on the props.
    """
    hooks = voice_webhooks(base, resource, entry_route)
    props: dict[str, str | None] = {}
    for url_key, method_key, hook in (
        ("voice_url", "voice_method", hooks.voice),
        ("voice_fallback_url", "voice_fallback_method", hooks.fallback),
        (status, f"{status.removesuffix('_url')}_method", hooks.status_callback),
    ):
        props[url_key] = hook.url if hook else None
        props[method_key] = hook.method if hook else None
    return props


def disaster_recovery_props(base: str, trunk: HasDisasterRecovery) -> dict[str, str | None]:
    """Provider props for a trunk's disaster-recovery hook (URL + method, None when unset)."""
    hook = disaster_recovery_webhook(base, trunk)
    return {
        "disaster_recovery_url": hook.url if hook else None,
        "disaster_recovery_method": hook.method if hook else None,
    }


# The name the Pulumi program and the local job use; same function.
flow_url = webhook_url
