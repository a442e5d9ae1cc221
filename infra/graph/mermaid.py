"""The estate's call routing as a Mermaid flowchart: `mermaid(env)` (pure, deterministic).

Entry points (numbers, applications, SIP domains, BYOC trunks) lead to the call flow they enter
(`call_flow`), the app route they name (`flow`, the legacy form), an external URL, an application
or an Elastic SIP trunk. Each declared flow is a subgraph: its entry (voice, recording and the
consent said first), its menus with one edge per option ("1 / sales"), business hours (open,
closed, holiday), and the targets (dial, SIP user with its PSTN fallback, conference, voicemail,
hang up, operator) with their "no answer" edges. Trunks lead to their origination URLs (priority
and weight on the edge); BYOC trunks to their connection policy and its targets.

The flows' structure is `webhook_app.callflow.graph.build`'s (the graph the checks and the policy
pack read); this module only names, labels and lays it out. A step that only passes the call on
(an option whose action is `menu: sales` or `flow: support`) is drawn as an edge straight to that
menu or flow.

Every user-written text lands in a double-quoted label with Mermaid's entity codes for anything
that could end or alter it (`"` -> `#quot;`, `<` -> `#lt;`...), so no name, prompt or URL can
break the diagram or inject markup. Node ids are built from names with `[A-Za-z0-9_]` only and a
kind prefix (so never a Mermaid keyword such as `end`), made unique in declaration order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from infra.spec import Application, ByocTrunk, Environment, PhoneNumber, SipDomain
from infra.urls import route_for
from webhook_app.callflow.graph import (
    FlowGraph,
    Node,
    Step,
    all_steps,
    build,
    flow_id,
    menu_id,
    step_id,
)
from webhook_app.callflow.model import Action, CallFlows, Flow

__all__ = ["label", "mermaid"]

MAX_TEXT = 60  # characters of a prompt or message shown in a label

# Shapes by what a node is: (opening, closing) around the quoted label.
_SHAPES: dict[str, tuple[str, str]] = {
    "number": ("([", "])"),
    "entry": ("[", "]"),
    "byoc": ("[[", "]]"),
    "trunk": ("[[", "]]"),
    "policy": ("{{", "}}"),
    "sip_target": ("[/", "/]"),
    "route": ("[", "]"),
    "external": ("[/", "\\]"),
    "flow": ("{{", "}}"),
    "consent": (">", "]"),
    "menu": ("{", "}"),
    "hours": ("{", "}"),
    "person": ("(", ")"),
    "voicemail": ("[(", ")]"),
    "hangup": ("[\\", "/]"),
}

# Light fills with dark text: readable on GitHub's light and dark themes alike.
_CLASSES: dict[str, str] = {
    "entry": "fill:#e8f0fe,stroke:#4a6fa5,color:#111",
    "flow": "fill:#fff1d6,stroke:#b7791f,color:#111",
    "consent": "fill:#fde2e4,stroke:#c53030,color:#111",
    "menu": "fill:#fffbe6,stroke:#b7950b,color:#111",
    "person": "fill:#e6f4ea,stroke:#2f855a,color:#111",
    "voicemail": "fill:#f3e8fd,stroke:#6b46c1,color:#111",
    "hangup": "fill:#f1f3f4,stroke:#718096,color:#111",
    "trunk": "fill:#e0f7fa,stroke:#00838f,color:#111",
    "external": "fill:#eeeeee,stroke:#616161,color:#111",
}
_CLASS_OF_SHAPE: dict[str, str] = {
    "number": "entry",
    "entry": "entry",
    "byoc": "trunk",
    "trunk": "trunk",
    "policy": "trunk",
    "sip_target": "trunk",
    "route": "external",
    "external": "external",
    "flow": "flow",
    "consent": "consent",
    "menu": "menu",
    "hours": "menu",
    "person": "person",
    "voicemail": "voicemail",
    "hangup": "hangup",
}

# Characters that could end a quoted label, start an entity, a comment, an edge label's end or
# a markdown string; written as Mermaid entity codes (shown as the character itself).
_ESCAPES = {
    "#": "#35;",
    '"': "#quot;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "|": "#124;",
    "%": "#37;",
    "\\": "#92;",
    "{": "#123;",
    "}": "#125;",
}
_WHITESPACE = re.compile(r"\s+")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
_ID_WORDS = {"*": "_star_", "#": "_hash_"}


def _text(value: str, limit: int | None = None) -> str:
    """One line of label text: whitespace folded, control characters dropped, escaped."""
    line = _WHITESPACE.sub(" ", value).strip()
    line = "".join(ch for ch in line if ch.isprintable())
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return "".join(_ESCAPES.get(ch, ch) for ch in line)


def label(*lines: str, limit: int | None = None) -> str:
    """A double-quoted Mermaid label of `lines` (one per row), each escaped."""
    return '"' + "<br/>".join(_text(line, limit) for line in lines if line) + '"'


def _quote(text: str) -> str:
    return f"“{text}”"


_Routed = PhoneNumber | Application | SipDomain | ByocTrunk


@dataclass
class _Node:
    id: str
    shape: str
    text: str  # the quoted label


@dataclass
class _Edge:
    source: str
    target: str
    text: str = ""  # the quoted label, or empty
    dotted: bool = False


@dataclass
class _Group:
    id: str
    title: str
    nodes: list[_Node] = field(default_factory=list)


@dataclass
class _Diagram:
    groups: list[_Group] = field(default_factory=list)
    loose: list[_Node] = field(default_factory=list)  # nodes outside any subgraph
    edges: list[_Edge] = field(default_factory=list)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def id(self, kind: str, key: str) -> str:
        """The node id of (kind, key): `kind_key` with only [A-Za-z0-9_], unique, stable."""
        found = self.ids.get((kind, key))
        if found is not None:
            return found
        cleaned = "".join(_ID_WORDS.get(ch, ch) for ch in key)
        base = f"{kind}_{_ID_UNSAFE.sub('_', cleaned).strip('_')}".rstrip("_")
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}_{n}"
        self.taken.add(candidate)
        self.ids[(kind, key)] = candidate
        return candidate

    def group(self, kind: str, key: str, title: str) -> _Group:
        found = _Group(self.id(kind, key), label(title))
        self.groups.append(found)
        return found

    def edge(self, source: str, target: str, text: str = "", *, dotted: bool = False) -> None:
        """An edge, drawn once however many steps it stands for."""
        edge = _Edge(source, target, label(text) if text else "", dotted)
        if edge not in self.edges:
            self.edges.append(edge)

    def text(self) -> str:
        out = ["flowchart LR"]
        for group in self.groups:
            if not group.nodes:
                continue
            out.append(f"  subgraph {group.id}[{group.title}]")
            out += [f"    {_node(n)}" for n in group.nodes]
            out.append("  end")
        out += [f"  {_node(n)}" for n in self.loose]
        for e in self.edges:
            arrow = "-.->" if e.dotted else "-->"
            middle = f"{arrow}|{e.text}|" if e.text else arrow
            out.append(f"  {e.source} {middle} {e.target}")
        members: dict[str, list[str]] = {}
        for node in [n for g in self.groups for n in g.nodes] + self.loose:
            members.setdefault(_CLASS_OF_SHAPE[node.shape], []).append(node.id)
        for name, style in _CLASSES.items():
            if name in members:
                out.append(f"  classDef {name} {style}")
                out.append(f"  class {','.join(members[name])} {name}")
        return "\n".join(out) + "\n"


def _node(node: _Node) -> str:
    opening, closing = _SHAPES[node.shape]
    return f"{node.id}{opening}{node.text}{closing}"


def mermaid(env: Environment) -> str:
    """The stack's call routing as a Mermaid `flowchart LR` (same spec, same text)."""
    diagram = _Diagram()
    entries = diagram.group("sg", "entries", "Entry points")
    flows = env.call_flows
    flow_groups = (
        {name: diagram.group("sg_flow", name, _flow_title(flows, name)) for name in flows.flows}
        if flows is not None
        else {}
    )
    targets = _Targets(
        diagram,
        routes=diagram.group("sg", "routes", "Webhook app routes"),
        trunks=diagram.group("sg", "trunks", "Elastic SIP trunks"),
        byoc=diagram.group("sg", "byoc", "BYOC"),
    )
    _draw_entries(env, entries, targets)
    if flows is not None:
        graph = build(flows)
        steps = {step_id(s.flow, s.key): s for s in all_steps(flows)}
        for name, group in flow_groups.items():
            _draw_flow(diagram, group, flows, name, graph, steps)
    _draw_trunks(env, targets)
    _draw_byoc(env, targets)
    return diagram.text()


