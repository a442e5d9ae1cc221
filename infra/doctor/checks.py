"""The doctor's checks besides TLS: webhooks, the call flows the app serves, credentials, edge and
region, numbers, drift, Monitor alerts of the last 24 h, and the dialing-permissions risk summary.

Every Twilio call is a GET through the same `TwilioApi` the providers and drift use (a
read-only API key is enough, except that signing test webhooks needs the auth token).
"""

from __future__ import annotations

import functools
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra import urls
from infra.client import Credentials
from infra.commands import smoke
from infra.commands.drift import detect
from infra.doctor.errors import guide
from infra.doctor.model import Check, Status
from infra.drift.collect import Lister
from infra.drift.kinds import label
from infra.drift.report import mask_sid
from infra.errors import TwilioApiError
from infra.props import RISK_FLAGS
from infra.resources.call_flows import stack_hash
from infra.spec import Environment
from infra.urls import webhook_url
from webhook_app.routes import url_for

WEBHOOK_BUDGET_S = 2.0
PRODUCTION = ("prod", "production")
# Edges that carry a region's traffic (plus `roaming`, which picks one); us1 takes any edge.
REGION_EDGES: dict[str, tuple[str, ...]] = {
    "ie1": ("dublin", "frankfurt", "london-ix", "frankfurt-ix"),
    "de1": ("frankfurt", "frankfurt-ix"),
    "au1": ("sydney", "sydney-ix"),
    "jp1": ("tokyo", "tokyo-ix"),
    "sg1": ("singapore", "singapore-ix"),
    "br1": ("sao-paulo", "sao-paulo-ix"),
    "us2": ("umatilla",),
}

Post = smoke.Post
# GET `url` within `timeout` s -> (status, content type, body); network errors raise OSError.
Get = Callable[[str, float], tuple[int, str, str]]
HEALTHZ_TIMEOUT_S = 5.0


# -- webhooks --------------------------------------------------------------------------------


def webhook_targets(env: Environment) -> list[smoke.Target]:
    """Every URL the stack points Twilio at that must answer TwiML: voice, fallback and trunk
    disaster-recovery URLs (status callbacks answer no TwiML: not called)."""
    found = {t.url: t for t in smoke.targets(env)}
    first = env.numbers[0].e164 if env.numbers else smoke.CALLER

    def add(url: str | None, to: str, entry: str) -> None:
        if url:
            old = found.get(url)
            entries = (*old.entries, entry) if old else (entry,)
            found[url] = smoke.Target(url, old.to if old else to, entries)

    def fallback(key: str, resource: urls.RoutesCalls) -> str | None:
        # The fallback URL as the stack configures it (with the entry's ?flow=, if any).
        if resource.fallback_flow is None:
            return None
        hook = urls.entry_webhooks(env.public_base_url, key, resource).fallback
        return hook.url if hook else None

    for number in env.numbers:
        add(fallback("numbers", number), number.e164, f"number {number.e164} (fallback)")
    for app in env.applications:
        add(fallback("applications", app), first, f"application {app.name} (fallback)")
    for domain in env.sip_domains:
        add(
            fallback("sip_domains", domain),
            f"sip:doctor@{domain.domain_name}",
            f"SIP domain {domain.name} (fallback)",
        )
    for byoc in env.byoc_trunks:
        add(fallback("byoc_trunks", byoc), first, f"BYOC trunk {byoc.name} (fallback)")
    for trunk in env.trunks:
        if trunk.disaster_recovery_flow:
            add(
                webhook_url(env.public_base_url, trunk.disaster_recovery_flow),
                first,
                f"trunk {trunk.name} (disaster recovery)",
            )
    return list(found.values())


