"""The call flows as a graph: every step with its key and config path, and where it leads.

One walk of :class:`~webhook_app.callflow.model.CallFlows` that the checks (targets exist,
reachability, a way to end), the app (one rendered page per step), the policy pack (consent
before recording, prod calls end with a person or a voicemail) and the picture all read.

A step is keyed within its flow by where it is declared: ``start``, ``no_answer``,
``menu.<menu>.<digit>``, ``menu.<menu>.exhausted``, ``byoc.<number>``; a nested action adds its
role (``menu.main.1.no_answer``, ``start.open``). The app puts the key in the URLs it hands
Twilio (``<Dial action>``), so a key names the same step after a redeploy that only adds steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from webhook_app.callflow.model import Action, CallFlows, Flow

# How the app's part of a call ends at a step: with a person (a dial, a SIP user, the operator,
# a conference), a voicemail box, or a hang-up the app chose; `caller_hangup`: a hang-up the
# caller picked from a menu.
End = Literal["person", "voicemail", "hangup", "caller_hangup"]
NodeKind = Literal["flow", "menu", "step", "end"]
_PEOPLE = frozenset({"dial", "sip_user", "operator", "conference"})


@dataclass(frozen=True)
class Step:
    """One declared action: its flow, its key there, its config path, and the action."""

    flow: str
    key: str
    path: str
    action: Action
    chosen: bool = False  # a menu option: the caller picked it


@dataclass
class Node:
    """A vertex of the graph: a flow's entry, a menu, a step, or an implicit end."""

    id: str
    kind: NodeKind
    flow: str
    label: str
    path: str
    end: End | None = None
    records: bool = False  # a step that starts a recording (the flow records calls to people)
    consent: bool = False  # a flow entry that plays the recording consent
    edges: list[str] = field(default_factory=list)
    chosen: frozenset[str] = frozenset()  # edges only a caller's choice takes (menu options)


def flow_id(flow: str) -> str:
    return f"flow:{flow}"


def menu_id(flow: str, menu: str) -> str:
    return f"menu:{flow}:{menu}"


def step_id(flow: str, key: str) -> str:
    return f"step:{flow}:{key}"


def flow_path(flow: str) -> str:
    return f"flows.{flow}"


def steps_of(name: str, flow: Flow) -> Iterator[Step]:
    """Every action declared in ``flow``, nested ones after their parent."""
    base = flow_path(name)
    yield from _nested(Step(name, "start", f"{base}.start", flow.start))
    if flow.no_answer is not None:
        yield from _nested(Step(name, "no_answer", f"{base}.no_answer", flow.no_answer))
    for menu_name, menu in flow.menus.items():
        mpath = f"{base}.menus.{menu_name}"
        for i, option in enumerate(menu.options):
            key = f"menu.{menu_name}.{option.digit}"
            yield from _nested(
                Step(name, key, f"{mpath}.options[{i}].action", option.action, chosen=True)
            )
        if menu.exhausted is not None:
            key = f"menu.{menu_name}.exhausted"
            yield from _nested(Step(name, key, f"{mpath}.exhausted", menu.exhausted))
    for number, action in flow.byoc_routes.items():
        yield from _nested(Step(name, f"byoc.{number}", f"{base}.byoc_routes.{number}", action))


def _nested(step: Step) -> Iterator[Step]:
    yield step
    action = step.action
    if action.dial is not None and action.dial.no_answer is not None:
        yield from _nested(
            Step(
                step.flow,
                f"{step.key}.no_answer",
                f"{step.path}.dial.no_answer",
                action.dial.no_answer,
            )
        )
    if action.hours is not None:
        for role in ("open", "closed", "holiday"):
            sub: Action | None = getattr(action.hours, role)
            if sub is not None:
                yield from _nested(
                    Step(step.flow, f"{step.key}.{role}", f"{step.path}.hours.{role}", sub)
                )


def all_steps(flows: CallFlows) -> Iterator[Step]:
    for name, flow in flows.flows.items():
        yield from steps_of(name, flow)


