"""The call simulator: the emulator plays Twilio's side of an inbound call through the app.

Given a :class:`~emulator.calls.CallSpec` it resolves the target the account holds (a number,
with its voice URL, application or trunk; a SIP domain URI; a BYOC trunk), then does what
Twilio does: signed webhook requests with Twilio's parameters, TwiML interpretation, action
URLs, the fallback URL with ``ErrorCode``/``ErrorUrl`` on 11200/12100/12300, Monitor alerts,
recording and status callbacks. Everything it did is returned as a JSON-able result with a
step-by-step trace. No clock is read for decisions and nothing random decides anything: the
script (caller steps, parties, app faults) decides, so a scenario gives the same trace each run
(SIDs and timestamps aside).

Twilio behaviours modelled (and where this simplifies, said so in docs/simulator.md):

- The number's ``voice_url`` (or its application's, or the SIP domain's / BYOC trunk's) is
  requested with its method; a failure (connection, timeout, non-2xx: 11200; wrong
  Content-Type: 12300; unparsable or non-TwiML document: 12100) goes to the fallback URL once,
  with ``ErrorCode`` and ``ErrorUrl``, and raises a Monitor alert. A failure with no fallback,
  or of a later document, ends the call with Twilio's "application error" message.
- A number on an Elastic SIP trunk goes to the trunk's origination URLs (no webhook); when
  none answers (``origination: unreachable``) the trunk's disaster-recovery URL is requested.
- A SIP domain call must pass the domain's call authentication (an IP ACL that holds the
  source IP, or a credential list with the username and password), else SIP 403 and no webhook.
- Incoming calls' status callbacks (number, application, SIP domain, BYOC) carry the final
  status only (``completed``, ``busy``, ``no-answer``, ``failed``), as Twilio sends for them;
  ``<Number>``/``<Sip>``/``<Client>`` ``statusCallbackEvent`` get the events asked for.
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import logging
import re
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import phonenumbers

from emulator.alerts import add_alert
from emulator.calls import AppFault, CallSpec, Party, SpecError, new_sid
from emulator.conferences import Conferences
from emulator.numbers import friendly
from emulator.outbound import Outbound
from emulator.signing import signature
from emulator.store import Record, Store
from emulator.twiml_interpreter import (
    HTTP_RETRIEVAL_FAILURE,
    TwimlError,
    Verb,
    parse_twiml,
)

log = logging.getLogger("emulator")
API_VERSION = "2010-04-01"
USER_AGENT = "TwilioProxy/1.1"
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
INVALID_CALLER_ID = 13214  # Dial: invalid callerId value
SIP_ORIGINATION_FAILED = 32011  # trunking: error from the origination SIP server
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MAX_BODY = 256 * 1024
_DIAL_STATUS = {
    "answered": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
}
# Verbs that answer a ringing call (Reject, Hangup and Redirect do not; Dial decides itself).
_ANSWERING = frozenset({"Say", "Play", "Pause", "Gather", "Record", "Enqueue", "Connect", "Echo"})
_SIP_CODES = {"answered": "200", "busy": "486", "no-answer": "487", "failed": "503"}
# <Dial record>: the value -> (records from, channels). "true" is Twilio's legacy spelling of
# record-from-answer; do-not-record (the default) and "false" record nothing.
_DIAL_RECORD = {
    "record-from-answer": ("answer", 1),
    "record-from-ringing": ("ringing", 1),
    "record-from-answer-dual": ("answer", 2),
    "record-from-ringing-dual": ("ringing", 2),
    "true": ("answer", 1),
}


@dataclass(frozen=True)
class HttpResult:
    """What a webhook request got: status, content type and body, or a transport error."""

    status: int = 0
    content_type: str = ""
    body: bytes = b""
    error: str = ""  # "timeout", "connection: ...": no HTTP answer at all


Transport = Callable[[str, str, bytes | None, Mapping[str, str], float], HttpResult]


def urllib_transport(
    method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float
) -> HttpResult:
    """One HTTP request with a timeout; 4xx/5xx are answers, not errors."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return HttpResult(
                response.status, response.headers.get("Content-Type", ""), response.read(_MAX_BODY)
            )
    except urllib.error.HTTPError as exc:
        content_type = exc.headers.get("Content-Type", "") if exc.headers else ""
        return HttpResult(exc.code, content_type, exc.read(_MAX_BODY))
    except TimeoutError:
        return HttpResult(error="timeout")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return HttpResult(error="timeout")
        return HttpResult(error=f"connection: {reason}")


@dataclass(frozen=True)
class Target:
    """The provisioned voice configuration a call reaches."""

    kind: str  # number, application, sip_domain, byoc_trunk, trunk
    sid: str
    name: str
    voice_url: str = ""
    voice_method: str = "POST"
    fallback_url: str = ""
    fallback_method: str = "POST"
    status_callback: str = ""
    status_callback_method: str = "POST"
    caller_id_lookup: bool = False
    number: str = ""  # the called number (numbers and trunks)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fetch:
    """The next TwiML document to request."""

    url: str
    method: str
    purpose: str
    params: Mapping[str, str] = field(default_factory=dict)
    execute: bool = True  # a Record action after the caller hung up: requested, not run


class _Hangup(Exception):
    """The caller hung up: stop executing TwiML."""


