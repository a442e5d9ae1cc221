"""`twilio-voice smoke --stack NAME`: a signed test call to every voice URL the stack configures.

For each distinct voice webhook URL (numbers, applications, SIP domains and BYOC trunks that name
a flow), POST what Twilio sends for an inbound call, signed with `TWILIO_AUTH_TOKEN` against the
URL exactly as configured, and expect 200 `text/xml` with a well-formed `<Response>` within the
timeout; then the same POST with a wrong signature, which the app must refuse with 403. What a
deploy runs after `pulumi up` (.github/workflows/deploy.yml). Exit 0 all good, 1 a check failed,
2 could not run. The token is never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlencode
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from infra import spec, urls
from infra.commands.command import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    Command,
    add_stack_arguments,
    read_spec,
)

TOKEN_ENV = "TWILIO_AUTH_TOKEN"  # noqa: S105 - the variable's name, not a token
CALLER = "+15005550006"  # Twilio's magic "valid number" for test credentials
FORBIDDEN_XML = ("<!DOCTYPE", "<!ENTITY")


@dataclass(frozen=True)
class Target:
    """One URL to call and what to call it as."""

    url: str
    to: str
    entries: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    target: Target
    problems: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def targets(env: spec.Environment) -> list[Target]:
    """The distinct voice URLs the stack points Twilio at, with who points there."""
    found: dict[str, tuple[str, list[str]]] = {}

    def add(key: str, resource: urls.RoutesCalls, to: str, entry: str) -> None:
        # The app's own routes (flow:, call_flow: with ?flow=), not external URLs.
        if not (resource.flow or resource.call_flow):
            return
        hook = urls.entry_webhooks(env.public_base_url, key, resource).voice
        if hook is not None:
            found.setdefault(hook.url, (to, []))[1].append(entry)

    for number in env.numbers:
        add("numbers", number, number.e164, f"number {number.e164}")
    first = env.numbers[0].e164 if env.numbers else "+15005550006"
    for app in env.applications:
        add("applications", app, first, f"application {app.name}")
    for domain in env.sip_domains:
        add(
            "sip_domains",
            domain,
            f"sip:smoke@{domain.domain_name}",
            f"SIP domain {domain.name}",
        )
    for trunk in env.byoc_trunks:
        add("byoc_trunks", trunk, first, f"BYOC trunk {trunk.name}")
    return [Target(url, to, tuple(entries)) for url, (to, entries) in found.items()]


def call_params(account_sid: str, target: Target) -> dict[str, str]:
    digest = hashlib.sha256(target.url.encode()).hexdigest()[:32]
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + digest,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": CALLER,
        "To": target.to,
    }


Post = Callable[[str, dict[str, str], str, float], tuple[int, str, str]]


def http_post(
    url: str,
    params: dict[str, str],
    signature: str,
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> tuple[int, str, str]:
    """(status, content type, body) of a form POST; network errors raise OSError.

    `context`: the TLS trust to use (default: the system's); doctor passes a private CA's.
    """
    request = urllib.request.Request(  # noqa: S310 - the stack's own public URL
        url,
        data=urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1 (twilio-voice)",
        },
        method="POST",
    )
    return exchange(request, timeout, context)


def exchange(
    request: urllib.request.Request, timeout: float, context: ssl.SSLContext | None = None
) -> tuple[int, str, str]:
    """(status, content type, body up to 1 MiB) of `request`; an HTTP error status is an
    answer, not an error; network errors raise OSError."""
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            return (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read(1 << 20).decode("utf-8", errors="replace"),
            )
    except urllib.error.HTTPError as err:
        body = err.read(1 << 20).decode("utf-8", errors="replace") if err.fp else ""
        return err.code, err.headers.get("Content-Type", "") if err.headers else "", body


def twiml_problem(body: str) -> str | None:
    if any(marker in body for marker in FORBIDDEN_XML):
        return "the TwiML carries a DOCTYPE or entity declaration (Twilio refuses it: 12100)"
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - DOCTYPE/entities refused above
    except ElementTree.ParseError as err:
        return f"the answer is not well-formed XML ({err}): Twilio error 12100"
    if root.tag != "Response":
        return f"the root element is <{root.tag}>, not <Response>: Twilio error 12100"
    return None


def forged_signature(signature: str) -> str:
    """A signature that differs from `signature` (its first character changed)."""
    return ("A" if signature[:1] != "A" else "B") + signature[1:]


@dataclass(frozen=True)
class Exchange:
    """A correctly signed POST and the same POST wrongly signed, as Twilio would see them."""

    status: int
    content_type: str
    body: str
    seconds: float
    forged_status: int | None  # None: no answer to the forged one
    forged_error: str = ""


def signed_and_forged(
    url: str, params: dict[str, str], token: str, timeout: float, post: Post
) -> Exchange:
    """POST `params` signed for `url` with `token`, then with a forged signature.

    OSError from the first POST propagates: no answer at all is the caller's problem to word.
    """
    signature = RequestValidator(token).compute_signature(url, params)
    started = time.monotonic()
    status, content_type, body = post(url, params, signature, timeout)
    seconds = time.monotonic() - started
    try:
        forged, _, _ = post(url, params, forged_signature(signature), timeout)
    except OSError as err:
        return Exchange(status, content_type, body, seconds, None, str(err))
    return Exchange(status, content_type, body, seconds, forged)


def forged_problem(exchange: Exchange, what: str) -> str | None:
    """The app must refuse a wrongly signed request with 403."""
    if exchange.forged_status is None:
        return f"no answer to a wrongly signed {what} ({exchange.forged_error})"
    if exchange.forged_status != 403:
        return f"a wrongly signed {what} got HTTP {exchange.forged_status}, not 403"
    return None


def check(
    target: Target, account_sid: str, token: str, timeout: float, post: Post = http_post
) -> Outcome:
    params = call_params(account_sid, target)
    try:
        exchange = signed_and_forged(target.url, params, token, timeout, post)
    except OSError as err:
        reason = getattr(err, "reason", err)
        return Outcome(target, (f"no answer ({reason}): Twilio error 11200",), timeout)
    problems: list[str] = []
    if exchange.status != 200:
        problems.append(f"HTTP {exchange.status} to a correctly signed call: Twilio error 11200")
    elif exchange.content_type.split(";")[0].strip().lower() not in (
        "text/xml",
        "application/xml",
    ):
        problems.append(f"Content-Type {exchange.content_type!r}, not text/xml: Twilio error 12300")
    else:
        problem = twiml_problem(exchange.body)
        if problem:
            problems.append(problem)
    forged = forged_problem(exchange, "call")
    if forged:
        problems.append(forged)
    return Outcome(target, tuple(problems), exchange.seconds)


def report(outcomes: Iterable[Outcome], out: IO[str]) -> int:
    failed = 0
    for outcome in outcomes:
        mark = "ok  " if outcome.ok else "FAIL"
        who = ", ".join(outcome.target.entries)
        print(f"{mark} POST {outcome.target.url} ({who}) {outcome.seconds * 1000:.0f} ms", file=out)
        for problem in outcome.problems:
            print(f"     {problem}", file=out)
        failed += not outcome.ok
    return EXIT_INVALID if failed else EXIT_OK


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")


def _run(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"smoke: set {TOKEN_ENV} to the account's auth token (the app's)", file=sys.stderr)
        return EXIT_ERROR
    env = read_spec(args.project_dir, args.stack, sys.stderr)
    if env is None:
        return EXIT_ERROR
    # Twilio sends the account's SID; an app that checks it needs the real one (else a stand-in).
    account_sid = (
        env.credentials.account_sid or os.environ.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32
    )
    found = targets(env)
    if not found:
        print(f"{args.stack}: no voice webhook URL to call (nothing names a flow)")
        return EXIT_OK
    outcomes = [check(target, account_sid, token, args.timeout) for target in found]
    return report(outcomes, sys.stdout)


COMMAND = Command(
    name="smoke",
    help="signed test calls to every voice URL the stack configures (after a deploy)",
    add_arguments=_add_arguments,
    run=_run,
)