@dataclass
class _Targets:
    """Where entry points lead outside the flows: app routes, external URLs, trunks, BYOC."""

    diagram: _Diagram
    routes: _Group
    trunks: _Group
    byoc: _Group
    externals: dict[str, str] = field(default_factory=dict)

    def route(self, flow: str) -> str:
        """The node of an app route (a legacy `flow:`), drawn once."""
        node_id = self.diagram.id("route", flow)
        if all(n.id != node_id for n in self.routes.nodes):
            self.routes.nodes.append(_Node(node_id, "route", label(flow, route_for(flow).path)))
        return node_id

    def external(self, url: str) -> str:
        """The node of an external URL, drawn once (numbered in order of first use)."""
        if url not in self.externals:
            node_id = self.diagram.id("external", str(len(self.externals) + 1))
            self.externals[url] = node_id
            self.diagram.loose.append(
                _Node(node_id, "external", label("external URL", url, limit=80))
            )
        return self.externals[url]

    def voice(self, source: str, entry: _Routed) -> None:
        """The edge from an entry point to where its voice URL leads."""
        if entry.call_flow is not None:
            self.diagram.edge(source, self.diagram.id("flow", entry.call_flow))
        elif entry.flow is not None:
            self.diagram.edge(source, self.route(entry.flow))
        elif entry.external_url is not None:
            self.diagram.edge(source, self.external(entry.external_url))


