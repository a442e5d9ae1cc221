"""What the call-flow policies find in the stack's `CallFlows` resource (pure, no analyzer).

The program registers the stack's `call_flows` section as one state-only resource
(`infra.resources.call_flows`): the section as JSON data and the entry points (`number
+14155550100` -> the flow it enters). These functions rebuild the flow graph
(`webhook_app.callflow.graph`) from it and walk it from the entries, or from every flow when the
entries are unknown, naming each problem by the route a call takes to it and the config path to
fix (`call_flows.flows.main...`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from infra.resources.call_flows import ENTRY_LABELS
from webhook_app.callflow import graph
from webhook_app.callflow.model import CallFlows

SECTION = "call_flows"


@dataclass(frozen=True)
class Declared:
    """The flows as state has them, and which entries enter which flow (None: unknown)."""

    flows: CallFlows
    entries: dict[str, str] | None


class UnreadableCallFlows(ValueError):
    """The resource's `call_flows` input is not a valid section (the message says where)."""


def plain(value: Any) -> Any:
    """A policy property (read-only proxies of mappings and lists) as plain JSON data."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value


def read(props: Mapping[str, Any]) -> Declared:
    """The `CallFlows` resource's props as flows and entries."""
    try:
        flows = CallFlows.model_validate(plain(props.get("call_flows")))
    except ValidationError as exc:
        where = "; ".join(
            f"{SECTION}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)[:3]
        )
        raise UnreadableCallFlows(where) from None
    entries = plain(props.get("entries"))
    known = (
        {str(k): str(v) for k, v in entries.items()}
        if isinstance(entries, dict) and entries
        else None
    )
    return Declared(flows, known)


def roots(declared: Declared) -> list[str]:
    """The graph's entry nodes: the flows some entry enters, else every flow."""
    names = declared.flows.flows
    if declared.entries is None:
        return [graph.flow_id(name) for name in names]
    entered = sorted({f for f in declared.entries.values() if f in names})
    return [graph.flow_id(name) for name in entered]


def _entry_order(label: str) -> tuple[int, str]:
    """Numbers first, then applications, SIP domains, BYOC trunks (state keeps no key order)."""
    kinds = list(ENTRY_LABELS.values())
    kind = next((k for k in kinds if label.startswith(k + " ")), None)
    return (kinds.index(kind) if kind is not None else len(kinds), label)


def _entry_label(declared: Declared, flow: str) -> str | None:
    if declared.entries is None:
        return None
    labels = sorted((label for label, f in declared.entries.items() if f == flow), key=_entry_order)
    if not labels:
        return None
    more = f" (and {len(labels) - 1} more)" if len(labels) > 1 else ""
    return labels[0] + more


def route(declared: Declared, flow_graph: graph.FlowGraph, path: list[str]) -> str:
    """`number +1415... -> flow main -> menu support -> dial +1...`: a path as a caller meets it."""
    labels: list[str] = []
    first = flow_graph.nodes[path[0]]
    entry = _entry_label(declared, first.flow) if first.kind == "flow" else None
    if entry:
        labels.append(entry)
    for node_id in path:
        label = flow_graph.nodes[node_id].label
        if not labels or labels[-1] != label:  # `menu x` the step, then `menu x` the menu
            labels.append(label)
    return " -> ".join(labels)


def recording_without_consent(
    declared: Declared, flow_graph: graph.FlowGraph | None = None
) -> list[str]:
    """Each path from an entry to a recording step that passes no consent prompt."""
    flow_graph = flow_graph or graph.build(declared.flows)
    problems = []
    for path in flow_graph.paths_to_recording_without_consent(roots(declared)):
        step = flow_graph.nodes[path[-1]]
        problems.append(
            f"{route(declared, flow_graph, path)} records without a consent prompt: the caller "
            "must hear the consent before anything records; set "
            f"{SECTION}.{graph.flow_path(step.flow)}.recording.consent and route calls into "
            f"flow {step.flow} through its entry (it plays the consent first), or turn "
            f"recording off there (the step: {SECTION}.{step.path})"
        )
    return problems


