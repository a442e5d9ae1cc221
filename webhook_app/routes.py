"""The app's route table: flow name -> path and HTTP methods.

This table is data on purpose: `infra.urls` joins a stack's `public_base_url` with these paths,
so a resource can only point at a route the app really serves. Flow names are part of the
stack-config contract (`flow: ivr_main`); renaming one is a breaking change for every stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

# twiml: answers a call (a voice, fallback or disaster-recovery URL may point here);
# action: continues a flow the app's own TwiML started (<Gather>/<Dial>/<Record> action);
# status_callback: takes call progress events (a resource's or a call's statusCallback URL);
# conference_callback: takes the app's own conference rooms' statusCallback events;
# recording_callback: takes recording events (the app's own recordingStatusCallback);
# operational: for monitoring, not for Twilio (no signature).
RouteKind = Literal[
    "twiml", "action", "status_callback", "conference_callback", "recording_callback", "operational"
]


@dataclass(frozen=True)
class Route:
    """One webhook route: where Twilio sends the request, with which methods, and what for."""

    flow: str
    path: str
    methods: tuple[str, ...] = ("POST",)
    kind: RouteKind = "twiml"

    @property
    def twilio(self) -> bool:
        """Twilio calls it, so it is validated with X-Twilio-Signature."""
        return self.kind != "operational"


ROUTES: tuple[Route, ...] = (
    Route("ivr_main", "/voice/inbound"),
    Route("ivr_menu", "/voice/menu", kind="action"),
    Route("sip_inbound", "/voice/sip/inbound"),
    # <Dial action>: DialCallStatus -> the next step
    Route("dial_status", "/voice/dial/status", kind="action"),
    Route("byoc_inbound", "/voice/byoc/inbound"),
    Route("conference_transfer", "/voice/transfer"),
    Route("voicemail", "/voice/voicemail"),
    # <Record action>: after the message
    Route("voicemail_done", "/voice/voicemail/done", kind="action"),
    Route("voice_fallback", "/voice/fallback"),
    Route("trunk_disaster_recovery", "/voice/trunk/disaster-recovery"),
    # An outbound call (REST, with machine detection): AnsweredBy -> voicemail drop, IVR, hang up
    Route("outbound_call", "/voice/outbound"),
    Route("call_status", "/voice/status", kind="status_callback"),
    # the warm-transfer rooms' statusCallback (twiml/conference_leg.xml): conference events
    # The app's own conference legs point here; a call's status callback never may.
    Route("conference_status", "/voice/conference/status", kind="conference_callback"),
    Route("recording_status", "/voice/recording/status", kind="recording_callback"),
    Route("healthz", "/healthz", ("GET",), kind="operational"),
    Route("metrics", "/metrics", ("GET",), kind="operational"),
)

ROUTES_BY_FLOW: dict[str, Route] = {r.flow: r for r in ROUTES}


def join_url(base: str, path: str) -> str:
    """`https://h/prefix/` + `/voice/x` -> `https://h/prefix/voice/x` (no double slashes).

    The one join of a public base URL and a route path: `infra.urls` configures Twilio with
    it, and the app checks X-Twilio-Signature against the URL it gives (`webhook_app.app`).
    """
    parts = urlsplit(base)
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, joined, "", ""))


def url_for(flow: str, base: str) -> str:
    """The URL of `flow`'s route under the public base URL `base` (KeyError: no such flow)."""
    return join_url(base, ROUTES_BY_FLOW[flow].path)