def _draw_entries(env: Environment, entries: _Group, targets: _Targets) -> None:
    diagram = targets.diagram
    for number in env.numbers:
        node_id = diagram.id("number", number.e164)
        entries.nodes.append(
            _Node(node_id, "number", label(number.e164, number.friendly_name or ""))
        )
        if number.application is not None:
            diagram.edge(node_id, diagram.id("app", number.application))
        elif number.trunk is not None:
            diagram.edge(node_id, diagram.id("trunk", number.trunk))
        else:
            targets.voice(node_id, number)
    for app in env.applications:
        node_id = diagram.id("app", app.name)
        entries.nodes.append(
            _Node(node_id, "entry", label(f"application {app.name}", app.friendly_name or ""))
        )
        targets.voice(node_id, app)
    for domain in env.sip_domains:
        node_id = diagram.id("domain", domain.name)
        entries.nodes.append(
            _Node(node_id, "entry", label(f"SIP domain {domain.name}", domain.domain_name))
        )
        targets.voice(node_id, domain)
        if domain.byoc_trunk is not None:
            diagram.edge(
                node_id, diagram.id("byoc", domain.byoc_trunk), "calls out via", dotted=True
            )


def _draw_trunks(env: Environment, targets: _Targets) -> None:
    diagram = targets.diagram
    for trunk in env.trunks:
        node_id = diagram.id("trunk", trunk.name)
        recording = "" if trunk.recording.mode == "do-not-record" else trunk.recording.mode
        targets.trunks.nodes.append(
            _Node(node_id, "trunk", label(f"trunk {trunk.name}", trunk.domain_name, recording))
        )
        _draw_sip_targets(
            targets.trunks,
            diagram,
            node_id,
            "origination",
            trunk.name,
            [(u.name, u.sip_url, u.priority, u.weight, u.enabled) for u in trunk.origination_urls],
        )
        if trunk.disaster_recovery_flow is not None:
            diagram.edge(
                node_id,
                targets.route(trunk.disaster_recovery_flow),
                "disaster recovery",
                dotted=True,
            )


def _draw_byoc(env: Environment, targets: _Targets) -> None:
    diagram = targets.diagram
    for byoc_trunk in env.byoc_trunks:
        node_id = diagram.id("byoc", byoc_trunk.name)
        targets.byoc.nodes.append(
            _Node(
                node_id,
                "byoc",
                label(f"BYOC trunk {byoc_trunk.name}", byoc_trunk.friendly_name or ""),
            )
        )
        targets.voice(node_id, byoc_trunk)
        if byoc_trunk.connection_policy is not None:
            diagram.edge(node_id, diagram.id("policy", byoc_trunk.connection_policy))
    for policy in env.connection_policies:
        node_id = diagram.id("policy", policy.name)
        targets.byoc.nodes.append(
            _Node(
                node_id,
                "policy",
                label(f"connection policy {policy.name}", policy.friendly_name or ""),
            )
        )
        _draw_sip_targets(
            targets.byoc,
            diagram,
            node_id,
            "policy_target",
            policy.name,
            [(t.name, t.target, t.priority, t.weight, t.enabled) for t in policy.targets],
        )


def _draw_sip_targets(
    group: _Group,
    diagram: _Diagram,
    owner: str,
    kind: str,
    owner_name: str,
    items: list[tuple[str, str, int, int, bool]],
) -> None:
    """SIP targets (name, URI, priority, weight, enabled) of a trunk or a connection policy,
    each an edge from ``owner`` labelled with its weighting (dotted when disabled)."""
    for name, uri, priority, weight, enabled in items:
        target = diagram.id(kind, f"{owner_name}.{name}")
        group.nodes.append(_Node(target, "sip_target", label(uri, name)))
        diagram.edge(owner, target, _weighting(priority, weight, enabled), dotted=not enabled)