class CallState:
    """One call in progress: its parameters, status, script position and everything it did."""

    def __init__(
        self, spec: CallSpec, sid: str, base: dict[str, str], target: Target, base_url: str
    ) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.sid = sid
        self.base = base
        self.target = target
        self.status = "ringing"
        self.answered_at: float | None = None
        self.clock = 0.0  # simulated seconds since the call arrived
        self.trace: list[dict[str, Any]] = []
        self.heard: list[str] = []
        self.dialled: list[dict[str, Any]] = []
        self.recordings: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.fallback: dict[str, Any] | None = None
        self.deferred: list[Callable[[], None]] = []
        self.fault_hits: dict[int, int] = {}
        self._steps = list(spec.caller)
        self.sequence = 0
        self.answered_by: str | None = None
        self.live = False  # a live call waits in a conference until something ends it

    def note(self, kind: str, **detail: Any) -> None:
        self.trace.append({"step": len(self.trace) + 1, "kind": kind, "t": self.clock, **detail})

    def answer(self) -> None:
        if self.answered_at is None:
            self.answered_at = self.clock
            self.status = "in-progress"

    def params(self, **extra: str) -> dict[str, str]:
        return {**self.base, "CallStatus": self.status, **extra}

    def next_step(self, accepts: Sequence[str]) -> Any:
        """The caller's next step if it is one of ``accepts`` (consumed), else None."""
        if self._steps and self._steps[0].action in accepts:
            return self._steps.pop(0)
        return None

    def peek(self) -> str:
        return self._steps[0].action if self._steps else ""

    @property
    def duration(self) -> int:
        return 0 if self.answered_at is None else int(self.clock - self.answered_at)


