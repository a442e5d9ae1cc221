"""Call-flow handlers: one per route of the table, each ``CallRequest -> Twiml``.

Handlers only see requests whose signature was already checked (``app.py``); they decide with
the pure helpers (``ivr``, ``addresses``) and keep state through the injected store. The IVR
keeps none there: the flow, menu and retry count travel in the signed ``<Gather action>`` URL.

What a call does comes from the served call flows (``settings.served``, the artifact made from
the stack): every page that depends on the artifact only is rendered once, at start-up, per
flow and step (``graph.py``'s keys); a request costs a dict lookup. Only conference rooms (the
call's own room and label), numbers a SIP user dials and a schedule's choice are made per call.
Every Twilio route takes ``?flow=NAME``: none is the default flow, an unknown name the default
flow too (logged and counted, never an error).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from werkzeug.exceptions import BadRequest

from webhook_app import ivr
from webhook_app.addresses import (
    called_number,
    conference_room,
    dialable_number,
    mask_phone,
    sip_user,
)
from webhook_app.callflow import graph
from webhook_app.callflow.model import Action, Dial, Flow, Hours, Menu, VoicemailBox
from webhook_app.dialing import refusal
from webhook_app.logs import LOGGER_NAME
from webhook_app.metrics import Metrics
from webhook_app.rendering import Renderer, Twiml, route_urls
from webhook_app.routes import url_for
from webhook_app.settings import Settings
from webhook_app.store import CallEvent, IvrSession, RecordingJob, Store, StoreError

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


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
# A step's answer: TwiML rendered at start-up, or (a conference, a schedule) made per request.
Page = Twiml | Callable[[CallRequest], Twiml]
# /voice/dial/status for one step: (request, ?attempt=) -> what comes after the unanswered dial.
Continuation = Callable[[CallRequest, str], Twiml]
_DIAL_RECORD = {
    "off": "",
    "record-from-answer": "record-from-answer",
    "dual": "record-from-answer-dual",
}
# Keys the app adds to the graph's step keys (graph.py's keys never look like these): the
# continuations of dials that are no declared step.
OPERATOR_KEY, RECOVERY_KEY, PSTN_KEY, SIP_KEY = "operator", "recovery", "pstn", "sip."


def answer(page: Page, req: CallRequest) -> Twiml:
    """The TwiML of a page: itself when rendered at start-up, else made for this request."""
    return page if isinstance(page, Twiml) else page(req)


def _splice(page: Twiml, first: bytes) -> Twiml:
    """``page`` with ``first`` (a consent ``<Say>``) as the first verb of its ``<Response>``."""
    return Twiml(
        page.step, page.body.replace(b"<Response>", b"<Response>" + first, 1), page.context
    )


_UNSET = Twiml("unset", b"")  # a page _compile sets


@dataclass
class _MenuPages:
    """One menu of one flow: its prompt, its reprompts by retries, its options' pages."""

    name: str
    menu: Menu
    prompt: Twiml
    invalid: list[Twiml]  # [retries] -> the reprompt after an invalid answer (index 0 unused)
    timeout: list[Twiml]  # [retries] -> the reprompt after silence (index 0 unused)
    options: dict[str, Page] = field(default_factory=dict)  # digit -> the option's page
    exhausted: Page = _UNSET


@dataclass
class _FlowPages:
    """Everything one call flow answers, rendered at start-up (or made per request)."""

    name: str
    flow: Flow
    param: str | None  # its ?flow= value in the URLs this app writes (None: the default flow)
    record: str  # <Dial record=...>, "" when the flow does not record
    consent: bytes  # its consent <Say>, b"" when it does not record
    pages: dict[str, Twiml] = field(default_factory=dict)  # goodbye, no_answer, drop...
    menus: dict[str, _MenuPages] = field(default_factory=dict)
    first_menu: _MenuPages | None = None
    boxes: dict[str, tuple[Twiml, Twiml]] = field(default_factory=dict)  # box -> (prompt, done)
    first_box: tuple[Twiml, Twiml] = (_UNSET, _UNSET)
    steps: dict[str, Page] = field(default_factory=dict)  # graph key -> page
    continuations: dict[str, Continuation] = field(default_factory=dict)  # key -> no answer
    byoc: dict[str, Page] = field(default_factory=dict)  # called number -> page (consented)
    sip_users: dict[str, Page] = field(default_factory=dict)  # user -> page (consented)
    entry: Page = _UNSET  # consent, then the start
    fallback: Page = _UNSET
    recovery: Page = _UNSET


