"""The stack's `call_flows` section against the rest of the estate, and its entry points.

`webhook_app.callflow.checks` checks the section on its own (targets exist, voices, dialable
numbers, a way to end, reachability); its paths are relative to the section and get the
`call_flows.` prefix here. What needs the estate is checked here: caller IDs are numbers the
stack declares, a SIP user on a Twilio SIP domain can register there (a credential of a list
the domain registers phones with),
BYOC routes name declared numbers, and every number, application, SIP domain and BYOC trunk
that names a `call_flow` names a declared one (or, still naming an app route with `flow:`,
is told how to migrate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from infra.spec.issues import SpecIssue
from infra.spec.models import Environment
from infra.urls import CALL_FLOW_ROUTES, call_flow_url
from webhook_app.callflow import graph
from webhook_app.callflow.checks import check_call_flows
from webhook_app.callflow.model import CallFlows

# <label>.sip.twilio.com, also written with a region or an edge (<label>.sip.us1.twilio.com,
# <label>.sip.ashburn.twilio.com, <label>.sip.us1-ix.twilio.com).
_TWILIO_SIP_HOST = re.compile(r"^(?P<label>[a-z0-9-]+)\.sip(?:\.[a-z0-9-]+)?\.twilio\.com$")


def check_call_flow_rules(env: Environment) -> list[SpecIssue]:
    """Every problem (and warning) of the call flows and the entry points that name them."""
    issues = _entry_points(env)
    flows = env.call_flows
    if flows is None:
        return issues
    entered = [
        e.call_flow for _, e in env.entry_points() if e.call_flow and e.call_flow in flows.flows
    ]
    for finding in check_call_flows(
        flows, entry_flows=entered, dial_countries=env.dial_countries()
    ):
        issues.append(SpecIssue(f"call_flows.{finding.path}", finding.message, finding.warning))
    issues += _caller_ids(env, flows)
    issues += _sip_users(env, flows)
    issues += _byoc_routes(env, flows)
    return issues


def _entry_points(env: Environment) -> list[SpecIssue]:
    flows = env.call_flows
    issues: list[SpecIssue] = []
    for path, entry in env.entry_points():
        key = path.split("[", 1)[0]
        if entry.call_flow is not None:
            if flows is None:
                issues.append(
                    SpecIssue(
                        f"{path}.call_flow",
                        f"names call flow '{entry.call_flow}' but the stack declares no "
                        "call_flows: declare call_flows (flows: {"
                        f"{entry.call_flow}: {{start: ...}}}}, see docs/environment-spec.md), "
                        f"or route by flow: {CALL_FLOW_ROUTES[key]} (the app's built-in flow)",
                    )
                )
            elif entry.call_flow not in flows.flows:
                issues.append(
                    SpecIssue(
                        f"{path}.call_flow",
                        f"names no flow of call_flows: use one of {_names(flows.flows)}, or "
                        f"declare '{entry.call_flow}' under call_flows.flows",
                    )
                )
        if entry.flow is not None and flows is not None:
            issues.append(SpecIssue(f"{path}.flow", _migration(env, flows, key, entry.flow)))
    return issues


def _migration(env: Environment, flows: CallFlows, key: str, legacy: str) -> str:
    """How an entry point still naming an app route (`flow: ivr_main`) moves to a call flow."""
    target = flows.entry_flow
    url = call_flow_url(env.public_base_url, CALL_FLOW_ROUTES[key], target)
    message = (
        f"this stack declares call_flows: replace `flow: {legacy}` with `call_flow: {target}` "
        f"(one of: {_names(flows.flows)}); its URL becomes {url}"
    )
    if legacy != CALL_FLOW_ROUTES[key]:
        message += (
            f". `flow: {legacy}` did one fixed thing: name a call flow whose start does it "
            "(e.g. start: {voicemail: <box>})"
        )
    return message


def _caller_ids(env: Environment, flows: CallFlows) -> list[SpecIssue]:
    declared = {n.e164 for n in env.numbers}
    issues = []
    for path, number in _caller_id_paths(flows):
        if number not in declared:
            issues.append(
                SpecIssue(
                    f"call_flows.{path}",
                    f"caller ID {number} is not a number this stack declares: Twilio shows only "
                    "numbers of the account, so use one of numbers[].e164 "
                    f"({_names(declared)}) or declare it under numbers",
                )
            )
    return issues


def _caller_id_paths(flows: CallFlows) -> Iterator[tuple[str, str]]:
    if flows.caller_id is not None:
        yield "caller_id", flows.caller_id
    for name, flow in flows.flows.items():
        if flow.caller_id is not None:
            yield f"{graph.flow_path(name)}.caller_id", flow.caller_id
    for step in graph.all_steps(flows):
        dial = step.action.dial
        if dial is not None and dial.caller_id is not None:
            yield f"{step.path}.dial.caller_id", dial.caller_id


def _sip_users(env: Environment, flows: CallFlows) -> list[SpecIssue]:
    domains = {d.domain_name: d for d in env.sip_domains}
    lists = {c.name: {cred.username for cred in c.credentials} for c in env.credential_lists}
    issues = []
    for name, user in flows.sip_users.items():
        path = f"call_flows.sip_users.{name}.uri"
        match = _TWILIO_SIP_HOST.fullmatch(user.host)
        if match is None:
            continue  # a PBX or another provider: not the stack's to check
        domain_name = f"{match['label']}.sip.twilio.com"
        domain = domains.get(domain_name)
        if domain is None:
            issues.append(
                SpecIssue(
                    path,
                    f"{user.host} is a Twilio SIP domain this stack does not declare: declare "
                    f"it under sip_domains or fix the host (declared: {_names(domains)})",
                )
            )
            continue
        # <Dial><Sip> reaches a user of a Twilio SIP domain only where the user's phone has
        # registered (else error 32009): registration on, the user in a registrations list.
        if not domain.sip_registration:
            issues.append(
                SpecIssue(
                    path,
                    f"SIP domain {domain.name} ({domain_name}) has sip_registration off, so no "
                    f"phone registers there and a call to '{user.username}' fails (Twilio error "
                    f"32009): set sip_registration: true with "
                    "auth.registrations.credential_lists on the domain",
                )
            )
            continue
        used = domain.auth.registrations.credential_lists
        if not any(user.username in lists.get(clist, ()) for clist in used):
            where = f"it uses {_names(used)}" if used else "it names none"
            issues.append(
                SpecIssue(
                    path,
                    f"SIP user '{user.username}' is not a credential of any credential list SIP "
                    f"domain {domain.name} ({domain_name}) registers phones with "
                    f"(auth.registrations.credential_lists: {where}): add "
                    f"{{username: {user.username}}} to one of them, or fix the username",
                )
            )
    return issues


def _byoc_routes(env: Environment, flows: CallFlows) -> list[SpecIssue]:
    declared = {n.e164 for n in env.numbers}
    return [
        SpecIssue(
            f"call_flows.{graph.flow_path(name)}.byoc_routes.{number}",
            f"routes {number}, which this stack does not declare: declare it under numbers "
            f'(e164: "{number}"), or fix the number ({_names(declared)})',
        )
        for name, flow in flows.flows.items()
        for number in flow.byoc_routes
        if number not in declared
    ]


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none declared"