class Simulator:
    """Places simulated calls against the emulator's account state."""

    def __init__(
        self,
        store: Store,
        account_sid: str,
        auth_token: str,
        transport: Transport = urllib_transport,
    ) -> None:
        self.store = store
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.transport = transport
        self.outbound = Outbound(self)
        self.conferences = Conferences(self)
        self.results: dict[str, dict[str, Any]] = {}  # background calls' results
        self._threads: dict[str, threading.Thread] = {}
        self._threads_lock = threading.Lock()

    # --- resolving the target ---------------------------------------------------------------

    def resolve(self, spec: CallSpec) -> Target:
        """The provisioned configuration the call reaches (SpecError: the account has none)."""
        with self.store.lock:
            if spec.byoc_trunk:
                return self._byoc(spec.byoc_trunk)
            if spec.to.startswith(("sip:", "sips:")):
                return self._sip_domain(spec.to)
            number = self.store.find("incoming_phone_number", "phone_number", spec.to)
            if number is None:
                raise SpecError(
                    f"call.to: {spec.to} is no number this account owns, and no SIP URI "
                    f"(sip:user@<domain>.sip.twilio.com); for a BYOC call name call.byoc_trunk"
                )
            return self._number(number)

    def _number(self, number: Record) -> Target:
        e164 = str(number["phone_number"])
        if number.get("trunk_sid"):
            trunk = self._one("trunk", str(number["trunk_sid"]))
            origination = sorted(
                (
                    rec
                    for _, rec in self.store.items("origination_url", str(trunk["sid"]))
                    if rec.get("enabled", True)
                ),
                key=lambda rec: (
                    int(str(rec.get("priority", 10))),
                    -int(str(rec.get("weight", 10))),
                ),
            )
            return Target(
                "trunk",
                str(trunk["sid"]),
                str(trunk.get("friendly_name") or trunk["sid"]),
                voice_url=str(trunk.get("disaster_recovery_url") or ""),
                voice_method=str(trunk.get("disaster_recovery_method") or "POST"),
                number=e164,
                extra={
                    "origination": [str(rec["sip_url"]) for rec in origination],
                    "number_sid": str(number["sid"]),
                },
            )
        source: Record = number
        kind, sid = "number", str(number["sid"])
        if number.get("voice_application_sid"):
            source = self._one("application", str(number["voice_application_sid"]))
            kind, sid = "application", str(source["sid"])
        return _voice_target(
            kind,
            source,
            str(source.get("friendly_name") or sid),
            ("status_callback", "status_callback_method"),
            caller_id_lookup=bool(number.get("voice_caller_id_lookup")),
            number=e164,
            extra={"number_sid": str(number["sid"])},
        )

    def _sip_domain(self, uri: str) -> Target:
        host = _sip_host(uri)
        domain = self.store.find("sip_domain", "domain_name", host)
        if domain is None:
            raise SpecError(f"call.to: {uri}: no SIP domain {host!r} in this account")
        return _voice_target(
            "sip_domain",
            domain,
            str(domain.get("friendly_name") or domain["domain_name"]),
            ("voice_status_callback_url", "voice_status_callback_method"),
            extra={"domain_name": host},
        )

    def _byoc(self, name: str) -> Target:
        trunk = None
        for _, rec in self.store.items("byoc_trunk"):
            if name in (rec["sid"], rec.get("friendly_name")):
                trunk = rec
                break
        if trunk is None:
            raise SpecError(f"call.byoc_trunk: no BYOC trunk named or with SID {name!r}")
        return _voice_target(
            "byoc_trunk",
            trunk,
            str(trunk.get("friendly_name") or trunk["sid"]),
            ("status_callback_url", "status_callback_method"),
            caller_id_lookup=bool(trunk.get("cnam_lookup_enabled")),
        )

    def _put(self, kind: str, record: dict[str, Any]) -> None:
        """Keep a call or recording in the account's state (the REST API lists them)."""
        with self.store.lock:
            now = self.store.clock()
            stored = {**record, "account_sid": self.account_sid}
            stored.update(date_created=now, date_updated=now)
            self.store.put(kind, "", stored)
            self.store.save()

    def _one(self, kind: str, sid: str) -> Record:
        for key, rec in self.store.items(kind):
            if key[1] == sid:
                return rec
        raise SpecError(f"the account refers to {kind} {sid}, which does not exist")

    def _sip_auth(self, domain_sid: str, spec: CallSpec) -> str:
        """Why the domain refuses the call ("" when it is authenticated)."""
        acls = [
            sid
            for kind in (
                "auth_calls_ip_access_control_list_mapping",
                "ip_access_control_list_mapping",
            )
            for (_, sid), _ in self.store.items(kind, domain_sid)
        ]
        lists = [
            sid
            for kind in ("auth_calls_credential_list_mapping", "credential_list_mapping")
            for (_, sid), _ in self.store.items(kind, domain_sid)
        ]
        if not acls and not lists:
            return "the domain maps no IP access control list or credential list for calls"
        try:
            source = ipaddress.ip_address(spec.source_ip)
        except ValueError:
            return f"source IP {spec.source_ip!r} is not an IP address"
        for acl in acls:
            for _, rec in self.store.items("sip_ip_address", acl):
                net = ipaddress.ip_network(
                    f"{rec['ip_address']}/{rec.get('cidr_prefix_length', 32)}", strict=False
                )
                if source in net:
                    return ""
        if spec.sip_username:
            digest = "sha256:" + hashlib.sha256(spec.sip_password.encode()).hexdigest()
            for clist in lists:
                for _, rec in self.store.items("sip_credential", clist):
                    if rec.get("username") == spec.sip_username and rec.get("password") == digest:
                        return ""
            return f"credentials of {spec.sip_username!r} not accepted by the domain's lists"
        return f"source IP {spec.source_ip} is in none of the domain's IP ACLs, and no sip_auth"

    # --- placing the call -------------------------------------------------------------------

    def place(
        self, spec: CallSpec, base_url: str, *, sid: str = "", live: bool = False
    ) -> dict[str, Any]:
        """Run one call to its end; the result (JSON-able) holds its trace and records.

        ``base_url`` is the emulator's own URL, for the ``RecordingUrl`` it serves. A ``live``
        call stays in a conference until something ends its part (see emulator.conferences).
        """
        target = self.resolve(spec)
        sid = sid or new_sid("CA")
        call = self.new_call(spec, sid, self._base_params(spec, sid, target), target, base_url)
        call.live = live
        call.note(
            "call",
            sid=sid,
            direction="inbound",
            **{"from": spec.from_, "to": spec.to},
            target={"kind": target.kind, "sid": target.sid, "name": target.name},
        )
        try:
            first = self._arrive(call)
            if first is not None:
                self._run(call, first)
        except _Hangup:
            call.note("caller-hangup")
        self.finish(call)
        return self.result(call)

    def place_async(self, spec: CallSpec, base_url: str) -> str:
        """Start a live call in the background (SpecError at once if it cannot be placed)."""
        self.resolve(spec)
        sid = new_sid("CA")

        def run() -> None:
            try:
                result = self.place(spec, base_url, sid=sid, live=True)
            except Exception:  # a bug must not kill the emulator's thread silently
                log.exception("simulated call %s failed", sid)
                result = {"call_sid": sid, "status": "failed", "trace": []}
            with self._threads_lock:
                self.results[sid] = result

        thread = threading.Thread(target=run, name=f"call-{sid}", daemon=True)
        with self._threads_lock:
            self._threads[sid] = thread
        thread.start()
        return sid

    def join(self, sid: str, timeout: float = 30.0) -> dict[str, Any] | None:
        """Wait for a background call (inbound or outbound) to end; its result, or None."""
        with self._threads_lock:
            thread = self._threads.get(sid)
        if thread is not None:
            thread.join(timeout)
        elif not self.outbound.join(sid, timeout):
            return None
        with self._threads_lock:
            result = self.results.get(sid)
        return result if result is not None else self.outbound.results.get(sid)

    def new_call(
        self, spec: CallSpec, sid: str, base: dict[str, str], target: Target, base_url: str
    ) -> CallState:
        return CallState(spec, sid, base, target, base_url)

    def _base_params(self, spec: CallSpec, sid: str, target: Target) -> dict[str, str]:
        to = spec.to
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": sid,
            "Direction": "inbound",
            "From": spec.from_,
            "To": to,
            "Caller": spec.from_,
            "Called": to,
        }
        if target.kind == "sip_domain":
            params.update(
                {
                    "SipCallId": f"{sid[2:18]}@{spec.source_ip}",
                    "SipDomain": str(target.extra.get("domain_name", "")),
                    "SipDomainSid": target.sid,
                    "SipSourceIp": spec.source_ip,
                }
            )
        else:
            for side, number in (("From", spec.from_), ("To", to)):
                country = _country(number)
                for prefix in (side, "Caller") if side == "From" else (side, "Called"):
                    params.update(
                        {
                            f"{prefix}City": "",
                            f"{prefix}State": "",
                            f"{prefix}Zip": "",
                            f"{prefix}Country": country,
                        }
                    )
        if target.kind == "byoc_trunk":
            params["SipCallId"] = f"{sid[2:18]}@{spec.source_ip}"
            params["SipSourceIp"] = spec.source_ip
        for name, value in spec.sip_headers.items():
            params[f"SipHeader_{name}"] = value
        if target.caller_id_lookup:
            params["CallerName"] = spec.caller_name
        return params

    def _arrive(self, call: CallState) -> Fetch | None:
        """Where the call goes first: the voice URL, or the trunk's origination then DR."""
        target, spec = call.target, call.spec
        if target.kind == "sip_domain":
            with self.store.lock:
                refused = self._sip_auth(target.sid, spec)
            if refused:
                call.note("sip-refused", code=403, reason=refused)
                call.status = "failed"
                return None
        if target.kind == "trunk":
            uris = list(target.extra.get("origination", []))
            for uri in uris:
                outcome = spec.origination
                code = {"answered": 200, "busy": 486, "unreachable": 408}[outcome]
                call.note("origination", uri=uri, outcome=outcome, sip_response_code=code)
                if outcome == "answered":
                    call.answer()
                    party = spec.parties.get(uri, Party())
                    call.clock += party.seconds
                    return None
                if outcome == "busy":
                    call.status = "busy"
                    return None
            if not uris:
                call.note("origination", uri=None, outcome="none configured")
            if not target.voice_url:
                call.note(
                    "trunk-failed",
                    error_code=SIP_ORIGINATION_FAILED,
                    reason="no disaster recovery URL",
                )
                self._alert(
                    call,
                    SIP_ORIGINATION_FAILED,
                    "",
                    "origination failed and the trunk has no disaster recovery URL",
                )
                call.status = "failed"
                return None
            return Fetch(target.voice_url, target.voice_method, "disaster-recovery")
        if not target.voice_url:
            call.note("no-voice-url", target=target.kind)
            if target.fallback_url:
                return Fetch(
                    target.fallback_url,
                    target.fallback_method,
                    "fallback",
                    {"ErrorCode": str(HTTP_RETRIEVAL_FAILURE), "ErrorUrl": ""},
                )
            self._alert(
                call, HTTP_RETRIEVAL_FAILURE, "", f"{target.kind} {target.name} has no voice URL"
            )
            call.status = "failed"
            return None
        return Fetch(target.voice_url, target.voice_method, "voice")

    def _run(self, call: CallState, first: Fetch) -> None:
        pending: Fetch | None = first
        documents = 0
        while pending is not None:
            documents += 1
            if documents > call.spec.max_documents:
                call.note("loop-limit", documents=call.spec.max_documents)
                self._application_error(call)
                return
            fetch = pending
            pending = None
            result = self._fetch_twiml(call, fetch)
            if isinstance(result, TwimlError):
                pending = self._failed(call, fetch, result)
                continue
            self._flush_deferred(call)
            if not fetch.execute:
                return
            pending = self._execute(call, result, fetch.url)

    def _failed(self, call: CallState, fetch: Fetch, error: TwimlError) -> Fetch | None:
        self._alert(call, error.code, fetch.url, error.message)
        target = call.target
        if fetch.purpose == "voice" and target.fallback_url:
            call.note("fallback", error_code=error.code, url=target.fallback_url)
            call.fallback = {
                "error_code": error.code,
                "error_url": fetch.url,
                "url": target.fallback_url,
            }
            return Fetch(
                target.fallback_url,
                target.fallback_method,
                "fallback",
                {"ErrorCode": str(error.code), "ErrorUrl": fetch.url},
            )
        self._application_error(call)
        return None

    def _application_error(self, call: CallState) -> None:
        call.answer()
        call.heard.append(APPLICATION_ERROR)
        call.note("say", text=APPLICATION_ERROR, by="twilio")
        call.note("hangup", by="twilio")

    def _alert(self, call: CallState, code: int, url: str, message: str) -> None:
        """A Monitor alert (``monitor/v1/Alerts`` lists it), as Twilio's debugger records one."""
        last = call.requests[-1] if call.requests and call.requests[-1]["url"] == url else None
        values = {
            "error_code": str(code),
            "log_level": "error",
            "request_url": url,
            "request_method": last["method"] if last else "POST",
            "request_variables": urlencode(sorted(last["params"].items())) if last else "",
            "response_body": last.get("body", "") if last else "",
            "resource_sid": call.sid,
            "alert_text": f"Msg={message}&ErrorCode={code}&url={url}",
        }
        with self.store.lock:
            record = add_alert(self.store, values)
            self.store.save()
        call.alerts.append(
            {
                "sid": record["sid"],
                "error_code": str(code),
                "request_url": url,
                "alert_text": message,
                "call_sid": call.sid,
            }
        )
        call.note("alert", error_code=code, url=url, message=message)

    # --- HTTP -------------------------------------------------------------------------------

    def _send(
        self, call: CallState, purpose: str, url: str, method: str, params: Mapping[str, str]
    ) -> HttpResult:
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        pairs = sorted(params.items())
        body: bytes | None = None
        if method == "GET":
            request_url = url + ("&" if "?" in url else "?") + urlencode(pairs) if pairs else url
            sig = signature(self.auth_token, request_url)
        else:
            request_url = url
            body = urlencode(pairs).encode()
            sig = signature(self.auth_token, url, pairs)
        headers = {
            "X-Twilio-Signature": sig,
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": new_sid(""),
            "Accept": "*/*",
            "Cache-Control": "max-age=259200",
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        fault = self._fault(call, url)
        if fault is not None:
            result = _faulted(fault)
        else:
            result = self.transport(method, request_url, body, headers, call.spec.timeout)
        entry = {
            "purpose": purpose,
            "method": method,
            "url": url,
            "path": urlsplit(url).path,
            "query": urlsplit(url).query,
            "params": dict(params),
            "status": result.status,
            "content_type": result.content_type,
            "error": result.error,
            "injected": fault is not None,
            "body": result.body[:2048].decode("utf-8", "replace"),
        }
        call.requests.append(entry)
        call.note(
            "request",
            purpose=purpose,
            method=method,
            url=url,
            status=result.status or None,
            error=result.error or None,
            injected=fault is not None or None,
        )
        return result

    def _fault(self, call: CallState, url: str) -> AppFault | None:
        parts = urlsplit(url)
        for index, fault in enumerate(call.spec.faults):
            if fault.path in (
                url,
                parts.path,
                parts.path + ("?" + parts.query if parts.query else ""),
            ):
                hits = call.fault_hits.get(index, 0)
                if fault.times and hits >= fault.times:
                    continue
                call.fault_hits[index] = hits + 1
                return fault
        return None

    def _fetch_twiml(self, call: CallState, fetch: Fetch) -> tuple[Verb, ...] | TwimlError:
        result = self._send(
            call, fetch.purpose, fetch.url, fetch.method, call.params(**fetch.params)
        )
        if result.error:
            return TwimlError(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: {result.error}")
        if not 200 <= result.status < 300:
            return TwimlError(
                HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: status {result.status}"
            )
        try:
            verbs = parse_twiml(result.body, result.content_type, fetch.url)
        except TwimlError as exc:
            return exc
        call.note("twiml", url=fetch.url, verbs=[verb.summary() for verb in verbs])
        return verbs

    def _callback(
        self, call: CallState, purpose: str, url: str, method: str, params: Mapping[str, str]
    ) -> None:
        """A callback (status, recording): Twilio ignores what it answers, but we record it."""
        result = self._send(call, purpose, url, method, params)
        if result.error or not 200 <= result.status < 300:
            self._alert(
                call,
                HTTP_RETRIEVAL_FAILURE,
                url,
                f"callback failed: {result.error or f'status {result.status}'}",
            )

    def _flush_deferred(self, call: CallState) -> None:
        while call.deferred:
            call.deferred.pop(0)()

    # --- TwiML ------------------------------------------------------------------------------

    def _execute(self, call: CallState, verbs: Sequence[Verb], document: str) -> Fetch | None:
        for index, verb in enumerate(verbs):
            outcome = self._verb(call, verb, document, index)
            if outcome == "end":
                return None
            if isinstance(outcome, Fetch):
                return outcome
        call.note("end-of-document", url=document)
        return None

    def _verb(self, call: CallState, verb: Verb, document: str, index: int) -> Any:
        handler = getattr(self, f"_verb_{verb.name.lower()}", None)
        if handler is None:
            call.note("unsupported", verb=verb.name, note="not simulated; skipped")
            return None
        if verb.name in _ANSWERING:
            call.answer()
        return handler(call, verb, document, index)

    def _verb_say(self, call: CallState, verb: Verb, document: str, index: int) -> None:
        call.heard.append(verb.text)
        call.note(
            "say",
            text=verb.text,
            voice=verb.attr("voice") or None,
            language=verb.attr("language") or None,
        )
        call.clock += max(1, len(verb.text.split()) // 3)

    def _verb_play(self, call: CallState, verb: Verb, document: str, index: int) -> None:
        url = urljoin(document, verb.text) if verb.text else ""
        call.heard.append(f"[play {url or verb.attr('digits')}]")
        call.note("play", url=url or None, digits=verb.attr("digits") or None)
        call.clock += 3

    def _verb_pause(self, call: CallState, verb: Verb, document: str, index: int) -> None:
        seconds = verb.number("length", 1)
        call.note("pause", seconds=seconds)
        call.clock += seconds

    def _verb_hangup(self, call: CallState, verb: Verb, document: str, index: int) -> str:
        call.note("hangup")
        return "end"

    def _verb_reject(self, call: CallState, verb: Verb, document: str, index: int) -> str:
        reason = verb.attr("reason", "rejected")
        call.note("reject", reason=reason, answered=call.answered_at is not None)
        if call.answered_at is None:
            call.status = "busy" if reason == "busy" else "no-answer"
        return "end"

    def _verb_redirect(self, call: CallState, verb: Verb, document: str, index: int) -> Fetch:
        url = urljoin(document, verb.text)
        call.note("redirect", url=url)
        return Fetch(url, verb.attr("method", "POST"), "redirect")

    def _verb_gather(self, call: CallState, verb: Verb, document: str, index: int) -> Fetch | None:
        inputs = verb.attr("input", "dtmf").split()
        action = urljoin(document, verb.attr("action")) if verb.attr("action") else document
        method = verb.attr("method", "POST")
        for child in verb.children:
            self._verb(call, child, document, index)
        if call.peek() == "hangup":
            call.next_step(("hangup",))
            raise _Hangup
        step = call.next_step(("press", "say", "silence"))
        timeout = verb.number("timeout", 5)
        if step is not None and step.action == "press" and "dtmf" in inputs:
            digits = step.value.replace("w", "")
            finish = verb.attr("finishOnKey", "#")
            num = verb.number("numDigits", 0)
            if finish and finish in digits:
                digits = digits.split(finish, 1)[0]
            if num > 0:
                digits = digits[:num]
            call.note("gather", input="dtmf", digits=digits, action=action)
            return Fetch(action, method, "gather", {"Digits": digits})
        if step is not None and step.action == "say" and "speech" in inputs:
            call.note("gather", input="speech", speech=step.value, action=action)
            return Fetch(
                action, method, "gather", {"SpeechResult": step.value, "Confidence": "0.92"}
            )
        if step is not None and step.action != "silence":
            call.note(
                "gather-ignored",
                caller=step.action,
                value=step.value,
                listens_for=inputs,
                note="the Gather does not listen for this input: it times out",
            )
        call.clock += timeout
        call.note("gather", input=None, timeout=timeout)
        if verb.flag("actionOnEmptyResult"):
            return Fetch(action, method, "gather", {})
        return None

    def _verb_record(self, call: CallState, verb: Verb, document: str, index: int) -> Fetch | None:
        action = urljoin(document, verb.attr("action")) if verb.attr("action") else document
        method = verb.attr("method", "POST")
        if verb.flag("playBeep", True):
            call.note("beep")
        if call.peek() == "hangup":
            call.next_step(("hangup",))
            raise _Hangup
        step = call.next_step(("message",))
        max_length = verb.number("maxLength", 3600)
        if step is None:
            seconds = verb.number("timeout", 5)
            call.clock += seconds
            call.note("record", recorded=False, note=f"caller silent for {seconds}s: no recording")
            return None
        seconds = min(step.seconds, max_length)
        call.clock += seconds
        finish_keys = verb.attr("finishOnKey", "1234567890*#")
        if step.finish == "hangup":
            digits = "hangup"
        elif step.finish in finish_keys and step.finish not in ("", "timeout"):
            digits = step.finish
        else:
            digits = ""
        recording = self._recording(
            call,
            seconds,
            "RecordVerb",
            verb,
            document,
        )
        call.note(
            "record", recorded=True, seconds=seconds, digits=digits, recording_sid=recording["sid"]
        )
        params = {
            "RecordingUrl": recording["url"],
            "RecordingSid": str(recording["sid"]),
            "RecordingDuration": str(seconds),
        }
        if digits:
            params["Digits"] = digits
        return Fetch(action, method, "record", params, execute=digits != "hangup")

    def _recording(
        self,
        call: CallState,
        seconds: int,
        source: str,
        element: Verb,
        document: str,
        conference_sid: str = "",
        channels: int = 1,
    ) -> dict[str, Any]:
        """A recording of ``call`` made by ``element`` (``<Record>``, ``<Dial record>``,
        ``<Conference record>``), with the recording status callback the element names."""
        callback = element.attr("recordingStatusCallback")
        callback_method = element.attr("recordingStatusCallbackMethod", "POST")
        events = element.attr("recordingStatusCallbackEvent", "completed")
        sid = new_sid("RE")
        url = f"{call.base_url}/api/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"
        recording = {
            "sid": sid,
            "call_sid": call.sid,
            "conference_sid": conference_sid or None,
            "duration": str(seconds),
            "status": "completed",
            "source": source,
            "channels": channels,
            "url": url,
        }
        self._put(
            "call_recording",
            {
                "sid": sid,
                "call_sid": call.sid,
                "conference_sid": conference_sid or None,
                "start_time": _rfc2822(),
                "duration": str(seconds),
                "status": "completed",
                "channels": channels,
                "source": source,
                "media_url": url,
            },
        )
        call.recordings.append(recording)
        if callback:
            wanted = set(events.replace(",", " ").split()) or {"completed"}
            callback_url = urljoin(document, callback)

            def send() -> None:
                for status in ("in-progress", "completed"):
                    if status not in wanted:
                        continue
                    params = {
                        "AccountSid": self.account_sid,
                        "RecordingSid": sid,
                        "RecordingUrl": url,
                        "RecordingStatus": status,
                        "RecordingChannels": str(channels),
                        "RecordingSource": source,
                        "RecordingStartTime": _rfc2822(),
                    }
                    if conference_sid:
                        params["ConferenceSid"] = conference_sid
                    else:
                        params["CallSid"] = call.sid
                    if status == "completed":
                        params["RecordingDuration"] = str(seconds)
                    self._callback(
                        call, "recording-callback", callback_url, callback_method, params
                    )

            call.deferred.append(send)
        return recording

    # --- Dial -------------------------------------------------------------------------------

    def _verb_dial(
        self, call: CallState, verb: Verb, document: str, index: int
    ) -> Fetch | str | None:
        nouns = list(verb.children) or ([Verb("Number", {}, verb.text)] if verb.text else [])
        action = urljoin(document, verb.attr("action")) if verb.attr("action") else ""
        if not verb.flag("answerOnBridge"):
            call.answer()
        timeout = verb.number("timeout", 30)
        caller_id = verb.attr("callerId")
        legs: list[dict[str, Any]] = []
        for noun in nouns:
            if noun.name == "Conference":
                return self._conference(call, verb, noun, document, action)
            legs.append(self._leg(call, verb, noun, caller_id, timeout, document))
        answered = next((leg for leg in legs if leg["answer"] == "answered"), None)
        chosen = answered or (legs[0] if legs else None)
        for leg in legs:
            if answered is not None and leg is not answered and leg["status"] == "ringing":
                leg["status"] = "canceled"
        if answered is not None:
            call.answer()
            call.clock += answered["seconds"]
        elif legs:
            call.clock += min(timeout, 30) if chosen and chosen["answer"] == "no-answer" else 1
        status = _DIAL_STATUS[chosen["answer"]] if chosen else "failed"
        call.note(
            "dial-result",
            dial_call_status=status,
            dial_call_sid=chosen["call_sid"] if chosen else None,
            action=action or None,
        )
        if answered is not None:
            self._dial_recording(call, verb, document, answered)
        if not action:
            return None
        params = {"DialCallStatus": status}
        if chosen is not None:
            params["DialCallSid"] = chosen["call_sid"]
            if chosen.get("error_code"):
                params["ErrorCode"] = str(chosen["error_code"])
            if chosen["noun"] == "Sip":
                params["DialSipCallId"] = f"{chosen['call_sid'][2:18]}@sip.twilio.com"
                params["DialSipResponseCode"] = _SIP_CODES[chosen["answer"]]
        if answered is not None:
            params["DialCallDuration"] = str(answered["seconds"])
            params["DialBridged"] = "true"
        return Fetch(action, verb.attr("method", "POST"), "dial", params)

    def _dial_recording(
        self, call: CallState, verb: Verb, document: str, answered: Mapping[str, Any]
    ) -> None:
        """``<Dial record>``: the bridged call's recording, on the parent call (its CallSid),
        source ``DialVerb``, one channel or (``-dual``) two: the caller's and the callee's.

        Made only when a party answers. From ringing or from answer alike, it lasts the bridged
        seconds: the simulator rings an answering party for no time.
        """
        mode = verb.attr("record", "do-not-record")
        if mode in ("do-not-record", "false"):
            return
        if mode not in _DIAL_RECORD:
            call.note("unsupported", verb="Dial", record=mode, note="no such record value")
            return
        start, channels = _DIAL_RECORD[mode]
        seconds = int(answered["seconds"])
        recording = self._recording(
            call,
            seconds,
            "DialVerb",
            verb,
            document,
            channels=channels,
        )
        call.note(
            "recording",
            source="DialVerb",
            mode=mode,
            start=start,
            channels=channels,
            seconds=seconds,
            recording_sid=recording["sid"],
            callback=(
                urljoin(document, verb.attr("recordingStatusCallback"))
                if verb.attr("recordingStatusCallback")
                else None
            ),
        )

    def _leg(
        self, call: CallState, dial: Verb, noun: Verb, caller_id: str, timeout: int, document: str
    ) -> dict[str, Any]:
        target = noun.text
        if noun.name == "Client":
            target = target if target.startswith("client:") else f"client:{target}"
        party = call.spec.parties.get(target, Party())
        answer = party.answer
        error = 0
        from_ = caller_id or call.spec.from_
        if noun.name == "Number":
            if caller_id:
                with self.store.lock:
                    owned = self.store.find("incoming_phone_number", "phone_number", caller_id)
                if owned is None:
                    error = INVALID_CALLER_ID
            elif not _E164.match(call.spec.from_):
                error = INVALID_CALLER_ID
            if not _E164.match(target):
                error = error or 13223  # Dial: invalid phone number format
        if error:
            answer = "failed"
        sid = new_sid("CA")
        leg = {
            "sid": sid,
            "call_sid": sid,
            "parent_call_sid": call.sid,
            "noun": noun.name,
            "to": target,
            "from": from_,
            "answer": answer,
            "status": "completed" if answer == "answered" else answer,
            "seconds": party.seconds if answer == "answered" else 0,
            "error_code": error or None,
            "direction": "outbound-dial",
        }
        self._put(
            "call",
            _call_record(
                sid,
                target,
                from_,
                str(leg["status"]),
                "outbound-dial",
                party.seconds if answer == "answered" else 0,
                parent=call.sid,
            ),
        )
        call.dialled.append(leg)
        call.note(
            "dial",
            noun=noun.name,
            to=target,
            caller_id=from_,
            answer=answer,
            call_sid=sid,
            error_code=error or None,
            note=(
                f"callerId {from_!r} is not a number of this account (Twilio error 13214)"
                if error == INVALID_CALLER_ID
                else None
            ),
        )
        if noun.attr("url"):
            call.note("whisper", url=urljoin(document, noun.attr("url")), note="not fetched")
        callback = noun.attr("statusCallback")
        if callback:
            events = noun.attr("statusCallbackEvent", "completed").replace(",", " ").split()
            progress = {
                "answered": ["initiated", "ringing", "answered", "completed"],
                "busy": ["initiated", "completed"],
                "no-answer": ["initiated", "ringing", "completed"],
                "failed": ["initiated", "completed"],
            }[answer]
            for number, event in enumerate(progress):
                if event not in events:
                    continue
                status = {"answered": "in-progress", "completed": leg["status"]}.get(event, event)
                params: dict[str, str] = {
                    "AccountSid": self.account_sid,
                    "ApiVersion": API_VERSION,
                    "CallSid": sid,
                    "ParentCallSid": call.sid,
                    "Direction": "outbound-dial",
                    "From": from_,
                    "To": target,
                    "CallStatus": str(status),
                    "CallbackSource": "call-progress-events",
                    "SequenceNumber": str(number),
                    "Timestamp": _rfc2822(),
                }
                if event == "completed":
                    params["CallDuration"] = str(leg["seconds"])
                    if error:
                        params["ErrorCode"] = str(error)
                self._callback(
                    call,
                    "dial-status-callback",
                    urljoin(document, callback),
                    noun.attr("statusCallbackMethod", "POST"),
                    params,
                )
        return leg

    def _conference(
        self, call: CallState, dial: Verb, noun: Verb, document: str, action: str
    ) -> Fetch | None:
        call.answer()
        room = noun.text
        party = call.spec.parties.get(room, Party())
        start = call.clock
        conference = self.conferences.join(call, noun, document, call.live)
        seconds = int(call.clock - start) or party.seconds
        call.dialled.append(
            {
                "noun": "Conference",
                "to": room,
                "answer": "answered",
                "status": "completed",
                "call_sid": call.sid,
                "conference_sid": conference["sid"],
                "seconds": seconds,
                "muted": noun.flag("muted"),
                "label": noun.attr("participantLabel") or None,
                "coach": noun.attr("coach") or noun.attr("callSidToCoach") or None,
            }
        )
        if noun.attr("record", "do-not-record") not in (
            "do-not-record",
            "false",
        ) and self.conferences.record_once(conference):
            self._recording(
                call,
                seconds,
                "Conference",
                noun,
                document,
                conference_sid=str(conference["sid"]),
            )
            self._flush_deferred(call)
        if not action:
            return None
        return Fetch(action, dial.attr("method", "POST"), "dial", {"DialCallStatus": "completed"})

    # --- the end ----------------------------------------------------------------------------

    def finish(self, call: CallState) -> None:
        """End the call: its final status, its record, the ``completed`` status callback."""
        self._flush_deferred(call)
        if call.status in ("queued", "ringing", "in-progress"):
            call.status = "completed" if call.answered_at is not None else "no-answer"
        record = _call_record(
            call.sid,
            call.spec.to,
            call.spec.from_,
            call.status,
            call.base.get("Direction", "inbound"),
            call.duration,
            phone_number_sid=call.target.extra.get("number_sid"),
            trunk_sid=call.target.sid if call.target.kind == "trunk" else None,
            caller_name=call.base.get("CallerName"),
        )
        record["answered_by"] = call.answered_by
        self._put("call", record)
        call.note("call-ended", status=call.status, duration=call.duration)
        # Incoming calls' status callbacks get the final status only; outbound API calls the
        # events they asked for (default: completed).
        if call.target.status_callback and "completed" in call.target.extra.get(
            "events", ("completed",)
        ):
            self.status_event(call, call.status, "completed")

    def status_event(self, call: CallState, status: str, event: str) -> None:
        """One call progress event to the status callback."""
        target = call.target
        extra = {
            "CallStatus": status,
            "Timestamp": _rfc2822(),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.sequence),
        }
        call.sequence += 1
        if event == "completed":
            extra["CallDuration"] = str(call.duration)
        params = {**call.params(), **extra}
        call.note("status-event", event=event, status=status)
        self._callback(
            call, "status-callback", target.status_callback, target.status_callback_method, params
        )

    def result(self, call: CallState) -> dict[str, Any]:
        return {
            "call_sid": call.sid,
            "from": call.spec.from_,
            "to": call.spec.to,
            "target": {"kind": call.target.kind, "sid": call.target.sid, "name": call.target.name},
            "status": call.status,
            "duration": call.duration,
            "heard": call.heard,
            "dialled": call.dialled,
            "recordings": call.recordings,
            "requests": call.requests,
            "alerts": call.alerts,
            "fallback": call.fallback,
            "trace": call.trace,
        }


def _voice_target(
    kind: str, record: Record, name: str, status: tuple[str, str], **more: Any
) -> Target:
    """A Target with record's voice URLs and methods (status: its status callback's fields)."""
    url, method = status
    return Target(
        kind,
        str(record["sid"]),
        name,
        voice_url=str(record.get("voice_url") or ""),
        voice_method=str(record.get("voice_method") or "POST"),
        fallback_url=str(record.get("voice_fallback_url") or ""),
        fallback_method=str(record.get("voice_fallback_method") or "POST"),
        status_callback=str(record.get(url) or ""),
        status_callback_method=str(record.get(method) or "POST"),
        **more,
    )


def _formatted(number: str) -> str:
    """A number as Twilio's ``*_formatted`` fields show it: national format, else as is."""
    try:
        return friendly(number)
    except phonenumbers.NumberParseException:
        return number


def _call_record(
    sid: str,
    to: str,
    from_: str,
    status: str,
    direction: str,
    duration: int,
    *,
    parent: str | None = None,
    phone_number_sid: object = None,
    trunk_sid: str | None = None,
    caller_name: str | None = None,
) -> dict[str, Any]:
    """A Call resource's fields (api v2010) for a simulated call that has ended."""
    end = time.time()
    return {
        "sid": sid,
        "parent_call_sid": parent,
        "to": to,
        "to_formatted": _formatted(to),
        "from": from_,
        "from_formatted": _formatted(from_),
        "phone_number_sid": phone_number_sid,
        "status": status,
        "start_time": email.utils.formatdate(end - duration, usegmt=True),
        "end_time": email.utils.formatdate(end, usegmt=True),
        "duration": str(duration),
        "price": None,
        "price_unit": "USD",
        "direction": direction,
        "answered_by": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": caller_name,
        "queue_time": "0",
        "trunk_sid": trunk_sid,
    }


def _faulted(fault: AppFault) -> HttpResult:
    if fault.kind == "timeout":
        return HttpResult(error="timeout")
    if fault.kind == "connection":
        return HttpResult(error="connection: refused (injected)")
    if fault.kind == "body":
        return HttpResult(fault.status, fault.content_type, fault.body.encode())
    return HttpResult(fault.status, "text/html", b"<html><body>injected failure</body></html>")


def _sip_host(uri: str) -> str:
    rest = uri.split(":", 1)[1]
    host = rest.split("@", 1)[1] if "@" in rest else rest
    return host.split(";", 1)[0].split(":", 1)[0].split(">", 1)[0].lower()


def _country(number: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return ""
    return str(region or "")


def _rfc2822() -> str:
    return email.utils.formatdate(time.time(), usegmt=True)


def recording_media() -> bytes:
    """One second of 8 kHz mono silence as WAV: what a RecordingUrl serves here."""
    frames = b"\x00\x00" * 8000
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return header + b"data" + struct.pack("<I", len(frames)) + frames


def iter_trace_lines(result: Mapping[str, Any]) -> Iterator[str]:
    """The trace as lines a person reads (what ``twilio-voice simulate`` prints)."""
    for event in result.get("trace", []):
        kind = event["kind"]
        detail = {
            k: v for k, v in event.items() if k not in ("step", "kind", "t") and v not in (None, "")
        }
        if kind == "twiml":
            verbs = " ".join(f"<{v['verb']}>" for v in detail.get("verbs", []))
            yield f"  {event['t']:>5.0f}s twiml     {verbs or '(empty)'}"
            continue
        if kind == "request":
            where = detail.pop("url", "")
            answer = detail.pop("status", "") or detail.pop("error", "")
            text = f"{detail.pop('method', '')} {where} -> {answer}"
            purpose = detail.pop("purpose", "")
            yield f"  {event['t']:>5.0f}s {purpose:<9} {text}" + (
                " (injected)" if detail.get("injected") else ""
            )
            continue
        pairs = " ".join(f"{k}={_shown(v)}" for k, v in detail.items())
        yield f"  {event['t']:>5.0f}s {kind:<9} {pairs}"


def _shown(value: object) -> str:
    """A trace value: a target as `kind name (SID)`, a list comma-joined, else as is."""
    if isinstance(value, Mapping) and {"kind", "name", "sid"} <= set(value):
        return f"{value['kind']}:{value['name']}({value['sid']})"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


__all__ = [
    "APPLICATION_ERROR",
    "HttpResult",
    "Simulator",
    "Target",
    "Transport",
    "iter_trace_lines",
    "recording_media",
    "urllib_transport",
]