class Flows:
    """The call flows ``settings.served`` declares; state goes through ``store``."""

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
        self._now = now or _utc_now
        self._urls = route_urls(settings.public_base_url)
        self._render = functools.partial(renderer.render, urls=self._urls)
        self._outcome = metrics.outcomes
        self._fallbacks = metrics.fallbacks
        self._failures = metrics.call_failures
        self._log = logger or logging.getLogger(LOGGER_NAME)
        self._recording_callback = url_for("recording_status", settings.public_base_url)
        self._conference_callback = url_for("conference_status", settings.public_base_url)
        self._prompted = self._outcome.labels("ivr_main", "prompted")
        self._default_name = self._cf.entry_flow
        # TwiML that depends on the artifact only is rendered once, here: a call reuses it
        # (Jinja costs ~100 µs a page), and a template that cannot render fails at start-up.
        self._completed = self._render("call_completed")
        self._rejected = self._render("call_rejected")
        self._flows = {name: self._compile(name, flow) for name, flow in self._cf.flows.items()}
        self._default = self._flows[self._default_name]
        if settings.caller_id is None and self._cf.caller_id is None:
            self._log.warning(
                "no caller ID: the artifact's call_flows names none and TWILIO_CALLER_ID is not "
                "set, so a call the app dials out to a phone number (sip_inbound, pstn_fallback, "
                "a dial) has no valid caller ID unless its flow or dial names one, and Twilio "
                "refuses it; declare call_flows.caller_id (or set TWILIO_CALLER_ID)",
                extra={"setting": "TWILIO_CALLER_ID"},
            )

    # --- start-up: every page of every flow -----------------------------------------------

    def _compile(self, name: str, flow: Flow) -> _FlowPages:
        voice = flow
        mode = flow.recording.mode
        consent = b""
        if mode != "off" and flow.recording.consent:
            consent = self._render("consent", message=flow.recording.consent, voice=voice).body
        fp = _FlowPages(
            name, flow, None if name == self._default_name else name, _DIAL_RECORD[mode], consent
        )
        hangup = functools.partial(self._render, "hangup", voice=voice)
        fp.pages["goodbye"] = hangup(message=flow.goodbye)
        fp.pages["no_answer"] = hangup(message=flow.no_answer_message)
        fp.pages["dial_refused"] = hangup(message=flow.dial_refused_message)
        fp.pages["voicemail_drop"] = self._render(
            "voicemail_drop", drop=self._cf.voicemail_drop, voice=voice
        )
        self._compile_boxes(fp)
        self._compile_operator(fp)
        for menu_name, menu in flow.menus.items():
            fp.menus[menu_name] = self._compile_menu(fp, menu_name, menu)
        fp.first_menu = next(iter(fp.menus.values()), None)
        for step in graph.steps_of(name, flow):
            fp.steps[step.key] = self._action_page(fp, step.key, step.action)
        for step in graph.steps_of(name, flow):
            self._continuation(fp, step.key, step.action)
        for menu_name, pages in fp.menus.items():
            for option in pages.menu.options:
                pages.options[option.digit] = fp.steps[f"menu.{menu_name}.{option.digit}"]
            pages.exhausted = fp.steps.get(f"menu.{menu_name}.exhausted", fp.pages["operator"])
        fp.entry = self._consented(fp, fp.steps["start"])
        fp.byoc = {n: self._consented(fp, fp.steps[f"byoc.{n}"]) for n in flow.byoc_routes}
        for user in self._cf.sip_users:
            key = f"{SIP_KEY}{user}"
            fp.sip_users[user] = self._consented(fp, self._sip_page(fp, key, user))
            self._continuation(fp, key, Action(sip_user=user))
        fp.continuations[PSTN_KEY] = lambda req, attempt: fp.pages["no_answer"]
        self._compile_fallbacks(fp)
        return fp

    def _compile_boxes(self, fp: _FlowPages) -> None:
        boxes = self._cf.voicemail_boxes or {"": VoicemailBox()}  # none declared: a built-in box
        for i, (box_name, box) in enumerate(boxes.items()):
            params = [(ivr.FLOW_PARAM, fp.param), (ivr.BOX_PARAM, box_name if i else None)]
            done = ivr.with_query(self._urls["voicemail_done"], params)
            fp.boxes[box_name] = (
                self._render(
                    "voicemail",
                    box=box,
                    voice=fp.flow,
                    action=done,
                    recording_callback=self._recording_callback,
                ),
                self._render("voicemail_done", box=box, voice=fp.flow),
            )
        fp.first_box = next(iter(fp.boxes.values()))

    def _compile_operator(self, fp: _FlowPages) -> None:
        """The operator's page: where an exhausted menu goes by default (else goodbye)."""
        op = self._cf.operator
        if op is None:
            fp.pages["operator"] = fp.pages["goodbye"]
            return
        timeout = op.timeout or self._cf.dial_timeout
        caller_id = self._caller_id(fp)
        common = {
            "voice": fp.flow,
            "caller_id": caller_id,
            "timeout": timeout,
            "record": fp.record,
            "recording_callback": self._recording_callback,
        }
        if op.ring == "simultaneous":
            fp.pages["operator"] = self._render(
                "operator", message=fp.flow.transferring, numbers=op.numbers, action="", **common
            )
            fp.continuations[OPERATOR_KEY] = lambda req, attempt: fp.pages["goodbye"]
            return
        attempts = [
            self._render(
                "operator" if i == 0 else "dial",
                message=fp.flow.transferring,
                numbers=(number,),
                action=self._status_url(fp, OPERATOR_KEY, i),
                **common,
            )
            for i, number in enumerate(op.numbers)
        ]
        fp.pages["operator"] = attempts[0]
        fp.continuations[OPERATOR_KEY] = self._next_attempt(attempts, fp.pages["goodbye"])

    def _compile_menu(self, fp: _FlowPages, name: str, menu: Menu) -> _MenuPages:
        first = fp.first_menu is None and not fp.menus  # the flow's first menu: no ?menu=

        def url(retries: int) -> str:
            return ivr.with_query(
                self._urls["ivr_menu"],
                [
                    (ivr.FLOW_PARAM, fp.param),
                    (ivr.MENU_PARAM, None if first else name),
                    (ivr.RETRIES_PARAM, str(retries) if retries else None),
                ],
            )

        prompt = self._render("menu", menu=menu, voice=fp.flow, action=url(0))
        invalid, timeout = [prompt], [prompt]
        # A reprompt's Gather action carries its retry count: one page per count.
        for retries in range(1, menu.retries + 1):
            reprompt = functools.partial(
                self._render, "menu_reprompt", menu=menu, voice=fp.flow, action=url(retries)
            )
            invalid.append(reprompt(message=menu.invalid))
            timeout.append(reprompt(message=menu.no_input))
        return _MenuPages(name, menu, prompt, invalid, timeout)

    def _compile_fallbacks(self, fp: _FlowPages) -> None:
        op = self._cf.operator
        fallback = self._render(
            "voice_fallback",
            voice=fp.flow,
            numbers=op.numbers if op else (),
            caller_id=self._caller_id(fp),
            timeout=(op.timeout if op else None) or self._cf.dial_timeout,
            record=fp.record,
            recording_callback=self._recording_callback,
        )
        fp.fallback = self._consented(fp, fallback) if op else fallback
        voicemail = fp.first_box[0]
        number = self._cf.disaster_recovery_number
        if number is None:
            fp.recovery = voicemail
        else:
            fp.recovery = self._consented(
                fp,
                self._dial_page(fp, (number,), self._status_url(fp, RECOVERY_KEY, None)),
            )
        fp.continuations[RECOVERY_KEY] = lambda req, attempt: voicemail

    def _caller_id(self, fp: _FlowPages, dial: Dial | None = None) -> str | None:
        """A dial's caller ID: its own, else its flow's, else call_flows', else the env's."""
        return (
            (dial.caller_id if dial else None)
            or fp.flow.caller_id
            or self._cf.caller_id
            or self._s.caller_id
        )

    def _status_url(self, fp: _FlowPages, key: str, attempt: int | None) -> str:
        return ivr.with_query(
            self._urls["dial_status"],
            [
                (ivr.FLOW_PARAM, fp.param),
                (ivr.STEP_PARAM, key),
                (ivr.ATTEMPT_PARAM, None if attempt is None else str(attempt)),
            ],
        )

    def _inbound_url(self, flow: str) -> str:
        param = None if flow == self._default_name else flow
        return ivr.with_query(self._urls["ivr_main"], [(ivr.FLOW_PARAM, param)])

    def _dial_page(
        self,
        fp: _FlowPages,
        numbers: tuple[str, ...],
        action: str,
        dial: Dial | None = None,
    ) -> Twiml:
        return self._render(
            "dial",
            voice=fp.flow,
            numbers=numbers,
            caller_id=self._caller_id(fp, dial),
            timeout=(dial.timeout if dial else None) or self._cf.dial_timeout,
            action=action,
            record=fp.record,
            recording_callback=self._recording_callback,
        )

    def _sip_page(self, fp: _FlowPages, key: str, user: str) -> Twiml:
        return self._render(
            "sip_user",
            sip_uri=self._cf.sip_users[user].uri,
            timeout=self._cf.dial_timeout,
            action=self._status_url(fp, key, None),
            record=fp.record,
            recording_callback=self._recording_callback,
        )

    def _action_page(self, fp: _FlowPages, key: str, action: Action) -> Page:
        """The page of the step ``key`` (nested steps are compiled as steps of their own)."""
        if action.menu is not None:
            return fp.menus[action.menu].prompt
        if action.dial is not None:
            dial = action.dial
            if dial.ring == "in_order":
                return self._dial_page(fp, dial.numbers[:1], self._status_url(fp, key, 0), dial)
            return self._dial_page(fp, dial.numbers, self._status_url(fp, key, None), dial)
        if action.sip_user is not None:
            return self._sip_page(fp, key, action.sip_user)
        if action.conference is not None:
            return self._conference_page(fp, action.conference.room)
        if action.voicemail is not None:
            return fp.boxes[action.voicemail][0]
        if action.flow is not None:
            return self._render("flow", action=self._inbound_url(action.flow))
        if action.hangup is not None:
            return self._render("hangup", message=action.hangup, voice=fp.flow)
        if action.operator:
            return fp.pages["operator"]
        assert action.hours is not None
        return self._hours_page(fp, key, action.hours)

    def _conference_page(self, fp: _FlowPages, room: str | None) -> Page:
        """A conference: the room is named, or the caller's own; the label is the call's."""
        if room is None:
            return lambda req: self._conference(
                fp, "customer", conference_room(req.call_sid), req.call_sid
            )
        return lambda req: self._conference(fp, "member", room, req.call_sid)

    def _hours_page(self, fp: _FlowPages, key: str, hours: Hours) -> Page:
        """Pick by the schedule at request time: holiday (when declared), open, else closed."""
        schedule = self._cf.schedules[hours.schedule]
        steps = fp.steps
        open_key, closed_key = f"{key}.open", f"{key}.closed"
        holiday_key = f"{key}.holiday" if hours.holiday is not None else None

        def choose(req: CallRequest) -> Twiml:
            now = self._now()
            if holiday_key is not None and schedule.is_holiday(now):
                chosen = holiday_key
            else:
                chosen = open_key if schedule.is_open(now) else closed_key
            self._outcome.labels(req.flow, f"hours_{chosen.rsplit('.', 1)[1]}").inc()
            return answer(steps[chosen], req)

        return choose

    def _no_answer_page(self, fp: _FlowPages, key: str, action: Action) -> Page:
        """After an unanswered dial: its own no_answer, else the flow's, else a message."""
        if action.dial is not None and action.dial.no_answer is not None:
            return fp.steps[f"{key}.no_answer"]
        in_flow_no_answer = key == "no_answer" or key.startswith("no_answer.")
        if fp.flow.no_answer is not None and not in_flow_no_answer:
            return fp.steps["no_answer"]
        return fp.pages["no_answer"]

    def _continuation(self, fp: _FlowPages, key: str, action: Action) -> None:
        """What /voice/dial/status answers for the step ``key`` when nobody answered."""
        if action.dial is None and action.sip_user is None:
            return
        no_answer = self._no_answer_page(fp, key, action)
        if action.sip_user is not None:
            fallback = self._cf.sip_users[action.sip_user].pstn_fallback
            pstn = (
                self._dial_page(fp, (fallback,), self._status_url(fp, key, 1)) if fallback else None
            )

            def sip(req: CallRequest, attempt: str) -> Twiml:
                if pstn is not None and not attempt:  # the SIP leg: ring its PSTN fallback
                    return pstn
                return answer(no_answer, req)

            fp.continuations[key] = sip
            return
        dial = action.dial
        assert dial is not None
        if dial.ring == "in_order":
            attempts = [
                self._dial_page(fp, (number,), self._status_url(fp, key, i), dial)
                for i, number in enumerate(dial.numbers)
            ]
            fp.continuations[key] = self._next_attempt(attempts, no_answer)
        else:
            fp.continuations[key] = lambda req, attempt: answer(no_answer, req)

    @staticmethod
    def _next_attempt(attempts: list[Twiml], then: Page) -> Continuation:
        """In order: ring the number after ``?attempt=i``; after the last, ``then``."""

        def next_attempt(req: CallRequest, attempt: str) -> Twiml:
            following = ivr.small_count(attempt, len(attempts)) + 1
            return attempts[following] if following < len(attempts) else answer(then, req)

        return next_attempt

    def _consented(self, fp: _FlowPages, page: Page) -> Page:
        """``page`` as an entry of ``fp``'s flow: its consent first, when the flow records."""
        consent = fp.consent
        if not consent:
            return page
        if isinstance(page, Twiml):
            return _splice(page, consent)
        return lambda req: _splice(page(req), consent)

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

    def _flow(self, req: CallRequest) -> _FlowPages:
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
            dialled = self._dial_page(fp, (number,), self._status_url(fp, PSTN_KEY, None))
            return _splice(dialled, fp.consent) if fp.consent else dialled
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
            return answer(self._no_answer_page(fp, "", Action(hangup="")), req)
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

    def _conference(self, fp: _FlowPages, leg: str, room: str, call_sid: str) -> Twiml:
        self._outcome.labels("conference_transfer", leg).inc()
        # A room has one customer, but may get several agents, supervisors or members, and
        # Twilio refuses a label already in use (error 16025): those carry their call's SID tail.
        label = leg if leg == "customer" else f"{leg}-{call_sid[-12:]}"
        return self._render(
            "conference",
            leg=leg,
            label=label,
            room=room,
            record=bool(fp.record),
            recording_callback=self._recording_callback,
            conference_callback=self._conference_callback,
        )

    def conference_transfer(self, req: CallRequest) -> Twiml:
        """Join a leg to the warm-transfer room of the customer's call.

        ``?leg=customer`` (default) uses the request's own CallSid; ``?leg=agent`` and
        ``?leg=supervisor`` name the customer's call with ``&customer=CA…``. The room records
        when ``?flow=`` records.
        """
        fp = self._flow(req)
        leg = req.query.get("leg", "customer")
        if leg not in CONFERENCE_LEGS:
            raise BadRequest(f"leg must be one of {', '.join(CONFERENCE_LEGS)}")
        if leg == "customer":
            sid = req.require("CallSid")
            return self._conference(fp, leg, conference_room(sid), sid)
        customer = req.query.get("customer", "")
        if not customer:
            raise BadRequest(f"leg={leg} needs customer=<the customer's CallSid> in the URL")
        return self._conference(fp, leg, conference_room(customer), req.require("CallSid"))

    # --- voicemail, fallback, disaster recovery --------------------------------------------

    def _box(self, req: CallRequest, fp: _FlowPages) -> tuple[Twiml, Twiml]:
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
        key = f"{sid}:call-{status}:{stamp}"
        if not self._store.claim(key, self._s.dedupe_ttl_seconds, event):
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
        if not self._store.claim(key, self._s.dedupe_ttl_seconds, event):
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
        if not self._store.claim(key, self._s.dedupe_ttl_seconds, job):
            self._outcome.labels("recording_status", "duplicate").inc()
            return _ACK
        self._outcome.labels("recording_status", _label(status, _RECORDING_STATUSES)).inc()
        return _ACK