def _weighting(priority: int, weight: int, enabled: bool) -> str:
    return f"priority {priority}, weight {weight}" + ("" if enabled else ", disabled")


def _flow_title(flows: CallFlows, name: str) -> str:
    return f"flow {name}" + (" (default)" if name == flows.entry_flow else "")


_RECORDING = {"record-from-answer": "records from answer", "dual": "records (dual)"}
_RING = {"simultaneous": "ring all at once", "in_order": "ring in order"}


def _draw_flow(
    diagram: _Diagram,
    group: _Group,
    flows: CallFlows,
    name: str,
    graph: FlowGraph,
    steps: dict[str, Step],
) -> None:
    """The flow's nodes in its subgraph, and every edge leaving them."""
    flow = flows.flows[name]
    nodes = [n for n in graph.nodes.values() if n.flow == name]

    # Steps that only pass the call on are drawn as an edge to where they lead.
    def passes_to(node: Node) -> str | None:
        step = steps.get(node.id)
        if step is None:
            return None
        if step.action.menu is not None:
            return menu_id(name, step.action.menu)
        if step.action.flow is not None:
            return flow_id(step.action.flow)
        return None

    def mermaid_id(graph_id: str) -> str | None:
        seen: set[str] = set()
        while graph_id not in seen:
            seen.add(graph_id)
            node = graph.nodes.get(graph_id)
            if node is None:
                return None  # an undeclared target: the checks report it
            onward = passes_to(node)
            if onward is None:
                shared = _shared(node, steps.get(graph_id))
                if shared is not None:
                    key = _shared_key(node, steps.get(graph_id))
                    return diagram.id(shared, f"{node.flow}:{key}")  # names hold no ":"
                return diagram.id(node.kind, graph_id.split(":", 1)[1])
            graph_id = onward
        return None

    entry = diagram.id("flow", name)
    records = flow.recording.mode != "off"
    group.nodes.append(_Node(entry, "flow", label(*_flow_lines(flows, name))))
    leaving = entry
    if records:
        leaving = diagram.id("consent", name)
        consent = flow.recording.consent or ""
        group.nodes.append(_Node(leaving, "consent", label("consent", _quote(_clip(consent)))))
        diagram.edge(entry, leaving, "said first")

    declared: set[str] = set()
    for node in nodes:
        if node.kind == "flow" or passes_to(node) is not None:
            continue
        node_id = mermaid_id(node.id)
        assert node_id is not None  # a drawn node resolves to itself
        if node_id in declared:
            continue
        declared.add(node_id)
        shape, lines = _describe_node(flows, flow, node, steps.get(node.id))
        group.nodes.append(_Node(node_id, shape, label(*lines)))

    for node in nodes:
        if passes_to(node) is not None:
            continue
        source = leaving if node.kind == "flow" else mermaid_id(node.id)
        if source is None:
            continue
        for target in node.edges:
            target_id = mermaid_id(target)
            if target_id is not None:
                diagram.edge(source, target_id, _edge_label(flow, node, target))
        step = steps.get(node.id)
        sip_user = step.action.sip_user if step is not None else None
        user = flows.sip_users.get(sip_user) if sip_user is not None else None
        if user is not None and user.pstn_fallback is not None and source is not None:
            fallback = diagram.id("pstn_fallback", f"{name}:{sip_user}")
            if fallback not in declared:
                declared.add(fallback)
                group.nodes.append(_Node(fallback, "person", label("dial", user.pstn_fallback)))
            diagram.edge(source, fallback, "pstn fallback")


# Targets whose node says everything about them and whose onward edges are the flow's (a
# voicemail box, the operator, a SIP user, a conference room): one node per flow and target,
# however many options, hours or routes lead there. A dial keeps a node per step (its numbers
# and its own no_answer differ).
def _shared(node: Node, step: Step | None) -> str | None:
    """The node kind shared by every step with the same target, or None (a node per step)."""
    if node.kind == "end" and node.end == "person":
        return "operator"  # a menu that gives up falls back to the operator
    if step is None:
        return None
    action = step.action
    for kind in ("voicemail", "operator", "sip_user", "conference"):
        if getattr(action, kind) is not None:
            return kind
    return None


def _shared_key(node: Node, step: Step | None) -> str:
    action = step.action if step is not None else None
    if action is None or action.operator is not None:
        return ""
    if action.conference is not None:
        return action.conference.room or "caller"
    return action.voicemail or action.sip_user or ""


