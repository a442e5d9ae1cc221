"""Call-flow pages: the served call flows compiled, at start-up, into what each step answers.

``PageCompiler`` turns the call flows ``settings.served`` declares (``callflow/model.py``, the
artifact made from the stack) into one ``FlowPages`` table per flow. Every page that depends on
the artifact only is rendered once, here, per flow and step (``graph.py``'s keys): the handlers
(``flows.py``) answer a request with a dict lookup. Only conference rooms (the call's own room
and label), numbers a SIP user dials and a schedule's choice are made per call: those pages are
functions of the request, and ``answer`` calls them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import Counter

from webhook_app import ivr
from webhook_app.addresses import conference_room
from webhook_app.callflow import graph
from webhook_app.callflow.model import Action, Dial, Flow, Hours, Menu, VoicemailBox
from webhook_app.rendering import Renderer, Twiml, route_urls
from webhook_app.routes import url_for
from webhook_app.settings import Settings

if TYPE_CHECKING:
    from webhook_app.flows import CallRequest

# A step's answer: TwiML rendered at start-up, or (a conference, a schedule) made per request.
Page = Twiml | Callable[["CallRequest"], Twiml]
# /voice/dial/status for one step: (request, ?attempt=) -> what comes after the unanswered dial.
Continuation = Callable[["CallRequest", str], Twiml]
_DIAL_RECORD = {
    "off": "",
    "record-from-answer": "record-from-answer",
    "dual": "record-from-answer-dual",
}
# Keys the app adds to the graph's step keys (graph.py's keys never look like these): the
# continuations of dials that are no declared step.
OPERATOR_KEY, RECOVERY_KEY, PSTN_KEY, SIP_KEY = "operator", "recovery", "pstn", "sip."
OPERATOR_FINAL_KEY = "operator.final"  # the operator rung from inside the flow's no_answer


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def answer(page: Page, req: CallRequest) -> Twiml:
    """The TwiML of a page: itself when rendered at start-up, else made for this request."""
    return page if isinstance(page, Twiml) else page(req)


def _splice(page: Twiml, first: bytes) -> Twiml:
    """``page`` with ``first`` (a consent ``<Say>``) as the first verb of its ``<Response>``."""
    return Twiml(
        page.step, page.body.replace(b"<Response>", b"<Response>" + first, 1), page.context
    )


_UNSET = Twiml("unset", b"")  # a page PageCompiler.compile sets


@dataclass
class MenuPages:
    """One menu of one flow: its prompt, its reprompts by retries, its options' pages."""

    name: str
    menu: Menu
    prompt: Twiml
    invalid: list[Twiml]  # [retries] -> the reprompt after an invalid answer (index 0 unused)
    timeout: list[Twiml]  # [retries] -> the reprompt after silence (index 0 unused)
    options: dict[str, Page] = field(default_factory=dict)  # digit -> the option's page
    exhausted: Page = _UNSET


@dataclass
class FlowPages:
    """Everything one call flow answers, rendered at start-up (or made per request)."""

    name: str
    flow: Flow
    param: str | None  # its ?flow= value in the URLs this app writes (None: the default flow)
    record: str  # <Dial record=...>, "" when the flow does not record
    consent: bytes  # its consent <Say>, b"" when it does not record
    pages: dict[str, Twiml] = field(default_factory=dict)  # goodbye, no_answer, drop...
    menus: dict[str, MenuPages] = field(default_factory=dict)
    first_menu: MenuPages | None = None
    boxes: dict[str, tuple[Twiml, Twiml]] = field(default_factory=dict)  # box -> (prompt, done)
    first_box: tuple[Twiml, Twiml] = (_UNSET, _UNSET)
    steps: dict[str, Page] = field(default_factory=dict)  # graph key -> page
    continuations: dict[str, Continuation] = field(default_factory=dict)  # key -> no answer
    byoc: dict[str, Page] = field(default_factory=dict)  # called number -> page (consented)
    sip_users: dict[str, Page] = field(default_factory=dict)  # user -> page (consented)
    entry: Page = _UNSET  # consent, then the start
    fallback: Page = _UNSET
    recovery: Page = _UNSET
    unknown_step: Page = _UNSET  # a dial's step a redeploy removed: the no-answer chain


