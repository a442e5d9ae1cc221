"""Outbound calls (``POST /2010-04-01/Accounts/AC…/Calls.json``) in the call simulator.

Like Twilio, the create answers at once (201, ``queued``) and the call proceeds on its own: a
background thread dials the callee, sends the status callback events asked for
(``StatusCallbackEvent``: initiated, ringing, answered, completed), and once the callee answers
requests ``Url`` (or runs ``Twiml``) with ``Direction=outbound-api``, ``AnsweredBy`` when
``MachineDetection`` is on, and follows the TwiML as for inbound calls.

How each callee behaves is scripted through the admin API (``PUT /_admin/calls/outbound``):
``{"cps": 1, "parties": {"+1415…": {"answer": "answered", "answered_by": "machine_end_beep",
"seconds": 20, "caller": [{"press": "1"}]}}}``; unscripted callees answer as humans. ``cps``
is the account's calls per second: a create beyond it answers 429 (code 20429, with
``Retry-After``), the signal a caller backs off on.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from emulator import errors
from emulator.calls import CallerStep, CallSpec, Party, SpecError, new_sid
from emulator.errors import TwilioError
from emulator.twiml_interpreter import TwimlError, parse_twiml

if TYPE_CHECKING:
    from emulator.simulate import CallState, Simulator

log = logging.getLogger("emulator")
AMD_ANSWERS = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)
EVENTS = ("initiated", "ringing", "answered", "completed")
_ADDRESS = re.compile(r"^(\+[1-9][0-9]{6,14}|sips?:[^@\s]+@[^\s]+|client:[A-Za-z0-9_.-]+)$")
INVALID_TO = 21211  # documented: the 'To' number is not a valid phone number
FROM_NOT_OWNED = 21210  # documented: 'From' phone number not verified
URL_REQUIRED = 21205  # Url parameter is required


class Callee:
    """How one outbound callee behaves (scripted through the admin API)."""

    def __init__(self, data: Mapping[str, Any] | str, where: str) -> None:
        if isinstance(data, str):  # the answer alone: "busy"
            data = {"answer": data}
        if not isinstance(data, Mapping):
            raise SpecError(f"{where}: an answer or a mapping of answer, answered_by, seconds")
        unknown = sorted(set(data) - {"answer", "answered_by", "seconds", "caller"})
        if unknown:
            raise SpecError(f"{where}: unknown keys {unknown}")
        self.party = Party.from_value(
            {k: data[k] for k in ("answer", "seconds") if k in data}, where
        )
        self.answered_by = str(data.get("answered_by", "human"))
        if self.answered_by not in AMD_ANSWERS:
            raise SpecError(f"{where}.answered_by: one of {', '.join(AMD_ANSWERS)}")
        steps = data.get("caller") or []
        if not isinstance(steps, list):
            raise SpecError(f"{where}.caller: a list of steps")
        self.steps = tuple(
            CallerStep.from_value(step, f"{where}.caller[{i}]") for i, step in enumerate(steps)
        )


class Outbound:
    """Outbound calls of one simulator: settings, the rate limit, the running calls."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.cps = 1.0
        self.callees: dict[str, Callee] = {}
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._threads: dict[str, threading.Thread] = {}
        self.results: dict[str, dict[str, Any]] = {}  # each ended call's result and trace

    def configure(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``{"cps": n, "parties": {...}}`` (SpecError when malformed)."""
        unknown = sorted(set(data) - {"cps", "parties"})
        if unknown:
            raise SpecError(f"unknown keys {unknown}; known: cps, parties")
        cps = data.get("cps", self.cps)
        if isinstance(cps, bool) or not isinstance(cps, int | float) or not 0 < cps <= 1000:
            raise SpecError("cps: calls per second, more than 0 and at most 1000")
        parties = data.get("parties", {})
        if not isinstance(parties, Mapping):
            raise SpecError("parties: a mapping of callee -> behaviour")
        callees = {str(k): Callee(v or {}, f"parties[{k}]") for k, v in parties.items()}
        with self._lock:
            self.cps = float(cps)
            if "parties" in data:
                self.callees = callees
        return {"cps": self.cps, "parties": sorted(self.callees)}

    def join(self, sid: str, timeout: float = 30.0) -> bool:
        """Wait for an outbound call to end (tests); True when it has."""
        with self._lock:
            thread = self._threads.get(sid)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _admit(self) -> None:
        now = self.simulator.store.clock()
        with self._lock:
            # Drop what is a second old, or from a clock that went back (a test's fake clock).
            while self._recent and not 0.0 <= now - self._recent[0] < 1.0:
                self._recent.popleft()
            if len(self._recent) >= max(1, int(self.cps)):
                raise TwilioError(
                    429,
                    errors.TOO_MANY_REQUESTS,
                    f"Too Many Requests: more than {self.cps:g} calls per second",
                )
            self._recent.append(now)

    def create(
        self,
        form: Sequence[tuple[str, str]],
        base_url: str,
        *,
        start: bool = True,
        limit: bool = True,
    ) -> dict[str, Any]:
        """Validate and queue an outbound call; the record it answers is ``queued``.

        With ``start`` (the REST API) the call then runs in the background.
        """
        values: dict[str, str] = {}
        events: list[str] = []
        for name, value in form:
            if name == "StatusCallbackEvent":
                events.extend(value.replace(",", " ").split())
            else:
                values.setdefault(name, value)
        to, from_ = values.get("To", ""), values.get("From", "")
        if not to:
            raise errors.missing("To")
        if not from_:
            raise errors.missing("From")
        if not _ADDRESS.match(to):
            raise errors.invalid(f"The 'To' number {to} is not a valid phone number.", INVALID_TO)
        store = self.simulator.store
        with store.lock:
            owned = store.find("incoming_phone_number", "phone_number", from_)
        if owned is None and not from_.startswith("client:"):
            raise errors.invalid(
                f"The source phone number provided, {from_}, is not yet verified for your account.",
                FROM_NOT_OWNED,
            )
        url, twiml = values.get("Url", ""), values.get("Twiml", "")
        if not (url or twiml or values.get("ApplicationSid")):
            raise errors.invalid("Either Url, Twiml or ApplicationSid is required", URL_REQUIRED)
        bad = sorted(set(events) - set(EVENTS))
        if bad:
            raise errors.invalid(f"StatusCallbackEvent: {bad} are not among {list(EVENTS)}")
        if limit:
            self._admit()
        sid = new_sid("CA")
        record = _queued(sid, to, from_, str(owned["sid"]) if owned else None)
        self.simulator._put("call", record)
        if not start:
            return record
        with self._lock:
            callee = self.callees.get(to)
        thread = threading.Thread(
            target=self._run,
            args=(sid, dict(values), events or ["completed"], callee, base_url),
            name=f"outbound-{sid}",
            daemon=True,
        )
        with self._lock:
            self._threads[sid] = thread
        thread.start()
        with store.lock:
            return dict(store.get("call", "", sid) or record)

    def place(self, spec: CallSpec, base_url: str) -> dict[str, Any]:
        """An outbound call from a scenario, run to its end here; its result and trace."""
        if not spec.url:
            raise SpecError(
                "call.url: the URL that answers the outbound call (twilio-voice simulate "
                "turns call.flow into it with the stack's public_base_url)"
            )
        party = spec.parties.get(spec.to, Party())
        callee = Callee(
            {"answer": party.answer, "seconds": party.seconds, "answered_by": spec.answered_by},
            "call",
        )
        callee.steps = spec.caller
        form = [("To", spec.to), ("From", spec.from_), ("Url", spec.url)]
        if spec.machine_detection:
            form.append(("MachineDetection", spec.machine_detection))
        if spec.status_callback:
            form.append(("StatusCallback", spec.status_callback))
            form += [("StatusCallbackEvent", event) for event in EVENTS]
        values = dict(form)
        events = list(EVENTS) if spec.status_callback else ["completed"]
        try:  # a scenario's call is not held to the account's calls per second
            record = self.create(form, base_url, start=False, limit=False)
        except TwilioError as exc:
            raise SpecError(f"call: {exc.message}") from None
        sid = str(record["sid"])
        self._call(sid, values, events, callee, base_url, spec)
        with self._lock:
            return self.results[sid]

    def _run(
        self,
        sid: str,
        values: dict[str, str],
        events: list[str],
        callee: Callee | None,
        base_url: str,
    ) -> None:
        try:
            self._call(sid, values, events, callee, base_url)
        except Exception:  # a bug must not kill the emulator's thread silently
            log.exception("simulated outbound call %s failed", sid)

    def _call(
        self,
        sid: str,
        values: dict[str, str],
        events: list[str],
        callee: Callee | None,
        base_url: str,
        scenario: CallSpec | None = None,
    ) -> None:
        from emulator.simulate import Fetch, Target, _Hangup

        simulator = self.simulator
        to, from_ = values["To"], values["From"]
        behaviour = callee or Callee({}, "callee")
        url, method = values.get("Url", ""), values.get("Method", "POST")
        application = values.get("ApplicationSid", "")
        fallback = values.get("FallbackUrl", "")
        if application:
            with simulator.store.lock:
                app = simulator.store.get("application", "", application)
            if app is not None:
                url = str(app.get("voice_url") or "")
                method = str(app.get("voice_method") or "POST")
                fallback = str(app.get("voice_fallback_url") or "")
        target = Target(
            "outbound",
            sid,
            to,
            voice_url=url,
            voice_method=method,
            fallback_url=fallback,
            fallback_method=values.get("FallbackMethod", "POST"),
            status_callback=values.get("StatusCallback", ""),
            status_callback_method=values.get("StatusCallbackMethod", "POST"),
            extra={"events": tuple(events), "number_sid": self._number_sid(from_)},
        )
        spec = scenario or CallSpec(to=to, from_=from_, caller=behaviour.steps)
        base = {
            "AccountSid": simulator.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "Direction": "outbound-api",
            "From": from_,
            "To": to,
            "Caller": from_,
            "Called": to,
        }
        call = simulator.new_call(spec, sid, base, target, base_url)
        call.status = "queued"
        call.live = True
        call.note("call", sid=sid, direction="outbound-api", **{"from": from_, "to": to})
        self._event(call, "initiated", "initiated")
        answer = behaviour.party.answer
        if answer != "failed":
            call.status = "ringing"
            self._event(call, "ringing", "ringing")
        if answer != "answered":
            call.status = answer
            call.note("callee", answer=answer)
            simulator.finish(call)
            self._done(call)
            return
        call.answer()
        detection = values.get("MachineDetection", "")
        if detection in ("Enable", "DetectMessageEnd"):
            answered_by = behaviour.answered_by
            if detection == "Enable" and answered_by.startswith("machine_end"):
                answered_by = "machine_start"
            call.base["AnsweredBy"] = answered_by
            call.answered_by = answered_by
            call.note("amd", answered_by=answered_by, mode=detection)
        self._event(call, "answered", "in-progress")
        try:
            if values.get("Twiml"):
                try:
                    verbs = parse_twiml(values["Twiml"].encode(), "text/xml")
                except TwimlError as exc:
                    simulator._alert(call, exc.code, "", exc.message)
                    simulator._application_error(call)
                else:
                    pending = simulator._execute(call, verbs, base_url)
                    if pending is not None:
                        simulator._run(call, pending)
            elif target.voice_url:
                simulator._run(call, Fetch(target.voice_url, target.voice_method, "voice"))
        except _Hangup:
            call.note("callee-hangup")
        simulator.finish(call)
        self._done(call)

    def _done(self, call: CallState) -> None:
        result = self.simulator.result(call)
        with self._lock:
            self.results[call.sid] = result

    def _number_sid(self, number: str) -> str | None:
        store = self.simulator.store
        with store.lock:
            owned = store.find("incoming_phone_number", "phone_number", number)
        return str(owned["sid"]) if owned else None

    def _event(self, call: CallState, event: str, status: str) -> None:
        target = call.target
        if not target.status_callback or event not in target.extra.get("events", ()):
            return
        self.simulator.status_event(call, status, event)


def _queued(sid: str, to: str, from_: str, phone_number_sid: str | None) -> dict[str, Any]:
    from emulator.simulate import _call_record

    record = _call_record(sid, to, from_, "queued", "outbound-api", 0)
    record.update(start_time=None, end_time=None, duration=None, phone_number_sid=phone_number_sid)
    return record


__all__ = ["AMD_ANSWERS", "Callee", "Outbound"]