def describe(action: Action) -> str:
    """A short label of an action for messages and the picture."""
    kind = action.kind
    if action.menu is not None:
        return f"menu {action.menu}"
    if action.dial is not None:
        how = " then ".join(action.dial.numbers) if action.dial.ring == "in_order" else None
        return f"dial {how or ', '.join(action.dial.numbers)}"
    if action.sip_user is not None:
        return f"SIP user {action.sip_user}"
    if action.conference is not None:
        return f"conference {action.conference.room or '(caller room)'}"
    if action.voicemail is not None:
        return f"voicemail {action.voicemail}"
    if action.flow is not None:
        return f"flow {action.flow}"
    if action.hangup is not None:
        return "hang up"
    if action.hours is not None:
        return f"hours {action.hours.schedule}"
    return str(kind)


@dataclass
class FlowGraph:
    """The nodes by id; an edge means "may lead to"."""

    nodes: dict[str, Node]

    def reachable(self, roots: list[str]) -> set[str]:
        """`roots` (those in the graph) and every node they lead to."""
        known = [r for r in roots if r in self.nodes]
        return set(known) | self._closure(known, lambda n: self.nodes[n].edges)

    def can_end(self) -> set[str]:
        """Nodes from which some path reaches an end (a fixpoint over reversed edges)."""
        done = {n.id for n in self.nodes.values() if n.end is not None}
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                if node.id not in done and any(e in done for e in node.edges):
                    done.add(node.id)
                    changed = True
        return done

    def silent_loops(self) -> list[list[str]]:
        """Cycles a caller who says and presses nothing goes round forever, each once.

        The edges followed are the ones taken without the caller: a flow's start, a menu's
        retries running out or its first silence, nobody answering a dial, a redirect to
        another flow, a schedule's branches (a dial counts as unanswered). Each loop is listed
        once, from its first flow or menu in declaration order, in the order it goes round.
        """
        # Start each loop at a flow or a menu when it has one: what a reader knows by name.
        order = sorted(self.nodes, key=lambda n: self.nodes[n].kind not in ("flow", "menu"))

        def automatic(node_id: str) -> list[str]:
            node = self.nodes[node_id]
            return [e for e in node.edges if e in self.nodes and e not in node.chosen]

        loops: list[list[str]] = []
        seen: set[str] = set()
        for start in order:
            if start in seen:
                continue
            # the nodes that lead back to `start` without the caller: its loop, if any
            reach = self._closure([start], automatic)
            if start not in reach:
                continue
            members = {n for n in reach if start in self._closure([n], automatic)}
            seen |= members
            loop, current = [start], start
            while True:  # walk the loop once, in edge order, within its members
                following = next(e for e in automatic(current) if e in members)
                if following == start or following in loop:
                    break
                loop.append(following)
                current = following
            loops.append(loop)
        return loops

    def _closure(self, starts: list[str], edges: Callable[[str], list[str]]) -> set[str]:
        """The nodes reachable from `starts` in one or more steps along `edges`."""
        found: set[str] = set()
        stack = [e for start in starts for e in edges(start)]
        while stack:
            node = stack.pop()
            if node not in found and node in self.nodes:
                found.add(node)
                stack.extend(edges(node))
        return found

    def paths_to_recording_without_consent(self, roots: list[str]) -> list[list[str]]:
        """Paths from ``roots`` to a recording step that pass no consent (shortest each)."""
        found: list[list[str]] = []
        reported: set[str] = set()
        for root in roots:
            if root not in self.nodes:
                continue
            # BFS over nodes reached without consent; a consenting flow entry is not expanded.
            parents: dict[str, str | None] = {root: None}
            queue = [root]
            while queue:
                current = queue.pop(0)
                node = self.nodes[current]
                if node.consent:
                    continue
                if node.records and current not in reported:
                    reported.add(current)
                    path = [current]
                    while (parent := parents[path[-1]]) is not None:
                        path.append(parent)
                    found.append(path[::-1])
                    continue
                for edge in node.edges:
                    if edge not in parents:
                        parents[edge] = current
                        queue.append(edge)
        return found