def _shortest_paths(flow_graph: graph.FlowGraph, starts: list[str]) -> dict[str, list[str]]:
    """The shortest path from `starts` to every node they reach (breadth first)."""
    parents: dict[str, str | None] = {}
    queue: list[str] = []
    for start in starts:
        if start in flow_graph.nodes and start not in parents:
            parents[start] = None
            queue.append(start)
    while queue:
        current = queue.pop(0)
        for edge in flow_graph.nodes[current].edges:
            if edge in flow_graph.nodes and edge not in parents:
                parents[edge] = current
                queue.append(edge)
    paths: dict[str, list[str]] = {}
    for node in parents:
        path = [node]
        while (parent := parents[path[-1]]) is not None:
            path.append(parent)
        paths[node] = path[::-1]
    return paths


def _fix(declared: Declared, flow_graph: graph.FlowGraph, path: list[str]) -> str:
    """Where and how to give the caller a person or a voicemail instead of the hang-up."""
    node = flow_graph.nodes[path[-1]]
    boxes = list(declared.flows.voicemail_boxes)
    box = boxes[0] if boxes else "<box>"
    declare_box = "" if boxes else " (declare the box under call_flows.voicemail_boxes)"
    at = f"{SECTION}.{node.path}"
    flow = f"{SECTION}.{graph.flow_path(node.flow)}"
    if node.kind == "step":
        return (
            f"the app hangs up at {at}; send the caller to a person or a voicemail there "
            f"instead: {{voicemail: {box}}}{declare_box} or {{operator: true}}"
        )
    if node.id.endswith(".unanswered"):
        previous = flow_graph.nodes[path[-2]] if len(path) > 1 else node
        under_dial = (
            f"no_answer: {{voicemail: {box}}} under {at}.dial, or "
            if previous.label.startswith("dial ")
            else ""
        )
        who = (
            f"the operator (where the retries of {at} run out)"
            if previous.kind == "end" and previous.label == "operator"
            else at
        )
        if declared.flows.flows[node.flow].no_answer is not None:
            # The flow has a no_answer, and this is it (or inside it): it does not go round.
            fix = (
                f"give it its own no_answer: {{voicemail: {box}}} under {at}.dial"
                if previous.label.startswith("dial ")
                else f"make {flow}.no_answer {{voicemail: {box}}}"
            )
            return (
                f"nobody answers {who}, inside {flow}.no_answer, and the app says "
                f"no_answer_message and hangs up; {fix}{declare_box}"
            )
        return (
            f"nobody answers {who} and the app says no_answer_message and hangs up; add "
            f"{under_dial}no_answer: {{voicemail: {box}}} to {flow}{declare_box}"
        )
    if node.id.endswith(".silence"):
        return (
            f"silence at the first prompt of {at} hangs up (first_silence: hangup); set "
            f"{at}.first_silence: reprompt, so the menu retries and then reaches its "
            "exhausted action"
        )
    # a menu's retries ran out, and neither `exhausted` nor call_flows.operator is declared
    return (
        f"when the retries of {at} run out the app says goodbye and hangs up; set "
        f"exhausted: {{operator: true}} at {at}.exhausted (with call_flows.operator declared) "
        f"or exhausted: {{voicemail: {box}}}{declare_box}"
    )


def app_hangups(declared: Declared, flow_graph: graph.FlowGraph | None = None) -> list[str]:
    """Each reachable step where the app (not the caller) ends the call with a hang-up."""
    flow_graph = flow_graph or graph.build(declared.flows)
    problems = []
    for node_id, path in _shortest_paths(flow_graph, roots(declared)).items():
        if flow_graph.nodes[node_id].end != "hangup":
            continue
        problems.append(
            f"{route(declared, flow_graph, path)}: {_fix(declared, flow_graph, path)}; a "
            "caller-chosen hang-up (a menu option) is fine"
        )
    return problems


__all__ = [
    "Declared",
    "UnreadableCallFlows",
    "app_hangups",
    "plain",
    "read",
    "recording_without_consent",
    "roots",
    "route",
]
