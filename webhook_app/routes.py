"""The app's route table: flow name -> path and HTTP methods.

This table is data on purpose: `infra.urls` joins a stack's `public_base_url` with these paths,
so a resource can only point at a route the app really serves. Flow names are part of the
stack-config contract (`flow: ivr_main`); renaming one is a breaking change for every stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """One webhook route: where Twilio sends the request and with which methods."""

    flow: str
    path: str
    methods: tuple[str, ...] = ("POST",)
    twilio: bool = True  # validated with X-Twilio-Signature


ROUTES: tuple[Route, ...] = (
    Route("ivr_main", "/voice/inbound"),
    Route("ivr_menu", "/voice/menu"),
    Route("sip_inbound", "/voice/sip/inbound"),
    Route("dial_status", "/voice/dial/status"),  # <Dial action>: DialCallStatus -> next step
    Route("byoc_inbound", "/voice/byoc/inbound"),
    Route("conference_transfer", "/voice/transfer"),
    Route("voicemail", "/voice/voicemail"),
    Route("voicemail_done", "/voice/voicemail/done"),  # <Record action> after the message
    Route("voice_fallback", "/voice/fallback"),
    Route("trunk_disaster_recovery", "/voice/trunk/disaster-recovery"),
    Route("call_status", "/voice/status"),
    Route("recording_status", "/voice/recording/status"),
    Route("healthz", "/healthz", ("GET",), twilio=False),
    Route("metrics", "/metrics", ("GET",), twilio=False),
)

ROUTES_BY_FLOW: dict[str, Route] = {r.flow: r for r in ROUTES}