def build(flows: CallFlows) -> FlowGraph:
    """The graph of ``flows``; references to undeclared targets lead nowhere (checks say so)."""
    nodes: dict[str, Node] = {}
    for name, flow in flows.flows.items():
        records = flow.recording.mode != "off"
        nodes[flow_id(name)] = Node(
            flow_id(name),
            "flow",
            name,
            f"flow {name}",
            flow_path(name),
            consent=records,
            edges=[step_id(name, "start")]
            + [step_id(name, f"byoc.{number}") for number in flow.byoc_routes],
        )
        for menu_name, menu in flow.menus.items():
            mpath = f"{flow_path(name)}.menus.{menu_name}"
            node = Node(menu_id(name, menu_name), "menu", name, f"menu {menu_name}", mpath)
            node.edges = [step_id(name, f"menu.{menu_name}.{o.digit}") for o in menu.options]
            node.chosen = frozenset(node.edges)
            exhausted = f"menu.{menu_name}.exhausted"
            if menu.exhausted is not None:
                node.edges.append(step_id(name, exhausted))
            elif flows.operator is not None:
                # The app's default: ring the operator, then the no-answer chain.
                operator = _implicit(nodes, name, exhausted, mpath, "operator", "person", records)
                nodes[operator].edges += _unanswered(nodes, name, flow, exhausted, mpath, True)
                node.edges.append(operator)
            else:
                node.edges.append(_implicit(nodes, name, exhausted, mpath, "goodbye", "hangup"))
            if menu.first_silence == "hangup":
                silence = f"menu.{menu_name}.silence"
                node.edges.append(
                    _implicit(nodes, name, silence, mpath, "no input: goodbye", "hangup")
                )
            nodes[node.id] = node
        for step in steps_of(name, flow):
            nodes[step_id(name, step.key)] = _step_node(nodes, flows, flow, step, records)
    return FlowGraph(nodes)


def _implicit(
    nodes: dict[str, Node],
    flow: str,
    key: str,
    path: str,
    label: str,
    end: End,
    records: bool = False,
) -> str:
    """An end the app supplies when the declaration leaves it out (goodbye, no answer...)."""
    node_id = f"end:{flow}:{key}"
    nodes[node_id] = Node(node_id, "end", flow, label, path, end=end, records=records)
    return node_id


def _unanswered(
    nodes: dict[str, Node], name: str, flow: Flow, key: str, path: str, operator: bool = False
) -> list[str]:
    """Where a call goes when nobody answers a dial: the flow's no_answer, else a message and
    goodbye (a dial's own no_answer is its nested step). As the app does, a dial inside the
    flow's no_answer, or the operator when that is the operator again, hangs up instead of
    going round."""
    inside = key == "no_answer" or key.startswith("no_answer.")
    again = operator and flow.no_answer is not None and bool(flow.no_answer.operator)
    if flow.no_answer is not None and not inside and not again:
        return [step_id(name, "no_answer")]
    return [_implicit(nodes, name, f"{key}.unanswered", path, "no answer: goodbye", "hangup")]


def _step_node(
    nodes: dict[str, Node], flows: CallFlows, flow: Flow, step: Step, records: bool
) -> Node:
    action, name = step.action, step.flow
    node = Node(step_id(name, step.key), "step", name, describe(action), step.path)
    kind = action.kind
    if action.menu is not None:
        node.edges.append(menu_id(name, action.menu))
    elif action.flow is not None:
        node.edges.append(flow_id(action.flow))
    elif action.hours is not None:
        node.edges += [
            step_id(name, f"{step.key}.{role}")
            for role in ("open", "closed", "holiday")
            if getattr(action.hours, role) is not None
        ]
    elif action.voicemail is not None:
        node.end = "voicemail"
    elif action.hangup is not None:
        node.end = "caller_hangup" if step.chosen else "hangup"
    elif kind in _PEOPLE:
        node.end = "person"
        node.records = records
        if action.dial is not None and action.dial.no_answer is not None:
            node.edges.append(step_id(name, f"{step.key}.no_answer"))
        elif kind != "conference":
            node.edges += _unanswered(
                nodes, name, flow, step.key, step.path, operator=kind == "operator"
            )
    return node
