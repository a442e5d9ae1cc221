"""Call-flow handlers: one per route of the table, each ``CallRequest -> Twiml``.

Handlers only see requests whose signature was already checked (``app.py``); they decide with
the pure helpers (``ivr``, ``addresses``) and keep state through the injected store. The IVR
keeps none there: its retry count travels in the signed ``<Gather action>`` URL.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest

from webhook_app import ivr
from webhook_app.addresses import (
    called_number,
    conference_room,
    dialable_number,
    mask_phone,
    sip_user,
)
from webhook_app.dialing import refusal
from webhook_app.logs import LOGGER_NAME
from webhook_app.metrics import Metrics
from webhook_app.rendering import Renderer, Twiml, route_urls
from webhook_app.routes import url_for
from webhook_app.settings import MenuOption, Settings
from webhook_app.store import CallEvent, IvrSession, RecordingJob, Store, StoreError

CONFERENCE_LEGS = ("customer", "agent", "supervisor")
_ACK = Twiml("ack", b"", status=204)  # callbacks: Twilio ignores the body
# Metric labels take only known values, so signed-but-odd input cannot grow the label set.
_DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
_RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
# The IVR's query parameter: reprompts played so far (`/voice/menu?retries=2`). Twilio signs the
# whole action URL, so a caller cannot change it, and no store write can be lost on the way.
RETRIES_PARAM = "retries"
_FAILED_CALL_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})
# Answering-machine detection's verdicts (AnsweredBy): Enable answers machine_start as soon as
# it hears a machine; DetectMessageEnd waits for the greeting's end (beep, silence, other).
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"}
)
_CALL_STATUSES = _FAILED_CALL_STATUSES | {
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
}


def _label(value: str, known: frozenset[str]) -> str:
    return value if value in known else "other"


def error_code_label(code: str) -> str:
    """An error code as a metric label: up to five ASCII digits, else "other"; "none" if empty.

    Twilio's codes have five digits (11200), SIP's three (486): anything else, even signed,
    must not grow the label set.
    """
    if not code:
        return "none"
    return code if len(code) <= 5 and code.isascii() and code.isdigit() else "other"


@dataclass(frozen=True)
class CallRequest:
    """A validated Twilio request: its flow, the POSTed parameters and our own query string."""

    flow: str
    params: Mapping[str, str]
    query: Mapping[str, str]

    @property
    def call_sid(self) -> str:
        return self.params.get("CallSid", "")

    def require(self, name: str) -> str:
        """A parameter Twilio always sends on this route; missing means malformed (400)."""
        value = self.params.get(name, "")
        if not value:
            raise BadRequest(f"{self.flow}: the {name} parameter is missing")
        return value


Handler = Callable[[CallRequest], Twiml]


class Flows:
    """The call flows configured by ``settings``; state goes through ``store``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        renderer: Renderer,
        metrics: Metrics,
        logger: logging.Logger | None = None,
    ) -> None:
        self._s = settings
        self._f = settings.flows
        self._menu = settings.flows.menu
        self._store = store
        self._urls = route_urls(settings.public_base_url)
        self._render = functools.partial(renderer.render, urls=self._urls)
        self._outcome = metrics.outcomes
        self._fallbacks = metrics.fallbacks
        self._failures = metrics.call_failures
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._recording_callback = url_for("recording_status", settings.public_base_url)
        self._conference_callback = url_for("conference_status", settings.public_base_url)
        self._prompted = self._outcome.labels("ivr_main", "prompted")
        # TwiML that depends on the settings only is rendered once, here: a call reuses it
        # (Jinja costs ~100 µs a page), and a template that cannot render fails at start-up.
        self._fixed = self._settings_only_twiml()
        if settings.caller_id is None:
            self._log.warning(
                "TWILIO_CALLER_ID is not set: a call from a SIP endpoint dialled out to a phone "
                "number (sip_inbound, pstn_fallback) has no valid caller ID and Twilio refuses "
                "it; set TWILIO_CALLER_ID to one of the account's numbers",
                extra={"setting": "TWILIO_CALLER_ID"},
            )

    def _menu_url(self, retries: int) -> str:
        return f"{self._urls['ivr_menu']}?{urlencode({RETRIES_PARAM: retries})}"

    def _dial_status_url(self, then: str, **extra: str) -> str:
        return f"{self._urls['dial_status']}?{urlencode({'then': then, **extra})}"

    def _settings_only_twiml(self) -> dict[str, Twiml]:
        menu, f = self._menu, self._f
        # Both the fallback and the exhausted IVR ring the operator the same way.
        operator = {
            "menu": menu,
            "number": f.operator_number,
            "caller_id": self._s.caller_id,
            "timeout": f.dial_timeout,
        }
        fixed = {
            "ivr_main": self._render("ivr_main", menu=menu),
            "goodbye": self._render("ivr_goodbye", menu=menu, message=menu.goodbye),
            "call_completed": self._render("call_completed"),
            "call_rejected": self._render("call_rejected"),
            "dial_no_answer": self._render(
                "dial_no_answer", menu=menu, message=f.no_answer_message
            ),
            "voicemail": self._render(
                "voicemail_prompt",
                menu=menu,
                message=f.voicemail_prompt,
                max_length=f.voicemail_max_seconds,
                recording_callback=self._recording_callback,
            ),
            "voicemail_done": self._render("voicemail_done", menu=menu, message=f.voicemail_thanks),
            "dial_refused": self._render("ivr_goodbye", menu=menu, message=f.dial_refused_message),
            "voicemail_drop": self._render(
                "voicemail_drop",
                menu=menu,
                message=f.voicemail_drop_message,
                url=f.voicemail_drop_url,
            ),
            "voice_fallback": self._render(
                "voice_fallback", message=f.fallback_message, **operator
            ),
        }
        # A reprompt's Gather action carries its retry count: one page per count.
        for retries in range(1, menu.max_retries + 1):
            action = self._menu_url(retries)
            for kind, message in (("invalid", menu.invalid), ("timeout", menu.reprompt_no_input)):
                fixed[f"reprompt_{kind} {retries}"] = self._render(
                    "ivr_reprompt", menu=menu, message=message, action=action
                )
        # Where retries run out: the operator when there is one, else goodbye.
        fixed["operator_or_goodbye"] = (
            self._render("dial_operator", message=menu.transferring, **operator)
            if f.operator_number
            else fixed["goodbye"]
        )
        if f.disaster_recovery_number:
            fixed["disaster_recovery"] = self._render(
                "trunk_disaster_recovery",
                number=f.disaster_recovery_number,
                caller_id=self._s.caller_id,
                timeout=f.dial_timeout,
                action=self._dial_status_url("voicemail"),
            )
        for option in menu.options:  # every option but the conference (its room is per call)
            if option.action == "dial":
                fixed[f"option {option.digit}"] = self._dial_number(option.target, "voicemail")
            elif option.action == "sip":
                fixed[f"option {option.digit}"] = self._dial_sip_user(option.target)
        return fixed

    def handlers(self) -> dict[str, Handler]:
        """Flow name -> handler, for every Twilio route of the table."""
        return {
            "ivr_main": self.ivr_main,
            "ivr_menu": self.ivr_menu,
            "sip_inbound": self.sip_inbound,
            "dial_status": self.dial_status,
            "byoc_inbound": self.byoc_inbound,
            "conference_transfer": self.conference_transfer,
            "voicemail": self.voicemail,
            "voicemail_done": self.voicemail_done,
            "voice_fallback": self.voice_fallback,
            "trunk_disaster_recovery": self.trunk_disaster_recovery,
            "outbound_call": self.outbound_call,
            "call_status": self.call_status,
            "conference_status": self.conference_status,
            "recording_status": self.recording_status,
        }

    # --- IVR -------------------------------------------------------------------------------

    def ivr_main(self, req: CallRequest) -> Twiml:
        """The menu prompt: its ``<Gather action>`` names no retries (none used yet)."""
        req.require("CallSid")
        self._prompted.inc()
        return self._fixed["ivr_main"]

    def ivr_menu(self, req: CallRequest) -> Twiml:
        """One answer to the menu: route, reprompt, or give up (operator or goodbye).

        Stateless: the reprompts played so far come from this request's URL
        (``?retries=N``, written into the ``<Gather action>`` by the previous reprompt and
        signed by Twilio with the rest of the URL), so no store can lose them and a caller
        cannot be held in reprompts forever.
        """
        req.require("CallSid")
        event, option = ivr.classify(
            self._menu, req.params.get("Digits", ""), req.params.get("SpeechResult", "")
        )
        session = IvrSession(ivr.State.MENU, self._retries(req))
        move = ivr.advance(session, event, option, self._menu)
        self._outcome.labels("ivr_menu", move.step.value).inc()
        if move.step is ivr.Step.ROUTE and move.option is not None:
            return self._route_option(move.option, req)
        if move.step is ivr.Step.REPROMPT_INVALID:
            return self._fixed[f"reprompt_invalid {move.session.retries}"]
        if move.step is ivr.Step.REPROMPT_TIMEOUT:
            return self._fixed[f"reprompt_timeout {move.session.retries}"]
        return self._operator_or_goodbye()

    def _retries(self, req: CallRequest) -> int:
        """Reprompts played so far, from ``?retries=``; none means the first answer.

        A value this app never writes (not a small number) counts as retries used up: the
        call goes toward a person rather than into a loop. Above ``max_retries`` (the setting
        was lowered mid-call) it is ``max_retries``.
        """
        text = req.query.get(RETRIES_PARAM, "")
        if not text:
            return 0
        if text.isascii() and text.isdigit() and len(text) <= 3:
            return min(int(text), self._menu.max_retries)
        return self._menu.max_retries

    def _operator_or_goodbye(self) -> Twiml:
        return self._fixed["operator_or_goodbye"]

    def _route_option(self, option: MenuOption, req: CallRequest) -> Twiml:
        if option.action in ("dial", "sip"):
            return self._fixed[f"option {option.digit}"]
        if option.action == "conference":
            return self._conference("customer", conference_room(req.call_sid), req.call_sid)
        if option.action == "voicemail":
            return self.voicemail(req)
        return self._operator_or_goodbye()

    # --- dialing ---------------------------------------------------------------------------

    def _dial_number(self, number: str, then: str, **extra: str) -> Twiml:
        return self._render(
            "dial_number",
            number=number,
            caller_id=self._s.caller_id,
            timeout=self._f.dial_timeout,
            action=self._dial_status_url(then, **extra),
        )

    def _dial_sip_user(self, user: str) -> Twiml:
        account = self._f.sip_users[user]
        then = {"then": "pstn", "user": user} if account.pstn_fallback else {"then": "message"}
        return self._render(
            "dial_sip_endpoint",
            sip_uri=account.uri,
            timeout=self._f.dial_timeout,
            action=self._dial_status_url(**then),
        )

    def sip_inbound(self, req: CallRequest) -> Twiml:
        """A call to the SIP domain: dial the SIP user in ``To``, or the number it spells.

        The number is the caller's choice: premium-rate, shared-cost and non-geographic
        numbers, and countries outside ``dial_countries``, get a spoken refusal and a hang-up
        (``webhook_app.dialing``), with the reason logged.
        """
        user = sip_user(req.require("To"))
        if user is not None and user in self._f.sip_users:
            self._outcome.labels("sip_inbound", "sip_user").inc()
            return self._dial_sip_user(user)
        number = dialable_number(user, self._f.dial_region) if user is not None else None
        if number is not None:
            refused = refusal(number, self._f.dial_countries)
            if refused is not None:
                self._outcome.labels("sip_inbound", "dial_refused").inc()
                self._log.warning(
                    "dial refused: a SIP user dialled a number the app does not put through",
                    extra={
                        "flow": req.flow,
                        "call_sid": req.call_sid,
                        "reason": refused.reason,
                        "country": refused.country,
                        "to": mask_phone(number),
                    },
                )
                return self._fixed["dial_refused"]
            self._outcome.labels("sip_inbound", "pstn").inc()
            return self._dial_number(number, then="message")
        self._outcome.labels("sip_inbound", "rejected").inc()
        return self._fixed["call_rejected"]

    def dial_status(self, req: CallRequest) -> Twiml:
        """``<Dial action>``: done if answered, else the next fallback named in ``then``.

        Its diagnostics (DialCallSid, DialCallStatus, DialSipResponseCode, ErrorCode...) are
        queued as a call event (``source: dial``); a failed dial is counted by error code.
        """
        p = req.params
        status = p.get("DialCallStatus", "")
        then = req.query.get("then", "message")
        self._outcome.labels("dial_status", _label(status, _DIAL_STATUSES)).inc()
        code = p.get("ErrorCode", "")
        if status not in ("completed", "answered"):
            label = _label(status, _DIAL_STATUSES)
            self._failures.labels("dial_status", label, error_code_label(code)).inc()
        dial_sid = p.get("DialCallSid", "")
        event = CallEvent(
            call_sid=req.call_sid,
            status=p.get("CallStatus", ""),
            timestamp=p.get("Timestamp", ""),
            duration=p.get("DialCallDuration", ""),
            source="dial",
            error_code=code,
            error_url=p.get("ErrorUrl", ""),
            sip_response_code=p.get("DialSipResponseCode", "") or p.get("SipResponseCode", ""),
            parent_call_sid=p.get("ParentCallSid", ""),
            dial_call_sid=dial_sid,
            dial_call_status=status,
        )
        self._queue_event(req.flow, f"{req.call_sid}:dial:{dial_sid or then}:{status}", event)
        if status in ("completed", "answered"):
            return self._fixed["call_completed"]
        user = req.query.get("user", "")
        account = self._f.sip_users.get(user)
        if then == "pstn" and account is not None and account.pstn_fallback:
            return self._dial_number(account.pstn_fallback, then="message")
        if then == "voicemail":
            return self.voicemail(req)
        return self._fixed["dial_no_answer"]

    def byoc_inbound(self, req: CallRequest) -> Twiml:
        """A call from a BYOC carrier: its configured route, else the IVR."""
        number = called_number(req.require("To"), self._f.dial_region)
        target = self._f.byoc_routes.get(number or "")
        if target is None:
            self._outcome.labels("byoc_inbound", "ivr").inc()
            return self.ivr_main(req)
        self._outcome.labels("byoc_inbound", "routed").inc()
        if target.startswith(("sip:", "sips:")):
            return self._render(
                "dial_sip_endpoint",
                sip_uri=target,
                timeout=self._f.dial_timeout,
                action=self._dial_status_url("voicemail"),
            )
        return self._dial_number(target, then="voicemail")

    # --- conference warm transfer ----------------------------------------------------------

    def _conference(self, leg: str, room: str, call_sid: str) -> Twiml:
        self._outcome.labels("conference_transfer", leg).inc()
        # A room has one customer, but may get several agents or supervisors, and Twilio
        # refuses a label already in use (error 16025): those carry their own call's SID tail.
        label = leg if leg == "customer" else f"{leg}-{call_sid[-12:]}"
        return self._render(
            "conference_leg",
            leg=leg,
            label=label,
            room=room,
            recording_callback=self._recording_callback,
            conference_callback=self._conference_callback,
        )

    def conference_transfer(self, req: CallRequest) -> Twiml:
        """Join a leg to the warm-transfer room of the customer's call.

        ``?leg=customer`` (default) uses the request's own CallSid; ``?leg=agent`` and
        ``?leg=supervisor`` name the customer's call with ``&customer=CA…``.
        """
        leg = req.query.get("leg", "customer")
        if leg not in CONFERENCE_LEGS:
            raise BadRequest(f"leg must be one of {', '.join(CONFERENCE_LEGS)}")
        if leg == "customer":
            sid = req.require("CallSid")
            return self._conference(leg, conference_room(sid), sid)
        customer = req.query.get("customer", "")
        if not customer:
            raise BadRequest(f"leg={leg} needs customer=<the customer's CallSid> in the URL")
        return self._conference(leg, conference_room(customer), req.require("CallSid"))

    # --- voicemail, fallback, disaster recovery --------------------------------------------

    def voicemail(self, req: CallRequest) -> Twiml:
        """Record a message; the recording callback queues it for processing."""
        return self._fixed["voicemail"]

    def voicemail_done(self, req: CallRequest) -> Twiml:
        """After ``<Record>``: thank the caller and hang up."""
        return self._fixed["voicemail_done"]

    def voice_fallback(self, req: CallRequest) -> Twiml:
        """The number's fallback URL (the primary failed): apologise, try the operator."""
        self._outcome.labels("voice_fallback", "served").inc()
        self._fell_back(req)
        return self._fixed["voice_fallback"]

    def _fell_back(self, req: CallRequest) -> None:
        """Count a fallback by its ErrorCode and queue its diagnostics (``source: fallback``)."""
        p = req.params
        code, error_url = p.get("ErrorCode", ""), p.get("ErrorUrl", "")
        self._fallbacks.labels(req.flow, error_code_label(code)).inc()
        event = CallEvent(
            call_sid=req.call_sid,
            status=p.get("CallStatus", ""),
            timestamp=p.get("Timestamp", ""),
            source="fallback",
            error_code=code,
            error_url=error_url,
            sip_response_code=p.get("SipResponseCode", ""),
            parent_call_sid=p.get("ParentCallSid", ""),
        )
        where = hashlib.sha256(error_url.encode()).hexdigest()[:16]  # keys stay short
        self._queue_event(req.flow, f"{req.call_sid}:fallback-{req.flow}:{code}:{where}", event)

    def _queue_event(self, flow: str, key: str, event: CallEvent) -> None:
        """Queue a call event once per key, if the store allows: the call goes on regardless."""
        if not event.call_sid:
            return
        try:
            self._store.claim(key, self._f.dedupe_ttl_seconds, event)
        except StoreError as exc:
            self._outcome.labels(flow, "store_unavailable").inc()
            self._log.warning(
                "state store unavailable; the call's diagnostics are logged but not queued",
                extra={"flow": flow, "call_sid": event.call_sid, "error": str(exc)},
            )

    def trunk_disaster_recovery(self, req: CallRequest) -> Twiml:
        """The trunk's PBX is unreachable: ring the recovery number, else take a message."""
        self._fell_back(req)
        number = self._f.disaster_recovery_number
        self._outcome.labels("trunk_disaster_recovery", "dial" if number else "voicemail").inc()
        if number is None:
            return self.voicemail(req)
        return self._fixed["disaster_recovery"]

    # --- outbound calls --------------------------------------------------------------------

    def outbound_call(self, req: CallRequest) -> Twiml:
        """An outbound call answered: branch on answering-machine detection's ``AnsweredBy``.

        A machine gets the voicemail drop and the call hangs up (with ``DetectMessageEnd`` the
        request comes after the greeting's beep, so the whole message is recorded); a person,
        or a call placed without detection (no ``AnsweredBy``), gets the IVR prompt; a fax or
        an undecided ``unknown`` (and any other verdict) is hung up on.
        """
        req.require("CallSid")
        answered_by = req.params.get("AnsweredBy", "")
        if answered_by in MACHINE_ANSWERS:
            self._outcome.labels("outbound_call", "voicemail_drop").inc()
            return self._fixed["voicemail_drop"]
        if answered_by in ("", "human"):
            self._outcome.labels("outbound_call", "human").inc()
            return self.ivr_main(req)
        self._outcome.labels("outbound_call", "hangup").inc()
        return self._fixed["call_completed"]

    # --- callbacks (at-least-once delivery: dedupe) ----------------------------------------

    def call_status(self, req: CallRequest) -> Twiml:
        """Status callback: persist each (CallSid, status, timestamp) once, with diagnostics.

        A failed call (busy, no-answer, failed, canceled) or one with an ErrorCode is counted
        by status and error code, once per callback.
        """
        p = req.params
        sid, status = req.require("CallSid"), req.require("CallStatus")
        stamp = p.get("Timestamp", "") or p.get("SequenceNumber", "")
        event = CallEvent(
            sid,
            status,
            stamp,
            p.get("CallDuration", ""),
            error_code=p.get("ErrorCode", ""),
            error_url=p.get("ErrorUrl", ""),
            sip_response_code=p.get("SipResponseCode", ""),
            parent_call_sid=p.get("ParentCallSid", ""),
        )
        key = f"{sid}:call-{status}:{stamp}"
        if not self._store.claim(key, self._f.dedupe_ttl_seconds, event):
            self._outcome.labels("call_status", "duplicate").inc()
            return _ACK
        self._outcome.labels("call_status", "processed").inc()
        if status in _FAILED_CALL_STATUSES or event.error_code:
            labels = (_label(status, _CALL_STATUSES), error_code_label(event.error_code))
            self._failures.labels("call_status", *labels).inc()
        return _ACK

    def conference_status(self, req: CallRequest) -> Twiml:
        """Conference status callback: queue each event once (``source: conference``).

        One event is ConferenceSid + StatusCallbackEvent + the participant's CallSid (none for
        ``conference-start``/``-end`` without one) + its SequenceNumber (numbered per room by
        Twilio; the Timestamp when there is none): a redelivery of it is a duplicate, a second
        mute of the same participant is not.
        """
        p = req.params
        conference, name = req.require("ConferenceSid"), req.require("StatusCallbackEvent")
        sid, sequence = p.get("CallSid", ""), p.get("SequenceNumber", "")
        stamp = p.get("Timestamp", "")
        event = CallEvent(
            call_sid=sid,
            status=name,
            timestamp=stamp or sequence,
            source="conference",
            conference_sid=conference,
            sequence_number=sequence,
            participant_label=p.get("ParticipantLabel", ""),
            reason=p.get("ReasonConferenceEnded", ""),
        )
        key = f"{conference}:conference-{name}:{sid}:{sequence or stamp}"
        if not self._store.claim(key, self._f.dedupe_ttl_seconds, event):
            self._outcome.labels("conference_status", "duplicate").inc()
            return _ACK
        self._outcome.labels("conference_status", "processed").inc()
        return _ACK

    def recording_status(self, req: CallRequest) -> Twiml:
        """Recording callback: queue a job for each completed recording, once.

        A call's recordings (``<Record>``, ``<Dial record>``) name the ``CallSid``; a
        conference's name its ``ConferenceSid`` (and may carry no ``CallSid``): either will do.
        """
        rec = req.require("RecordingSid")
        sid, conference = req.params.get("CallSid", ""), req.params.get("ConferenceSid", "")
        if not (sid or conference):
            raise BadRequest(f"{req.flow}: the CallSid (or ConferenceSid) parameter is missing")
        # Twilio always sends RecordingStatus here: without it this is no recording callback
        # (a call status callback pointed at the wrong URL), and must not become a job.
        status = req.require("RecordingStatus")
        stamp = req.params.get("Timestamp", "")
        job = None
        if status == "completed":
            job = RecordingJob(
                recording_sid=rec,
                call_sid=sid,
                url=req.require("RecordingUrl"),
                duration=req.params.get("RecordingDuration", ""),
                status=status,
                conference_sid=conference,
            )
        key = f"{sid or conference}:recording-{status}:{rec}:{stamp}"
        if not self._store.claim(key, self._f.dedupe_ttl_seconds, job):
            self._outcome.labels("recording_status", "duplicate").inc()
            return _ACK
        self._outcome.labels("recording_status", _label(status, _RECORDING_STATUSES)).inc()
        return _ACK