def status_targets(env: Environment) -> list[smoke.Target]:
    """Status-callback URLs: Twilio posts call progress there and expects a 2xx (no TwiML)."""
    found: dict[str, smoke.Target] = {}
    first = env.numbers[0].e164 if env.numbers else smoke.CALLER
    entries: list[tuple[str | None, str, str]] = [
        *((n.status_callback_flow, n.e164, f"number {n.e164}") for n in env.numbers),
        *((a.status_callback_flow, first, f"application {a.name}") for a in env.applications),
        *(
            (d.status_callback_flow, f"sip:doctor@{d.domain_name}", f"SIP domain {d.name}")
            for d in env.sip_domains
        ),
        *((b.status_callback_flow, first, f"BYOC trunk {b.name}") for b in env.byoc_trunks),
    ]
    for flow, to, entry in entries:
        if flow:
            url = webhook_url(env.public_base_url, flow)
            old = found.get(url)
            found[url] = smoke.Target(
                url,
                old.to if old else to,
                (*(old.entries if old else ()), f"{entry} (status callback)"),
            )
    return list(found.values())


def check_status_callback(
    target: smoke.Target, account_sid: str, token: str, timeout: float, post: Post
) -> tuple[list[str], float]:
    """A signed `completed` event must get a 2xx in time, a forged one 403."""
    params = {
        **smoke.call_params(account_sid, target),
        "CallStatus": "completed",
        "CallDuration": "1",
    }
    try:
        exchange = smoke.signed_and_forged(target.url, params, token, timeout, post)
    except OSError as err:
        return [f"no answer ({getattr(err, 'reason', err)}): Twilio error 11200"], timeout
    problems = []
    if not 200 <= exchange.status < 300:
        problems.append(
            f"HTTP {exchange.status} to a correctly signed status callback: Twilio error 11200"
        )
    forged = smoke.forged_problem(exchange, "status callback")
    if forged:
        problems.append(forged)
    return problems, exchange.seconds


def https_post(ca_file: Path | None) -> Post:
    """`smoke.http_post` with the CA bundle the TLS check trusts (a private CA in tests)."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return functools.partial(smoke.http_post, context=context)


def check_webhooks(env: Environment, account_sid: str, token: str | None, post: Post) -> Check:
    title = (
        "every webhook answers signed calls with TwiML in 2 s (status callbacks: 2xx) and "
        "refuses forged ones (403)"
    )
    prevents = ("11200", "12100", "12300")
    targets = webhook_targets(env)
    callbacks = status_targets(env)
    if not targets and not callbacks:
        return Check("webhooks", title, "skip", prevents, ("no resource names a flow",))
    if not token:
        return Check(
            "webhooks",
            title,
            "skip",
            prevents,
            ("no auth token: test calls cannot be signed (an API key cannot sign webhooks)",),
            "set TWILIO_AUTH_TOKEN to the account's auth token (the app's) to run this check",
        )
    details: list[str] = []
    for target in targets:
        outcome = smoke.check(target, account_sid, token, WEBHOOK_BUDGET_S, post)
        problems = list(outcome.problems)
        if not problems and outcome.seconds > WEBHOOK_BUDGET_S:
            problems.append(
                f"answered in {outcome.seconds:.1f} s: over the 2 s budget (Twilio error "
                "11200 once it times out)"
            )
        details.append(_webhook_line(target, problems, outcome.seconds))
    for target in callbacks:
        problems, seconds = check_status_callback(
            target, account_sid, token, WEBHOOK_BUDGET_S, post
        )
        details.append(_webhook_line(target, problems, seconds))
    failed = any(line.startswith("FAIL ") for line in details)
    fix = (
        "answer 200 Content-Type text/xml with a well-formed <Response> quickly, validate "
        "X-Twilio-Signature against public_base_url + path (403 when it does not match)"
    )
    return Check(
        "webhooks",
        title,
        "fail" if failed else "pass",
        prevents,
        tuple(details),
        fix if failed else "",
    )


# -- the call flows the app serves ------------------------------------------------------------


def _webhook_line(target: smoke.Target, problems: list[str], seconds: float) -> str:
    """One webhook's detail line: FAIL with its problems, or ok with its time."""
    who = ", ".join(target.entries)
    if problems:
        return f"FAIL {target.url} ({who}): " + "; ".join(problems)
    return f"ok   {target.url} ({who}) {seconds * 1000:.0f} ms"