class PageCompiler:
    """Compiles the call flows ``settings.served`` declares into their pages.

    ``outcomes`` counts what per-request pages decide (a conference's leg, a schedule's
    choice); ``now`` is the clock schedules are read with.
    """

    def __init__(
        self,
        settings: Settings,
        renderer: Renderer,
        outcomes: Counter,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._s = settings
        self._cf = settings.served.call_flows
        self._now = now or _utc_now
        self._outcome = outcomes
        self._urls = route_urls(settings.public_base_url)
        self._render = functools.partial(renderer.render, urls=self._urls)
        self._recording_callback = url_for("recording_status", settings.public_base_url)
        self._conference_callback = url_for("conference_status", settings.public_base_url)
        self._default_name = self._cf.entry_flow
        # TwiML that depends on the artifact only is rendered once, here: a call reuses it
        # (Jinja costs ~100 µs a page), and a template that cannot render fails at start-up.
        self.completed = self._render("call_completed")
        self.rejected = self._render("call_rejected")

    def compile(self) -> dict[str, FlowPages]:
        """Flow name -> its pages, for every served flow."""
        return {name: self._compile(name, flow) for name, flow in self._cf.flows.items()}

    # --- pages made per request ------------------------------------------------------------

    def conference(self, fp: FlowPages, leg: str, room: str, call_sid: str) -> Twiml:
        """A leg joining a conference ``room`` (recorded when ``fp``'s flow records)."""
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

    def conference_entry(self, fp: FlowPages, leg: str, room: str, call_sid: str) -> Twiml:
        """A leg joining through ``/voice/transfer``: an entry of ``fp``'s flow, so its consent
        comes first when the flow records (every leg: each is recorded with the room)."""
        joined = self.conference(fp, leg, room, call_sid)
        return _splice(joined, fp.consent) if fp.consent else joined

    def pstn(self, fp: FlowPages, number: str) -> Twiml:
        """Dial a number a SIP user dialled, as an entry of ``fp``'s flow (its consent first)."""
        dialled = self._dial_page(fp, (number,), self._status_url(fp, PSTN_KEY, None))
        return _splice(dialled, fp.consent) if fp.consent else dialled

    # --- start-up: every page of a flow ----------------------------------------------------

    def _compile(self, name: str, flow: Flow) -> FlowPages:
        voice = flow
        mode = flow.recording.mode
        consent = b""
        if mode != "off" and flow.recording.consent:
            consent = self._render("consent", message=flow.recording.consent, voice=voice).body
        fp = FlowPages(
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
        fp.unknown_step = self._no_answer_page(fp, "", None)
        self._compile_fallbacks(fp)
        return fp

    def _compile_boxes(self, fp: FlowPages) -> None:
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

    def _compile_operator(self, fp: FlowPages) -> None:
        """The operator's pages: where an exhausted menu goes by default (else goodbye).

        Nobody answers: the flow's ``no_answer`` (unless that is the operator again), else
        goodbye. The operator rung from inside the flow's ``no_answer`` (``operator_final``)
        always ends with goodbye, so the two never ring each other round and round.
        """
        op = self._cf.operator
        if op is None:
            fp.pages["operator"] = fp.pages["operator_final"] = fp.pages["goodbye"]
            return
        chained = fp.flow.no_answer is not None and not fp.flow.no_answer.operator

        def then_no_answer(req: CallRequest) -> Twiml:
            # steps compile after this page: looked up when a call gets here
            return answer(fp.steps["no_answer"], req)

        self._operator_pages(fp, "operator", OPERATOR_KEY, then_no_answer if chained else None)
        self._operator_pages(fp, "operator_final", OPERATOR_FINAL_KEY, None)

    def _operator_pages(self, fp: FlowPages, page: str, key: str, then: Page | None) -> None:
        """Ring ``call_flows.operator`` (as ``fp.pages[page]``); unanswered: ``then`` or goodbye."""
        op = self._cf.operator
        assert op is not None
        common = {
            "voice": fp.flow,
            "caller_id": self._caller_id(fp),
            "timeout": op.timeout or self._cf.dial_timeout,
            "record": fp.record,
            "recording_callback": self._recording_callback,
            "message": fp.flow.transferring,
        }
        unanswered = then or fp.pages["goodbye"]
        if op.ring == "simultaneous":
            # Without a continuation the page says goodbye itself after the <Dial>.
            action = "" if then is None else self._status_url(fp, key, None)
            fp.pages[page] = self._render("operator", numbers=op.numbers, action=action, **common)
            fp.continuations[key] = lambda req, attempt: answer(unanswered, req)
            return
        attempts = [
            self._render(
                "operator" if i == 0 else "dial",
                numbers=(number,),
                action=self._status_url(fp, key, i),
                **common,
            )
            for i, number in enumerate(op.numbers)
        ]
        fp.pages[page] = attempts[0]
        fp.continuations[key] = self._next_attempt(attempts, unanswered)

    def _compile_menu(self, fp: FlowPages, name: str, menu: Menu) -> MenuPages:
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
        return MenuPages(name, menu, prompt, invalid, timeout)

    def _compile_fallbacks(self, fp: FlowPages) -> None:
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

    def _caller_id(self, fp: FlowPages, dial: Dial | None = None) -> str | None:
        """A dial's caller ID: its own, else its flow's, else call_flows', else the env's."""
        return (
            (dial.caller_id if dial else None)
            or fp.flow.caller_id
            or self._cf.caller_id
            or self._s.caller_id
        )

    def _status_url(self, fp: FlowPages, key: str, attempt: int | None) -> str:
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
        fp: FlowPages,
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

    def _sip_page(self, fp: FlowPages, key: str, user: str) -> Twiml:
        return self._render(
            "sip_user",
            sip_uri=self._cf.sip_users[user].uri,
            timeout=self._cf.dial_timeout,
            action=self._status_url(fp, key, None),
            record=fp.record,
            recording_callback=self._recording_callback,
        )

    def _action_page(self, fp: FlowPages, key: str, action: Action) -> Page:
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
            inside = key == "no_answer" or key.startswith("no_answer.")
            return fp.pages["operator_final" if inside else "operator"]
        assert action.hours is not None
        return self._hours_page(fp, key, action.hours)

    def _conference_page(self, fp: FlowPages, room: str | None) -> Page:
        """A conference: the room is named, or the caller's own; the label is the call's."""
        if room is None:
            return lambda req: self.conference(
                fp, "customer", conference_room(req.call_sid), req.call_sid
            )
        return lambda req: self.conference(fp, "member", room, req.call_sid)

    def _hours_page(self, fp: FlowPages, key: str, hours: Hours) -> Page:
        """Pick by the schedule at request time: holiday (when declared), open, else closed."""
        state_of = self._cf.schedules[hours.schedule].hours.state
        steps, now, outcome = fp.steps, self._now, self._outcome
        # A holiday without its own action is closed.
        keys = {
            "open": f"{key}.open",
            "closed": f"{key}.closed",
            "holiday": f"{key}.holiday" if hours.holiday is not None else f"{key}.closed",
        }
        counters: dict[tuple[str, str], Counter] = {}  # (route, state): labelled once

        def choose(req: CallRequest) -> Twiml:
            state = state_of(now())
            if hours.holiday is None and state == "holiday":
                state = "closed"
            counter = counters.get((req.flow, state))
            if counter is None:
                counter = counters[(req.flow, state)] = outcome.labels(req.flow, f"hours_{state}")
            counter.inc()
            return answer(steps[keys[state]], req)

        return choose

    def _no_answer_page(self, fp: FlowPages, key: str, dial: Dial | None) -> Page:
        """After an unanswered dial: its own no_answer, else the flow's, else a message."""
        if dial is not None and dial.no_answer is not None:
            return fp.steps[f"{key}.no_answer"]
        in_flow_no_answer = key == "no_answer" or key.startswith("no_answer.")
        if fp.flow.no_answer is not None and not in_flow_no_answer:
            return fp.steps["no_answer"]
        return fp.pages["no_answer"]

    def _continuation(self, fp: FlowPages, key: str, action: Action) -> None:
        """What /voice/dial/status answers for the step ``key`` when nobody answered."""
        if action.dial is None and action.sip_user is None:
            return
        no_answer = self._no_answer_page(fp, key, action.dial)
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

    def _consented(self, fp: FlowPages, page: Page) -> Page:
        """``page`` as an entry of ``fp``'s flow: its consent first, when the flow records."""
        consent = fp.consent
        if not consent:
            return page
        if isinstance(page, Twiml):
            return _splice(page, consent)
        return lambda req: _splice(page(req), consent)
