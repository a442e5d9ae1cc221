"""Call-flow handlers: one per route of the table, each ``CallRequest -> Twiml``.

Handlers only see requests whose signature was already checked (``app.py``); they decide with
the pure helpers (``ivr``, ``addresses``) and keep state through the injected store. The IVR
keeps none there: the flow, menu and retry count travel in the signed ``<Gather action>`` URL.

What a call does comes from the served call flows (``settings.served``, the artifact made from
the stack), compiled at start-up into one page table per flow (``pages.py``): a request costs a
dict lookup, and only conference rooms, numbers a SIP user dials and a schedule's choice are
made per call. Every Twilio route takes ``?flow=NAME``: none is the default flow, an unknown
name the default flow too (logged and counted, never an error).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
from webhook_app.pages import (
    PSTN_KEY,
    RECOVERY_KEY,
    SIP_KEY,
    FlowPages,
    PageCompiler,
    answer,
)
from webhook_app.rendering import Renderer, Twiml
from webhook_app.settings import Settings
from webhook_app.store import CallEvent, IvrSession, Record, RecordingJob, Store, StoreError

CONFERENCE_LEGS = ("customer", "agent", "supervisor")
_ACK = Twiml("ack", b"", status=204)  # callbacks: Twilio ignores the body
# Metric labels take only known values, so signed-but-odd input cannot grow the label set.
_DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
_RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent", "failed"})
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
    """The handlers of the call flows ``settings.served`` declares; state goes through ``store``.

    Their pages come from ``PageCompiler`` (``pages.py``), compiled once, here.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        renderer: Renderer,
        metrics: Metrics,
        logger: logging.Logger | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._s = settings
        self._cf = settings.served.call_flows
        self._countries = settings.served.dial_countries
        self._store = store
        self._outcome = metrics.outcomes
        self._fallbacks = metrics.fallbacks
        self._failures = metrics.call_failures
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._prompted = self._outcome.labels("ivr_main", "prompted")
        self._default_name = self._cf.entry_flow
        self._pages = PageCompiler(settings, renderer, metrics.outcomes, now)
        self._completed = self._pages.completed
        self._rejected = self._pages.rejected
        self._flows = self._pages.compile()
        self._default = self._flows[self._default_name]
        if settings.caller_id is None and self._cf.caller_id is None:
            self._log.warning(
                "no caller ID: the artifact's call_flows names none and TWILIO_CALLER_ID is not "
                "set, so a call the app dials out to a phone number (sip_inbound, pstn_fallback, "
                "a dial) has no valid caller ID unless its flow or dial names one, and Twilio "
                "refuses it; declare call_flows.caller_id (or set TWILIO_CALLER_ID)",
                extra={"setting": "TWILIO_CALLER_ID"},
            )

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

    def _flow(self, req: CallRequest) -> FlowPages:
        """The call flow ``?flow=`` names; none: the default; unknown: the default, warned.

        An unknown name is never an error: a caller must hear something while Twilio's
        configuration and the app's artifact are mid-rollout.
        """
        name = req.query.get(ivr.FLOW_PARAM)
        if not name:
            return self._default
        pages = self._flows.get(name)
        if pages is None:
            self._outcome.labels(req.flow, "unknown_call_flow").inc()
            self._log.warning(
                "the URL names a call flow the artifact does not declare: the default flow "
                "answers; regenerate the artifact from the stack that configured Twilio",
                extra={
                    "flow": req.flow,
                    "call_flow": name[:64],
                    "default_flow": self._default_name,
                    "call_sid": req.call_sid,
                },
            )
            return self._default
        return pages

    # --- IVR -------------------------------------------------------------------------------

    def ivr_main(self, req: CallRequest) -> Twiml:
        """A call enters a flow: its consent (when it records), then its start."""
        req.require("CallSid")
        fp = self._flow(req)
        self._prompted.inc()
        entry = fp.entry
        return entry if isinstance(entry, Twiml) else entry(req)

    def ivr_menu(self, req: CallRequest) -> Twiml:
        """One answer to a menu: route, reprompt, or give up (the menu's exhausted action).

        Stateless: the flow, the menu and the reprompts played so far come from this
        request's URL (``?flow=F&menu=M&retries=N``, written into the ``<Gather action>`` by
        the previous prompt and signed by Twilio with the rest of the URL), so no store can
        lose them and a caller cannot be held in reprompts forever.
        """
        req.require("CallSid")
        fp = self._flow(req)
        name = req.query.get(ivr.MENU_PARAM)
        pages = fp.menus.get(name) if name else fp.first_menu
        if pages is None:  # a menu a redeploy removed: start the flow over
            self._outcome.labels("ivr_menu", "unknown_menu").inc()
            return answer(fp.entry, req)
        menu = pages.menu
        event, option = ivr.classify(
            menu, req.params.get("Digits", ""), req.params.get("SpeechResult", "")
        )
        retries = ivr.small_count(req.query.get(ivr.RETRIES_PARAM, ""), menu.retries)
        move = ivr.advance(IvrSession(ivr.State.MENU, retries), event, option, menu)
        self._outcome.labels("ivr_menu", move.step.value).inc()
        if move.step is ivr.Step.ROUTE and move.option is not None:
            return answer(pages.options[move.option.digit], req)
        if move.step is ivr.Step.REPROMPT_INVALID:
            return pages.invalid[move.session.retries]
        if move.step is ivr.Step.REPROMPT_TIMEOUT:
            return pages.timeout[move.session.retries]
        return answer(pages.exhausted, req)

    # --- dialing ---------------------------------------------------------------------------

    def sip_inbound(self, req: CallRequest) -> Twiml:
        """A call to the SIP domain: dial the SIP user in ``To``, or the number it spells.

        The number is the caller's choice: premium-rate, shared-cost and non-geographic
        numbers, and countries outside the served ``dial_countries``, get a spoken refusal
        and a hang-up (``webhook_app.dialing``), with the reason logged.
        """
        fp = self._flow(req)
        user = sip_user(req.require("To"))
        if user is not None:
            page = fp.sip_users.get(user)
            if page is not None:
                self._outcome.labels("sip_inbound", "sip_user").inc()
                return answer(page, req)
        number = dialable_number(user, self._cf.dial_region) if user is not None else None
        if number is not None:
            refused = refusal(number, self._countries)
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
                return fp.pages["dial_refused"]
            self._outcome.labels("sip_inbound", "pstn").inc()
            return self._pages.pstn(fp, number)
        self._outcome.labels("sip_inbound", "rejected").inc()
        return self._rejected

    def dial_status(self, req: CallRequest) -> Twiml:
        """``<Dial action>``: done if answered, else what follows the step's dial.

        ``?step=KEY`` names the step whose dial ended (``&attempt=i``: which number of an
        in-order dial, or a SIP user's PSTN fallback); nobody answered: the next number, else
        the dial's no_answer, else the flow's, else the flow's no_answer_message. Its
        diagnostics (DialCallSid, DialCallStatus, DialSipResponseCode, ErrorCode...) are
        queued as a call event (``source: dial``); a failed dial is counted by error code.
        """
        p = req.params
        fp = self._flow(req)
        status = p.get("DialCallStatus", "")
        key = req.query.get(ivr.STEP_PARAM, "")
        attempt = req.query.get(ivr.ATTEMPT_PARAM, "")
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
        where = dial_sid or f"{key}#{attempt}"
        self._queue_event(req.flow, f"{req.call_sid}:dial:{where}:{status}", event)
        if status in ("completed", "answered"):
            return self._completed
        if not key:  # a URL of the app before call flows (`?then=`): mid-rollout calls
            key, attempt = self._legacy_step(req)
        continuation = fp.continuations.get(key)
        if continuation is None:  # a step a redeploy removed: the flow's no-answer chain
            return answer(fp.unknown_step, req)
        return continuation(req, attempt)

    @staticmethod
    def _legacy_step(req: CallRequest) -> tuple[str, str]:
        then = req.query.get("then", "")
        if then == "voicemail":
            return RECOVERY_KEY, ""
        if then == "pstn":
            return f"{SIP_KEY}{req.query.get('user', '')}", ""
        return PSTN_KEY, ""

    def byoc_inbound(self, req: CallRequest) -> Twiml:
        """A call from a BYOC carrier: the flow's route for the called number, else its start."""
        fp = self._flow(req)
        number = called_number(req.require("To"), self._cf.dial_region)
        page = fp.byoc.get(number or "")
        if page is None:
            self._outcome.labels("byoc_inbound", "ivr").inc()
            return answer(fp.entry, req)
        self._outcome.labels("byoc_inbound", "routed").inc()
        return answer(page, req)

    # --- conference warm transfer ----------------------------------------------------------

    def conference_transfer(self, req: CallRequest) -> Twiml:
        """Join a leg to the warm-transfer room of the customer's call.

        ``?leg=customer`` (default) uses the request's own CallSid; ``?leg=agent`` and
        ``?leg=supervisor`` name the customer's call with ``&customer=CA…``. The room records
        when ``?flow=`` records, and then every leg hears the flow's consent first.
        """
        fp = self._flow(req)
        leg = req.query.get("leg", "customer")
        if leg not in CONFERENCE_LEGS:
            raise BadRequest(f"leg must be one of {', '.join(CONFERENCE_LEGS)}")
        if leg == "customer":
            sid = req.require("CallSid")
            return self._pages.conference_entry(fp, leg, conference_room(sid), sid)
        customer = req.query.get("customer", "")
        if not customer:
            raise BadRequest(f"leg={leg} needs customer=<the customer's CallSid> in the URL")
        room = conference_room(customer)
        return self._pages.conference_entry(fp, leg, room, req.require("CallSid"))

    # --- voicemail, fallback, disaster recovery --------------------------------------------

    def _box(self, req: CallRequest, fp: FlowPages) -> tuple[Twiml, Twiml]:
        name = req.query.get(ivr.BOX_PARAM)
        box = fp.boxes.get(name) if name else None
        if box is None:  # none named, or one a redeploy removed: the first box
            box = fp.first_box
        return box

    def voicemail(self, req: CallRequest) -> Twiml:
        """Record a message in ``?box=`` (default: the first); the callback queues it."""
        return self._box(req, self._flow(req))[0]

    def voicemail_done(self, req: CallRequest) -> Twiml:
        """After ``<Record>``: the box's thanks, and hang up."""
        return self._box(req, self._flow(req))[1]

    def voice_fallback(self, req: CallRequest) -> Twiml:
        """The number's fallback URL (the primary failed): apologise, try the operator."""
        fp = self._flow(req)
        self._outcome.labels("voice_fallback", "served").inc()
        self._fell_back(req)
        return answer(fp.fallback, req)

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
            self._store.claim(key, self._s.dedupe_ttl_seconds, event)
        except StoreError as exc:
            self._outcome.labels(flow, "store_unavailable").inc()
            self._log.warning(
                "state store unavailable; the call's diagnostics are logged but not queued",
                extra={"flow": flow, "call_sid": event.call_sid, "error": str(exc)},
            )

    def trunk_disaster_recovery(self, req: CallRequest) -> Twiml:
        """The trunk's PBX is unreachable: ring the recovery number, else take a message."""
        fp = self._flow(req)
        self._fell_back(req)
        number = self._cf.disaster_recovery_number
        self._outcome.labels("trunk_disaster_recovery", "dial" if number else "voicemail").inc()
        return answer(fp.recovery, req)

    # --- outbound calls --------------------------------------------------------------------

    def outbound_call(self, req: CallRequest) -> Twiml:
        """An outbound call answered: branch on answering-machine detection's ``AnsweredBy``.

        A machine gets the voicemail drop and the call hangs up (with ``DetectMessageEnd`` the
        request comes after the greeting's beep, so the whole message is recorded); a person,
        or a call placed without detection (no ``AnsweredBy``), enters the flow (its consent,
        its start); a fax or an undecided ``unknown`` (and any other verdict) is hung up on.
        """
        req.require("CallSid")
        fp = self._flow(req)
        answered_by = req.params.get("AnsweredBy", "")
        if answered_by in MACHINE_ANSWERS:
            self._outcome.labels("outbound_call", "voicemail_drop").inc()
            return fp.pages["voicemail_drop"]
        if answered_by in ("", "human"):
            self._outcome.labels("outbound_call", "human").inc()
            return answer(fp.entry, req)
        self._outcome.labels("outbound_call", "hangup").inc()
        return self._completed

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
        if not self._first_delivery("call_status", f"{sid}:call-{status}:{stamp}", event):
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
        if self._first_delivery("conference_status", key, event):
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
        if self._first_delivery("recording_status", key, job):
            self._outcome.labels("recording_status", _label(status, _RECORDING_STATUSES)).inc()
        return _ACK

    def _first_delivery(self, route: str, key: str, record: Record | None) -> bool:
        """Claim a callback's ``key`` (persisting ``record``): False, counted, on a redelivery."""
        if self._store.claim(key, self._s.dedupe_ttl_seconds, record):
            return True
        self._outcome.labels(route, "duplicate").inc()
        return False