def http_get(
    url: str, timeout: float, context: ssl.SSLContext | None = None
) -> tuple[int, str, str]:
    """(status, content type, body) of a GET; an HTTP error status is an answer, not an error."""
    request = urllib.request.Request(  # noqa: S310 - the stack's own public URL
        url, headers={"User-Agent": "twilio-voice doctor"}, method="GET"
    )
    return smoke.exchange(request, timeout, context)


def https_get(ca_file: Path | None) -> Get:
    """`http_get` with the CA bundle the TLS check trusts."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return functools.partial(http_get, context=context)


def check_call_flows(env: Environment, stack: str, get: Get) -> Check:
    """The app's /healthz reports the hash of the call flows it serves: the stack's, or not?"""
    title = "the app serves the call flows the stack declares (/healthz call_flows hash)"
    expected = stack_hash(env)
    url = url_for("healthz", env.public_base_url)
    redeploy = (
        f"`twilio-voice app-config --stack {stack} > flows.json`, then redeploy the app with "
        "it (VOICE_SETTINGS_FILE=flows.json)"
    )
    try:
        status, _, body = get(url, HEALTHZ_TIMEOUT_S)
    except OSError as err:
        return Check(
            "call_flows",
            title,
            "warn",
            details=(f"GET {url}: no answer ({getattr(err, 'reason', err)})",),
            fix="serve /healthz at public_base_url (the webhooks check says whether Twilio "
            "reaches the app)",
        )
    try:
        health = json.loads(body)
    except ValueError:
        health = None
    served = health.get("call_flows") if isinstance(health, dict) else None
    if not isinstance(health, dict):
        # Not the app's /healthz at all: a proxy's error page, a 404 from another server.
        return Check(
            "call_flows",
            title,
            "warn",
            details=(
                f"GET {url}: HTTP {status}, not a JSON object: the app did not answer "
                "(a proxy or another server did)",
                f"stack: {expected}",
            ),
            fix="route public_base_url/healthz to the webhook app (the webhooks check says "
            "whether Twilio reaches it)",
        )
    if not isinstance(served, str) or not served:
        return Check(
            "call_flows",
            title,
            "warn",
            details=(
                f"GET {url}: HTTP {status}, reports no call_flows hash: an app older than call "
                "flows in the stack serves its own settings, not necessarily the stack's",
                f"stack: {expected}",
            ),
            fix=f"deploy the current app with the stack's call flows: {redeploy}",
        )
    assert isinstance(health, dict)
    source = health.get("call_flows_source")
    details = (
        f"stack: {expected}" + ("" if env.call_flows else " (no call_flows: the built-in flow)"),
        f"app:   {served}" + (f" (from {source})" if isinstance(source, str) and source else ""),
    )
    if served != expected:
        return Check(
            "call_flows",
            title,
            "fail",
            details=(
                *details,
                "the app serves other call flows (or dialable countries) than the stack "
                "declares: callers hear the old menus",
            ),
            fix=redeploy,
        )
    return Check("call_flows", title, "pass", details=details)


# -- account ---------------------------------------------------------------------------------


def check_credentials(
    env: Environment, credentials: Credentials | None, problem: str, api: Lister | None
) -> tuple[Check, list[dict[str, Any]] | None]:
    """Credentials work and belong to the stack's account; the account's numbers (one list)."""
    title = "credentials work and belong to the stack's account"
    fix = (
        "use the stack's account credentials: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or "
        "TWILIO_API_KEY + TWILIO_API_SECRET), or twilio:accountSid in Pulumi.<stack>.yaml"
    )
    if credentials is None or api is None:
        return Check("credentials", title, "fail", ("20003",), (problem,), fix), None
    pinned = env.credentials.account_sid
    if pinned and pinned != credentials.account_sid:
        return Check(
            "credentials",
            title,
            "fail",
            ("20003",),
            (
                f"the credentials are for {mask_sid(credentials.account_sid)}, the stack belongs "
                f"to {mask_sid(pinned)} (credentials.account_sid)",
            ),
            fix,
        ), None
    try:
        numbers = api.list(
            "api", f"/2010-04-01/Accounts/{credentials.account_sid}/IncomingPhoneNumbers.json"
        )
    except TwilioApiError as err:
        return Check(
            "credentials", title, "fail", ("20003",), (f"Twilio refused them: {err}",), fix
        ), None
    how = "API key" if credentials.username.startswith("SK") else "auth token"
    return Check(
        "credentials",
        title,
        "pass",
        ("20003",),
        (f"account {mask_sid(credentials.account_sid)} accepted ({how})",),
    ), numbers


def check_edge_region(env: Environment, credentials: Credentials | None) -> Check:
    title = "edge and region agree (spec, REST client, inbound processing region)"
    details: list[str] = []
    status: Status = "pass"
    fix = ""
    client_edge = credentials.edge if credentials else None
    client_region = credentials.region if credentials else None
    details.append(
        f"spec: edge {env.edge or '-'}, region {env.region or '-'}; REST client: edge "
        f"{client_edge or '-'}, region {client_region or '-'}"
    )
    if env.edge and client_edge and env.edge != client_edge:
        status = "fail"
        details.append(f"the providers connect through {client_edge}, the spec declares {env.edge}")
        fix = f"set TWILIO_EDGE / twilio:edge to {env.edge} (or change the spec's edge)"
    if env.region and client_region and env.region != client_region:
        status = "fail"
        details.append(
            f"the REST client manages region {client_region}, the spec pins inbound processing "
            f"to {env.region}"
        )
        fix = fix or f"set TWILIO_REGION / twilio:region to {env.region}"
    regions = {env.region} | {n.region for n in env.numbers} | {d.region for d in env.sip_domains}
    regions |= {t.region for t in env.trunks}
    edges = {e for e in (env.edge, client_edge) if e and e != "roaming"}
    for region in sorted(r for r in regions if r):
        allowed = REGION_EDGES.get(region)
        wrong = sorted(e for e in edges if allowed is not None and e not in allowed)
        if wrong:
            if status == "pass":
                status = "warn"
            details.append(
                f"region {region} is served through {', '.join(allowed or ())}, "
                f"not {', '.join(wrong)}"
            )
            fix = fix or f"use an edge of region {region} ({', '.join(allowed or ())})"
    return Check("edge_region", title, status, ("20003",), tuple(details), fix)


def check_numbers(env: Environment, live: list[dict[str, Any]] | None) -> Check:
    title = "numbers are E.164 and owned by the account"
    prevents = ("20404", "21421")
    if live is None:
        return Check("numbers", title, "skip", prevents, ("the account could not be read",))
    owned = {str(r.get("phone_number")) for r in live}
    missing = [n.e164 for n in env.numbers if n.e164 not in owned]
    details = [f"{len(env.numbers)} declared (E.164, validated), {len(owned)} owned"]
    if missing:
        details.append("not in the account: " + ", ".join(missing))
        return Check(
            "numbers",
            title,
            "fail",
            prevents,
            tuple(details),
            "buy or port these numbers into the account first (numbers are adopted, never bought)",
        )
    return Check("numbers", title, "pass", prevents, tuple(details))


def check_drift(env: Environment, api: Lister | None, stack: str) -> Check:
    title = "the live estate matches the spec (drift)"
    if api is None:
        return Check("drift", title, "skip", details=("the account could not be read",))
    try:
        report = detect(env, api, stack)
    except TwilioApiError as err:
        return Check("drift", title, "fail", details=(f"drift check failed: {err}",))
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("missing", "changed", "unmanaged"))
    details = [f"{counts}; {report.declared_count} declared, {report.live_count} live"]
    ordered = sorted(report.findings, key=lambda f: not f.fails)  # failing ones first
    for finding in ordered[:10]:
        info = "" if finding.fails else " (info)"
        details.append(f"{finding.status}{info}: {label(finding.kind)} {finding.key}")
    if len(report.findings) > 10:
        details.append(f"... and {len(report.findings) - 10} more (`twilio-voice drift`)")
    if report.drifted:
        return Check(
            "drift",
            title,
            "fail",
            details=tuple(details),
            fix=f"`twilio-voice drift --stack {stack}` for the fields; `pulumi up --refresh` "
            "restores the spec (or declare what changed)",
        )
    return Check("drift", title, "pass", details=tuple(details))


# -- Monitor alerts --------------------------------------------------------------------------


def check_alerts(api: Lister | None, now: Callable[[], float] = time.time) -> Check:
    title = "Monitor alerts of the last 24 hours"
    if api is None:
        return Check("alerts", title, "skip", details=("the account could not be read",))
    since = datetime.fromtimestamp(now(), UTC) - timedelta(hours=24)
    try:
        alerts = api.list(
            "monitor", "/v1/Alerts", {"StartDate": since.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )
    except TwilioApiError as err:
        return Check("alerts", title, "warn", details=(f"alerts could not be read: {err}",))
    if not alerts:
        return Check("alerts", title, "pass", details=("no alerts",))
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for alert in alerts:
        groups.setdefault(str(alert.get("error_code")), []).append(alert)
    details = []
    errors = False
    for code, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        g = guide(code)
        levels = {str(a.get("log_level") or "error") for a in items}
        errors = errors or "error" in levels
        urls = sorted({str(a.get("request_url")) for a in items if a.get("request_url")})
        where = f"; at {', '.join(urls[:3])}" if urls else ""
        details.append(
            f"{code} x{len(items)} {g.title} ({'/'.join(sorted(levels))}){where}. "
            f"Cause: {g.cause}. Fix: {g.fix}"
        )
    return Check(
        "alerts",
        title,
        "fail" if errors else "warn",
        tuple(sorted(groups)),
        tuple(details),
        "fix the causes above; the Console's Monitor > Errors has each request and response",
    )


# -- dialing permissions ---------------------------------------------------------------------


def check_dialing(env: Environment, api: Lister | None, stack: str) -> Check:
    title = "dialing permissions risk summary (toll fraud exposure)"
    prevents: tuple[str, ...] = ()
    if api is None:
        return Check("dialing", title, "skip", prevents, ("the account could not be read",))
    try:
        countries = api.list("voice", "/v1/DialingPermissions/Countries")
    except TwilioApiError as err:
        return Check("dialing", title, "warn", prevents, (f"countries could not be read: {err}",))
    on: dict[str, list[str]] = {}
    for c in countries:
        classes = [risk for risk, flag in RISK_FLAGS.items() if c.get(flag)]
        if classes:
            on[str(c.get("iso_code"))] = classes
    special = sorted(iso for iso, cls in on.items() if "high_risk_special" in cls)
    tollfraud = sorted(iso for iso, cls in on.items() if "high_risk_tollfraud" in cls)
    details = [
        f"{len(on)} countries may be called: {', '.join(sorted(on)) or 'none'}",
        f"high-risk special (premium, shared cost): {', '.join(special) or 'none'}",
        f"high-risk toll fraud: {', '.join(tollfraud) or 'none'}",
    ]
    declared = env.dialing_permissions
    status: Status = "pass"
    fixes = []
    if declared is None:
        details.append("not managed by this stack (no dialing_permissions section)")
        if special or tollfraud:
            status = "warn"
            fixes.append(
                "declare dialing_permissions (docs/dialing-permissions.md) to switch "
                "high-risk classes off"
            )
    else:
        extra = sorted(set(on) - {c.iso_code for c in declared.countries})
        if extra:
            status = "fail"
            details.append(f"on but not declared: {', '.join(extra)}")
            fixes.append("`pulumi up --refresh` switches undeclared countries off")
    if tollfraud and stack in PRODUCTION:
        status = "fail"
        fixes.append(
            "switch high_risk_tollfraud off in production (IRSF through a leaked credential)"
        )
    elif tollfraud and status == "pass":
        status = "warn"
    return Check("dialing", title, status, prevents, tuple(details), "; ".join(fixes))


__all__ = [
    "Get",
    "check_alerts",
    "check_call_flows",
    "check_credentials",
    "check_dialing",
    "check_drift",
    "check_edge_region",
    "check_numbers",
    "check_webhooks",
    "http_get",
    "https_get",
    "https_post",
    "webhook_targets",
]