def _flow_lines(flows: CallFlows, name: str) -> list[str]:
    flow = flows.flows[name]
    lines = [f"flow {name}", f"{flow.voice}, {flow.language}"]
    if flow.recording.mode != "off":
        lines.append(f"{_RECORDING[flow.recording.mode]}, consent first")
    return lines


def _key(graph_id: str) -> str:
    """The step key of a step or end node id (`step:<flow>:<key>`)."""
    return graph_id.split(":", 2)[2] if graph_id.count(":") >= 2 else ""


def _edge_label(flow: Flow, source: Node, target: str) -> str:
    key = _key(target)
    if source.kind == "flow":
        return f"called {key.removeprefix('byoc.')}" if key.startswith("byoc.") else ""
    if source.kind == "menu":
        menu_name = source.id.split(":", 2)[2]
        menu = flow.menus[menu_name]
        choice = key.removeprefix(f"menu.{menu_name}.")
        if choice == "exhausted":
            return f"no valid choice after {menu.retries} retries"
        if choice == "silence":
            return "silence"
        for option in menu.options:
            if option.digit == choice:
                named = option.label or (option.keywords[0] if option.keywords else "")
                return f"{option.digit} / {named}" if named else option.digit
        return choice
    for role in ("open", "closed", "holiday"):
        if key == f"{_key(source.id)}.{role}":
            return role
    return "no answer"


def _describe_node(
    flows: CallFlows, flow: Flow, node: Node, step: Step | None
) -> tuple[str, list[str]]:
    """Shape and label lines of a menu, a step or an implicit end."""
    recorded = ["recorded"] if node.records else []
    if node.kind == "menu":
        menu = flow.menus[node.id.split(":", 2)[2]]
        how = "keys or speech" if menu.speech else "keys"
        return "menu", [
            f"menu {node.id.split(':', 2)[2]}",
            _quote(_clip(menu.prompt)),
            f"{how}, {menu.retries} retries",
        ]
    if node.kind == "end":
        key = _key(node.id)
        if node.end == "person":  # the operator a menu falls back to
            return "person", [*_operator(flows), *recorded]
        said = flow.goodbye
        if key.endswith(".unanswered"):
            said = flow.no_answer_message
        elif key.endswith(".silence"):
            said = flow.menus[key.removeprefix("menu.").removesuffix(".silence")].silence_message
        return "hangup", ["hang up", _quote(_clip(said))]
    if step is None:
        return "person", [node.label]
    return _describe_action(flows, step.action, recorded)


def _describe_action(
    flows: CallFlows, action: Action, recorded: list[str]
) -> tuple[str, list[str]]:
    if action.dial is not None:
        dial = action.dial
        ring = _RING[dial.ring] if len(dial.numbers) > 1 else ""
        timeout = f"{dial.timeout} s" if dial.timeout is not None else ""
        return "person", ["dial", ", ".join(dial.numbers), _join(ring, timeout), *recorded]
    if action.sip_user is not None:
        user = flows.sip_users.get(action.sip_user)
        uri = user.uri if user is not None else ""
        return "person", [f"SIP user {action.sip_user}", uri, *recorded]
    if action.conference is not None:
        room = action.conference.room
        where = f"room {room}" if room else "the caller's own room"
        return "person", ["conference", where, *recorded]
    if action.operator is not None:
        return "person", [*_operator(flows), *recorded]
    if action.voicemail is not None:
        box = flows.voicemail_boxes.get(action.voicemail)
        limit = f"up to {box.max_seconds} s" if box is not None else ""
        return "voicemail", [f"voicemail {action.voicemail}", limit]
    if action.hangup is not None:
        return "hangup", ["hang up", _quote(_clip(action.hangup)) if action.hangup.strip() else ""]
    if action.hours is not None:
        schedule = flows.schedules.get(action.hours.schedule)
        zone = schedule.time_zone if schedule is not None else ""
        holidays = len(schedule.holidays) if schedule is not None else 0
        extra = f"{holidays} holiday{'s' if holidays != 1 else ''}" if holidays else ""
        return "hours", [f"hours {action.hours.schedule}", _join(zone, extra)]
    return "person", [str(action.kind)]


def _operator(flows: CallFlows) -> list[str]:
    operator = flows.operator
    if operator is None:
        return ["operator"]
    ring = _RING[operator.ring] if len(operator.numbers) > 1 else ""
    return ["operator", ", ".join(operator.numbers), ring]


def _clip(text: str) -> str:
    line = _WHITESPACE.sub(" ", text).strip()
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1].rstrip() + "…"


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)
