"""Outbound calls from a declared number to a flow: the library behind `twilio-voice call`.

    placer = CallPlacer(api, env, cps=1.0)
    record = placer.place("+14155550199", from_="+14155550120", flow="ivr_main",
                          machine_detection="DetectMessageEnd")

- The caller ID must be one of the stack's declared numbers, the flow a route the app answers
  calls on (`kind: twiml`), the callee an E.164 number or a `sip:` URI.
- The call's `Url` is the flow's webhook URL under the stack's `public_base_url`; its status
  callback is `status_callback_flow` (default `call_status`, which the app deduplicates, so a
  redelivered event is processed once) with every progress event.
- Calls are paced to `cps` calls per second for the account (Twilio queues calls beyond the
  account's CPS; pacing keeps a batch from piling up there), and a 429 answer is retried after
  the backoff (`Retry-After` honoured). Nothing else is retried: a create whose answer was
  lost may have dialled someone, and dialling them twice is worse than reporting it.
- `machine_detection` (`Enable` or `DetectMessageEnd`) asks Twilio to detect answering
  machines: the flow then receives `AnsweredBy` (`human`, `machine_start`,
  `machine_end_beep`…) and decides: the app's `outbound_call` flow leaves a voicemail drop on
  a machine, gives a person the IVR and hangs up on a fax or `unknown`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

from infra.client import RetryPolicy, TwilioApi, backoff_delay
from infra.errors import TwilioApiError
from infra.spec import Environment
from infra.urls import route_for, webhook

MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
EVENTS = ("initiated", "ringing", "answered", "completed")
_CALLEE = re.compile(r"^(\+[1-9][0-9]{6,14}|sips?:[^@\s]+@[^\s]+)$")


class OutboundError(ValueError):
    """A call that must not be placed as asked (the message says why)."""


@dataclass
class CallPlacer:
    """Places calls for one stack, paced to ``cps`` calls per second, 429s retried."""

    api: TwilioApi
    env: Environment
    cps: float = 1.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.cps <= 1000:
            raise OutboundError(f"cps must be more than 0 and at most 1000, got {self.cps}")

    def form(
        self,
        to: str,
        *,
        from_: str,
        flow: str,
        machine_detection: str | None = None,
        status_callback_flow: str | None = "call_status",
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The create parameters (OutboundError when the call is not allowed).

        ``query`` goes on the flow's URL (``?leg=agent&customer=CA…``): Twilio signs it whole.
        """
        declared = {number.e164 for number in self.env.numbers}
        if from_ not in declared:
            raise OutboundError(
                f"caller ID {from_} is not a number the stack declares "
                f"({', '.join(sorted(declared)) or 'none'})"
            )
        if not _CALLEE.match(to):
            raise OutboundError(f"callee {to!r} is not an E.164 number (+…) or a sip: URI")
        try:
            route = route_for(flow)
        except ValueError as exc:
            raise OutboundError(str(exc)) from None
        if route.kind != "twiml":
            raise OutboundError(f"flow {flow!r} does not answer calls (its route is {route.kind})")
        hook = webhook(self.env.public_base_url, flow)
        url = f"{hook.url}?{urlencode(dict(query))}" if query else hook.url
        data: dict[str, Any] = {"To": to, "From": from_, "Url": url, "Method": hook.method}
        if status_callback_flow:
            status = webhook(self.env.public_base_url, status_callback_flow)
            data.update(
                StatusCallback=status.url,
                StatusCallbackMethod=status.method,
                StatusCallbackEvent=list(EVENTS),
            )
        if machine_detection:
            if machine_detection not in MACHINE_DETECTION:
                raise OutboundError(f"machine_detection must be one of {MACHINE_DETECTION}")
            data["MachineDetection"] = machine_detection
        return data

    def place(
        self,
        to: str,
        *,
        from_: str,
        flow: str,
        machine_detection: str | None = None,
        status_callback_flow: str | None = "call_status",
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create the call (paced, 429s retried); the Call resource Twilio answered."""
        data = self.form(
            to,
            from_=from_,
            flow=flow,
            machine_detection=machine_detection,
            status_callback_flow=status_callback_flow,
            query=query,
        )
        path = f"/2010-04-01/Accounts/{self.api.account_sid}/Calls.json"
        url = self.api.url("api", path)
        start = self.clock()
        attempt = 1
        while True:
            self._pace()
            try:
                # requests sends a list value as repeated fields (StatusCallbackEvent=…&…)
                record = self.api.send_once("POST", url, data=cast(Mapping[str, str], data))
            except TwilioApiError as exc:
                if exc.status != 429 or attempt >= self.policy.max_attempts:
                    raise
                delay = backoff_delay(attempt, self.policy, exc.retry_after)
                if self.clock() - start + delay > self.policy.total_budget:
                    raise
                self.sleep(delay)
                attempt += 1
                continue
            if record is None:
                raise TwilioApiError(201, None, f"empty response for POST {path}")
            return record

    def _pace(self) -> None:
        now = self.clock()
        if now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + 1.0 / self.cps


__all__ = ["EVENTS", "MACHINE_DETECTION", "CallPlacer", "OutboundError"]
