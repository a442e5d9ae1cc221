"""Checks across the call flows: targets exist, voices exist, every step can end, reachability.

Pure functions over :class:`CallFlows`; each finding names its config path below the section
(``flows.main.menus.sales.options[0].action.menu``). Infra prefixes ``call_flows.`` and adds
the checks against the rest of the estate (declared numbers, credential lists); the app runs
these on the artifact it loads, so a hand-edited artifact cannot serve a dangling step.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from webhook_app.callflow import graph
from webhook_app.callflow.model import CallFlows
from webhook_app.callflow.voices import speech_language_problem, voice_problem
from webhook_app.dialing import refusal


@dataclass(frozen=True)
class Finding:
    """One problem: where (config path below `call_flows`), what and how to fix it."""

    path: str
    message: str
    warning: bool = False


def check_call_flows(
    flows: CallFlows,
    *,
    entry_flows: Iterable[str] | None = None,
    dial_countries: Collection[str] | None = None,
) -> list[Finding]:
    """Every problem of ``flows``, errors and warnings, in config order.

    ``entry_flows``: the flows some entry point (number, application, SIP domain, BYOC trunk)
    enters; unset: every flow counts as entered. ``dial_countries``: where the account may
    call (the stack's dialing permissions); unset: anywhere.
    """
    findings: list[Finding] = []
    if flows.default_flow is not None and flows.default_flow not in flows.flows:
        findings.append(Finding("default_flow", f"names no flow: use one of {_names(flows.flows)}"))
    for name, flow in flows.flows.items():
        base = graph.flow_path(name)
        problem = voice_problem(flow.voice, flow.language)
        if problem:
            findings.append(Finding(f"{base}.voice", problem))
        if any(menu.speech for menu in flow.menus.values()):
            problem = speech_language_problem(flow.language)
            if problem:
                findings.append(Finding(f"{base}.language", problem))
        for step in graph.steps_of(name, flow):
            findings += _check_action(flows, step, dial_countries)
    for user_name, user in flows.sip_users.items():
        if user.pstn_fallback is not None:
            findings += _dialable(
                f"sip_users.{user_name}.pstn_fallback", user.pstn_fallback, dial_countries
            )
    if flows.operator is not None:
        for i, number in enumerate(flows.operator.numbers):
            findings += _dialable(f"operator.numbers[{i}]", number, dial_countries)
    if flows.disaster_recovery_number is not None:
        findings += _dialable(
            "disaster_recovery_number", flows.disaster_recovery_number, dial_countries
        )
    findings += _shared_rooms(flows)
    if not any(f.warning is False for f in findings):
        findings += _graph_findings(flows, entry_flows)
    return findings


def _check_action(
    flows: CallFlows, step: graph.Step, dial_countries: Collection[str] | None
) -> list[Finding]:
    action, path = step.action, step.path
    flow = flows.flows[step.flow]
    found: list[Finding] = []

    def missing(key: str, value: str, where: Collection[str], what: str, section: str) -> None:
        found.append(
            Finding(
                f"{path}.{key}",
                f"{what} '{value}' is not declared; use one of {_names(where)} or declare it "
                f"under {section}",
            )
        )

    if action.menu is not None and action.menu not in flow.menus:
        missing("menu", action.menu, flow.menus, "menu", f"flows.{step.flow}.menus")
    if action.flow is not None and action.flow not in flows.flows:
        missing("flow", action.flow, flows.flows, "flow", "flows")
    if action.sip_user is not None and action.sip_user not in flows.sip_users:
        missing("sip_user", action.sip_user, flows.sip_users, "SIP user", "sip_users")
    if action.voicemail is not None and action.voicemail not in flows.voicemail_boxes:
        missing(
            "voicemail", action.voicemail, flows.voicemail_boxes, "voicemail box", "voicemail_boxes"
        )
    if action.hours is not None and action.hours.schedule not in flows.schedules:
        missing("hours.schedule", action.hours.schedule, flows.schedules, "schedule", "schedules")
    if action.operator and flows.operator is None:
        found.append(
            Finding(
                f"{path}.operator",
                "no operator is declared: add call_flows.operator: {numbers: [+1...]}, or "
                "choose another action",
            )
        )
    if action.dial is not None:
        for i, number in enumerate(action.dial.numbers):
            found += _dialable(f"{path}.dial.numbers[{i}]", number, dial_countries)
    return found


def _shared_rooms(flows: CallFlows) -> list[Finding]:
    """A named room joined from flows that record and flows that do not: whether the room
    records depends on who opens it, so a caller who heard no consent could be recorded."""
    first: dict[str, tuple[str, bool]] = {}  # room -> (path, records) where it is first used
    found = []
    for step in graph.all_steps(flows):
        conference = step.action.conference
        if conference is None or conference.room is None:
            continue
        records = flows.flows[step.flow].recording.mode != "off"
        seen = first.setdefault(conference.room, (step.path, records))
        if seen[1] != records:
            found.append(
                Finding(
                    f"{step.path}.conference.room",
                    f"room '{conference.room}' is also joined at call_flows.{seen[0]}, from a "
                    f"flow that {'records' if seen[1] else 'does not record'}; a room records or "
                    "not for everyone in it, so give each recording mode its own room",
                )
            )
    return found


def _dialable(path: str, number: str, dial_countries: Collection[str] | None) -> list[Finding]:
    """A number the app dials: not premium-rate or shared-cost, in a country the account calls."""
    refused = refusal(number, dial_countries)
    if refused is None:
        return []
    if refused.reason == "country":
        allowed = ", ".join(sorted(dial_countries or ())) or "none"
        return [
            Finding(
                path,
                f"{number} is in {refused.country}, which dialing_permissions does not allow "
                f"(allowed: {allowed}); Twilio would refuse the call (error 13227): add the "
                "country or dial another number",
            )
        ]
    what = refused.reason.replace("_", "-")
    return [
        Finding(
            path,
            f"{number} is a {what} number: the app never dials those (toll fraud); dial a "
            "geographic or mobile number",
        )
    ]


def _graph_findings(flows: CallFlows, entry_flows: Iterable[str] | None) -> list[Finding]:
    """No step without a way to end; menus and flows no entry point reaches (warnings)."""
    g = graph.build(flows)
    findings: list[Finding] = []
    ending = g.can_end()
    for node in g.nodes.values():
        if node.id not in ending and node.kind in ("step", "menu"):
            findings.append(
                Finding(
                    node.path,
                    f"{node.label} never ends: every way out leads back into the loop "
                    "(menus and flows that only lead to each other); give it an action that "
                    "ends the call (a dial, voicemail, hangup...)",
                )
            )
    for loop in g.silent_loops():
        if not all(node in ending for node in loop):
            continue  # already reported: it never ends at all
        nodes = [g.nodes[n] for n in loop]
        first = next((n for n in nodes if n.kind != "flow"), nodes[0])
        # A step that only leads on ({menu: x}) has its target's label: say each place once.
        labels = [n.label for n in [*nodes, nodes[0]]]
        places = [x for i, x in enumerate(labels) if i == 0 or x != labels[i - 1]]
        around = " -> ".join(places if len(places) > 1 else places * 2)
        findings.append(
            Finding(
                first.path,
                f"a caller who says and presses nothing goes round forever: {around}; end "
                "the loop: make one of its steps a voicemail or a hang-up, or point the "
                "no_answer / exhausted that closes it somewhere that ends",
            )
        )
    entered = list(flows.flows) if entry_flows is None else [*entry_flows, flows.entry_flow]
    reached = g.reachable([graph.flow_id(f) for f in entered])
    for name, flow in flows.flows.items():
        if graph.flow_id(name) not in reached:
            findings.append(
                Finding(
                    graph.flow_path(name),
                    f"flow {name} is not entered by any number, application, SIP domain or BYOC "
                    "trunk, nor by another flow (call_flow: " + name + " on one of them)",
                    warning=True,
                )
            )
            continue
        for menu_name in flow.menus:
            if graph.menu_id(name, menu_name) not in reached:
                findings.append(
                    Finding(
                        f"{graph.flow_path(name)}.menus.{menu_name}",
                        f"menu {menu_name} is unreachable: no start, option or other action of "
                        f"flow {name} leads to it (add {{menu: {menu_name}}} somewhere, or "
                        "remove it)",
                        warning=True,
                    )
                )
    return findings


def _names(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) or "(none declared)"
