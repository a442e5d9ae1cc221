"""infra.graph.mermaid: the estate's call routing as Mermaid text (structure, escaping, order).

The text is read back with a small parser of the subset `mermaid()` writes (node declarations
with a quoted label, edges with an optional quoted label); that the real Mermaid accepts it is
tests/infra/graph/test_graph_command.py's job.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from infra.graph.mermaid import label, mermaid
from infra.spec import Environment, load_environment

ESTATE = """
public_base_url: https://voice.example.com
credentials: {account_sid: ACb0ebb1aee434f6076941fdae6a07a0d2}
numbers:
  - {e164: "+14155550100", friendly_name: Main line, call_flow: main}
  - {e164: "+14155550101", friendly_name: Support line, application: support-app}
  - {e164: "+12125550104", friendly_name: PBX DID, trunk: pbx}
  - {e164: "+12125550105", external_url: "https://studio.example.com/flow?a=1&b=2"}
applications:
  - {name: support-app, friendly_name: Support app, call_flow: support}
sip_domains:
  - name: soft
    domain_name: acme-soft.sip.twilio.com
    call_flow: main
    byoc_trunk: carrier
    sip_registration: true
    auth: {calls: {credential_lists: [users]}, registrations: {credential_lists: [users]}}
credential_lists:
  - name: users
    credentials: [{username: alice}]
trunks:
  - name: pbx
    domain_name: acme-pbx.pstn.twilio.com
    disaster_recovery_flow: trunk_disaster_recovery
    origination_urls:
      - {name: nyc, sip_url: "sip:pbx-nyc.example.com:5061;transport=tls", priority: 10, weight: 20}
      - {name: sfo, sip_url: "sip:pbx-sfo.example.com", priority: 20, weight: 10, enabled: false}
byoc_trunks:
  - {name: carrier, call_flow: main, connection_policy: carrier}
connection_policies:
  - name: carrier
    targets:
      - {name: sbc-1, target: "sip:sbc1.carrier.example.net:5060", priority: 10, weight: 20}
      - {name: sbc-2, target: "sip:sbc2.carrier.example.net:5060", priority: 20, weight: 5}
call_flows:
  caller_id: "+14155550100"
  operator: {numbers: ["+14155550100", "+14155550108"], ring: in_order}
  sip_users:
    alice: {uri: "sip:alice@acme-soft.sip.twilio.com", pstn_fallback: "+14155550123"}
  voicemail_boxes:
    general: {max_seconds: 90}
  schedules:
    office:
      time_zone: America/New_York
      weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
      holidays: [2026-12-25]
  flows:
    main:
      start:
        hours:
          schedule: office
          open: {menu: main}
          closed: {voicemail: general}
          holiday: {hangup: "We are closed for the holiday."}
      no_answer: {voicemail: general}
      menus:
        main:
          prompt: "For sales press 1. For support press 2."
          speech: true
          options:
            - digit: "1"
              label: sales
              keywords: [sales, buy]
              action: {dial: {numbers: ["+14155550101", "+14155550102"], ring: in_order}}
            - {digit: "2", label: support, action: {flow: support}}
            - {digit: "3", keywords: [alice], action: {sip_user: alice}}
            - {digit: "4", action: {conference: {room: war-room}}}
            - {digit: "5", label: team, action: {menu: team}}
            - {digit: "0", label: operator, action: {operator: true}}
            - {digit: "#", label: bye, action: {hangup: ""}}
        team:
          prompt: "Press 1 to join the team room."
          options:
            - {digit: "1", action: {conference: {}}}
      byoc_routes:
        "+14155550101": {sip_user: alice}
    support:
      recording: {mode: dual, consent: "This call may be recorded."}
      start: {menu: support}
      menus:
        support:
          prompt: "Press 1 for billing"
          first_silence: hangup
          options:
            - digit: "1"
              label: billing
              action: {dial: {numbers: ["+14155550109"], no_answer: {voicemail: general}}}
"""

LEGACY = """
public_base_url: https://voice.example.com
credentials: {account_sid: ACb0ebb1aee434f6076941fdae6a07a0d2}
numbers:
  - {e164: "+14155550100", friendly_name: Main line, flow: ivr_main}
  - {e164: "+14155550103", flow: voicemail}
  - {e164: "+12125550104", trunk: pbx}
sip_domains:
  - {name: pbx, domain_name: acme-pbx.sip.twilio.com, flow: sip_inbound}
trunks:
  - name: pbx
    domain_name: acme-pbx.pstn.twilio.com
    origination_urls:
      - {name: nyc, sip_url: "sip:pbx-nyc.example.com", priority: 10, weight: 10}
byoc_trunks:
  - {name: carrier, flow: byoc_inbound, connection_policy: carrier}
connection_policies:
  - name: carrier
    targets:
      - {name: sbc-1, target: "sip:sbc1.carrier.example.net", priority: 10, weight: 10}
"""

# What someone could write into a friendly name, a prompt, a label or a message.
HOSTILE = [
    'Main "line"',
    'x"] --> evil["pwned',
    "end",
    "subgraph end",
    "a --> b",
    "<script>alert(1)</script>",
    "#quot; #35; &amp; %% comment",
    "pipes | and `ticks` and \\ backslash",
    "{braces} (parens) [brackets] ((circle)) >flag]",
    "Zürich ☎ 東京 — naïve",
    "line\nbreak\ttab",
]

NODE = re.compile(
    r"^ +(?P<id>[A-Za-z0-9_]+)(?P<open>\(\[|\[\[|\[\(|\[/|\[\\|\{\{|\(|\[|\{|>)"
    r'"(?P<label>[^"]*)"(?P<close>\]\)|\]\]|\)\]|/\]|\\\]|\}\}|\)|\]|\})$'
)
EDGE = re.compile(
    r'^ +(?P<source>[A-Za-z0-9_]+) (?P<arrow>-->|-\.->)(?:\|"(?P<label>[^"]*)"\|)? '
    r"(?P<target>[A-Za-z0-9_]+)$"
)
SUBGRAPH = re.compile(r'^ +subgraph (?P<id>[A-Za-z0-9_]+)\["(?P<label>[^"]*)"\]$')
CLASS = re.compile(r"^ +(classDef [a-z]+ [^\"]+|class [A-Za-z0-9_,]+ [a-z]+)$")


class Diagram:
    """The nodes (id -> label), edges (source, label, target) and subgraphs of the text."""

    def __init__(self, text: str) -> None:
        lines = text.splitlines()
        assert lines[0] == "flowchart LR"
        self.nodes: dict[str, str] = {}
        self.edges: list[tuple[str, str, str]] = []
        self.dotted: list[tuple[str, str, str]] = []
        self.subgraphs: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        current: str | None = None
        for line in lines[1:]:
            if m := SUBGRAPH.match(line):
                assert current is None, "nested subgraph"
                current = m["id"]
                self.subgraphs[current] = m["label"]
                self.members[current] = []
            elif line == "  end":
                assert current is not None
                current = None
            elif m := NODE.match(line):
                assert m["id"] not in self.nodes, f"node {m['id']} declared twice"
                self.nodes[m["id"]] = m["label"]
                if current is not None:
                    self.members[current].append(m["id"])
            elif m := EDGE.match(line):
                edge = (m["source"], m["label"] or "", m["target"])
                (self.dotted if m["arrow"] == "-.->" else self.edges).append(edge)
            else:
                assert CLASS.match(line), f"unexpected line: {line!r}"
        assert current is None, "unclosed subgraph"
        for source, _, target in self.edges + self.dotted:
            assert source in self.nodes, f"edge from undeclared node {source}"
            assert target in self.nodes, f"edge to undeclared node {target}"

    def out(self, source: str) -> dict[str, str]:
        """Edge label -> target of the solid edges leaving `source`."""
        return {lbl: target for s, lbl, target in self.edges if s == source}

    def targets(self, source: str) -> list[str]:
        return [target for s, _, target in self.edges + self.dotted if s == source]


def load(text: str, stack: str = "dev") -> Environment:
    raw: dict[str, Any] = yaml.safe_load(text)
    return load_environment(raw, stack, secrets_decrypted=False)


@pytest.fixture(scope="module")
def estate() -> Diagram:
    return Diagram(mermaid(load(ESTATE)))


def test_every_entry_point_is_drawn_and_leads_where_it_routes(estate: Diagram) -> None:
    entries = estate.members["sg_entries"]
    assert entries == [
        "number_14155550100",
        "number_14155550101",
        "number_12125550104",
        "number_12125550105",
        "app_support_app",
        "domain_soft",
    ]
    assert estate.nodes["number_14155550100"] == "+14155550100<br/>Main line"
    assert estate.targets("number_14155550100") == ["flow_main"]  # call_flow
    assert estate.targets("number_14155550101") == ["app_support_app"]  # application
    assert estate.targets("app_support_app") == ["flow_support"]
    assert estate.targets("number_12125550104") == ["trunk_pbx"]  # Elastic SIP trunk
    assert estate.targets("number_12125550105") == ["external_1"]  # external URL, escaped
    assert estate.nodes["external_1"] == (
        "external URL<br/>https://studio.example.com/flow?a=1#amp;b=2"
    )
    assert estate.targets("domain_soft") == ["flow_main", "byoc_carrier"]
    assert ("domain_soft", "calls out via", "byoc_carrier") in estate.dotted
    assert estate.targets("byoc_carrier") == ["flow_main", "policy_carrier"]


def test_each_flow_is_a_subgraph_with_its_entry(estate: Diagram) -> None:
    assert estate.subgraphs["sg_flow_main"] == "flow main (default)"
    assert estate.subgraphs["sg_flow_support"] == "flow support"
    assert estate.nodes["flow_main"] == "flow main<br/>Polly.Joanna, en-US"
    assert estate.members["sg_flow_main"][0] == "flow_main"
    assert estate.members["sg_flow_support"][0] == "flow_support"
    # The hours decision starts main; its open branch is the main menu.
    assert estate.out("flow_main")[""] == "step_main_start"
    assert estate.nodes["step_main_start"] == "hours office<br/>America/New_York, 1 holiday"
    assert estate.out("step_main_start") == {
        "open": "menu_main_main",
        "closed": "voicemail_main_general",
        "holiday": "step_main_start_holiday",
    }
    assert estate.nodes["voicemail_main_general"] == "voicemail general<br/>up to 90 s"
    assert estate.nodes["step_main_start_holiday"] == (
        "hang up<br/>“We are closed for the holiday.”"
    )


def test_a_recording_flow_says_its_consent_first(estate: Diagram) -> None:
    assert estate.nodes["flow_support"] == (
        "flow support<br/>Polly.Joanna, en-US<br/>records (dual), consent first"
    )
    assert estate.out("flow_support") == {"said first": "consent_support"}
    assert estate.nodes["consent_support"] == "consent<br/>“This call may be recorded.”"
    assert estate.out("consent_support") == {"": "menu_support_support"}
    # Calls to people in a recording flow are marked; in a flow that does not record, not.
    assert estate.nodes["step_support_menu_support_1"].endswith("<br/>recorded")
    assert "recorded" not in estate.nodes["step_main_menu_main_1"]


def test_every_menu_option_is_an_edge_labelled_by_digit_and_keyword(estate: Diagram) -> None:
    assert estate.nodes["menu_main_main"] == (
        "menu main<br/>“For sales press 1. For support press 2.”<br/>keys or speech, 2 retries"
    )
    assert estate.out("menu_main_main") == {
        "1 / sales": "step_main_menu_main_1",
        "2 / support": "flow_support",  # another flow: straight to its entry
        "3 / alice": "sip_user_main_alice",  # no label: the first keyword
        "4": "conference_main_war_room",
        "5 / team": "menu_main_team",  # a submenu: straight to it
        "0 / operator": "operator_main",
        "#35; / bye": "step_main_menu_main_hash",
        "no valid choice after 2 retries": "operator_main",
    }
    assert estate.out("menu_main_team") == {
        "1": "conference_main_caller",
        "no valid choice after 2 retries": "operator_main",
    }
    # A menu that hangs up on silence says so.
    assert estate.out("menu_support_support")["silence"] == "end_support_menu_support_silence"
    assert estate.nodes["end_support_menu_support_silence"] == (
        "hang up<br/>“No input received. Goodbye.”"
    )


def test_every_target_kind_is_drawn_with_what_it_does(estate: Diagram) -> None:
    nodes = estate.nodes
    assert nodes["step_main_menu_main_1"] == (
        "dial<br/>+14155550101, +14155550102<br/>ring in order"
    )
    assert nodes["sip_user_main_alice"] == ("SIP user alice<br/>sip:alice@acme-soft.sip.twilio.com")
    assert nodes["conference_main_war_room"] == "conference<br/>room war-room"
    assert nodes["conference_main_caller"] == "conference<br/>the caller's own room"
    assert nodes["operator_main"] == ("operator<br/>+14155550100, +14155550108<br/>ring in order")
    assert nodes["step_main_menu_main_hash"] == "hang up"
    # A menu that gives up reaches the declared operator.
    assert nodes["operator_main"].startswith("operator<br/>+14155550100")


def test_no_answer_and_pstn_fallback_edges(estate: Diagram) -> None:
    # Nobody answers: the flow's no_answer, or the dial's own.
    for step in ("step_main_menu_main_1", "sip_user_main_alice", "operator_main"):
        assert estate.out(step)["no answer"] == "voicemail_main_general"
    # One node per voicemail box, operator, SIP user and room in a flow, however many steps
    # lead there; each edge once.
    shared = ("voicemail", "operator", "sip_user", "conference", "pstn_fallback")
    assert [n for n in estate.members["sg_flow_main"] if n.startswith(shared)] == [
        "operator_main",
        "voicemail_main_general",
        "sip_user_main_alice",
        "conference_main_war_room",
        "conference_main_caller",
        "pstn_fallback_main_alice",
    ]
    assert len(set(estate.edges)) == len(estate.edges)
    assert estate.out("step_support_menu_support_1") == {"no answer": "voicemail_support_general"}
    assert estate.nodes["voicemail_support_general"] == "voicemail general<br/>up to 90 s"
    # A conference has no "no answer".
    assert "no answer" not in estate.out("conference_main_war_room")
    fallback = estate.out("sip_user_main_alice")["pstn fallback"]
    assert estate.nodes[fallback] == "dial<br/>+14155550123"


def test_byoc_routes_by_called_number(estate: Diagram) -> None:
    assert estate.out("flow_main")["called +14155550101"] == "sip_user_main_alice"
    assert estate.nodes["sip_user_main_alice"].startswith("SIP user alice")


def test_trunks_lead_to_their_origination_urls_with_priority_and_weight(estate: Diagram) -> None:
    assert estate.members["sg_trunks"] == [
        "trunk_pbx",
        "origination_pbx_nyc",
        "origination_pbx_sfo",
    ]
    assert estate.nodes["trunk_pbx"] == "trunk pbx<br/>acme-pbx.pstn.twilio.com"
    assert estate.out("trunk_pbx") == {"priority 10, weight 20": "origination_pbx_nyc"}
    assert estate.nodes["origination_pbx_nyc"] == (
        "sip:pbx-nyc.example.com:5061;transport=tls<br/>nyc"
    )
    # A disabled URL is a dotted edge that says so; disaster recovery names its app route.
    assert estate.dotted == [
        ("domain_soft", "calls out via", "byoc_carrier"),
        ("trunk_pbx", "priority 20, weight 10, disabled", "origination_pbx_sfo"),
        ("trunk_pbx", "disaster recovery", "route_trunk_disaster_recovery"),
    ]
    assert estate.nodes["route_trunk_disaster_recovery"] == (
        "trunk_disaster_recovery<br/>/voice/trunk/disaster-recovery"
    )


def test_byoc_trunk_leads_to_its_connection_policy_and_its_targets(estate: Diagram) -> None:
    assert estate.members["sg_byoc"] == [
        "byoc_carrier",
        "policy_carrier",
        "policy_target_carrier_sbc_1",
        "policy_target_carrier_sbc_2",
    ]
    assert estate.out("byoc_carrier")[""] in ("flow_main", "policy_carrier")
    assert ("byoc_carrier", "", "policy_carrier") in estate.edges
    assert estate.out("policy_carrier") == {
        "priority 10, weight 20": "policy_target_carrier_sbc_1",
        "priority 20, weight 5": "policy_target_carrier_sbc_2",
    }
    assert estate.nodes["policy_target_carrier_sbc_1"] == (
        "sip:sbc1.carrier.example.net:5060<br/>sbc-1"
    )


def test_every_node_of_the_flow_graph_is_reachable_from_an_entry_point(estate: Diagram) -> None:
    seen: set[str] = set()
    stack = list(estate.members["sg_entries"])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack += estate.targets(node)
    flow_nodes = {n for g, ids in estate.members.items() if g.startswith("sg_flow") for n in ids}
    assert flow_nodes - seen == set()


def test_a_stack_without_call_flows_draws_entries_routes_trunks_and_byoc() -> None:
    legacy = Diagram(mermaid(load(LEGACY)))
    assert set(legacy.subgraphs) == {"sg_entries", "sg_routes", "sg_trunks", "sg_byoc"}
    assert legacy.targets("number_14155550100") == ["route_ivr_main"]
    assert legacy.nodes["route_ivr_main"] == "ivr_main<br/>/voice/inbound"
    assert legacy.targets("number_14155550103") == ["route_voicemail"]
    assert legacy.targets("domain_pbx") == ["route_sip_inbound"]
    assert legacy.targets("number_12125550104") == ["trunk_pbx"]
    assert legacy.targets("trunk_pbx") == ["origination_pbx_nyc"]
    assert legacy.targets("byoc_carrier") == ["route_byoc_inbound", "policy_carrier"]
    assert legacy.targets("policy_carrier") == ["policy_target_carrier_sbc_1"]
    # Each route is drawn once however many entries name it.
    assert legacy.members["sg_routes"] == [
        "route_ivr_main",
        "route_voicemail",
        "route_sip_inbound",
        "route_byoc_inbound",
    ]


def test_the_same_stack_gives_the_same_text() -> None:
    first = mermaid(load(ESTATE))
    assert mermaid(load(ESTATE)) == first
    assert mermaid(load(ESTATE)) == first


def hostile_estate(text: str) -> str:
    """ESTATE with `text` in every free-text field a user writes."""
    raw: dict[str, Any] = yaml.safe_load(ESTATE)
    name = text[:64]
    raw["numbers"][0]["friendly_name"] = name
    raw["applications"][0]["friendly_name"] = name
    raw["byoc_trunks"][0]["friendly_name"] = name
    raw["connection_policies"][0]["friendly_name"] = name
    flows = raw["call_flows"]
    main = flows["flows"]["main"]
    menu = main["menus"]["main"]
    menu["prompt"] = text
    menu["options"][0]["label"] = name
    menu["options"][2]["keywords"] = [text]
    menu["options"][6]["action"] = {"hangup": text}
    main["start"]["hours"]["holiday"] = {"hangup": text}
    support = flows["flows"]["support"]
    support["recording"]["consent"] = text
    support["menus"]["support"]["silence_message"] = text
    return mermaid(load_environment(raw, "dev", secrets_decrypted=False))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_inside_its_quotes(text: str) -> None:
    drawn = hostile_estate(text)
    hostile = Diagram(drawn)  # every line parses as a node, an edge, a subgraph or a class
    assert hostile.nodes.keys() == Diagram(mermaid(load(ESTATE))).nodes.keys()
    for value in [*hostile.nodes.values(), *(lbl for _, lbl, _ in hostile.edges)]:
        # Only our own line breaks are markup; the rest is entity-coded.
        assert "<" not in value.replace("<br/>", "")
        assert ">" not in value.replace("<br/>", "")
        for raw in ('"', "`", "|", "%", "{", "}", "\\", "\n", "\t"):
            assert raw not in value
    assert "evil" not in {*hostile.nodes}
    assert "<script>" not in drawn


def test_label_codes_every_character_that_could_break_a_label() -> None:
    assert label('say "hi" <b>&amp;</b> #1 | `x` 50% {a} \\') == (
        '"say #quot;hi#quot; #lt;b#gt;#amp;amp;#lt;/b#gt; #35;1 #124; #96;x#96; 50#37; '
        '#123;a#125; #92;"'
    )
    assert label("a\n b", "", "c") == '"a b<br/>c"'
    assert label("Zürich ☎") == '"Zürich ☎"'
    assert label("x" * 100, limit=10) == '"xxxxxxxxx…"'


def test_names_that_clean_to_the_same_id_get_distinct_ids() -> None:
    raw: dict[str, Any] = yaml.safe_load(LEGACY)
    raw["numbers"] = [
        {"e164": "+14155550100", "call_flow": "sales-team"},
        {"e164": "+14155550101", "call_flow": "sales_team"},
        {"e164": "+14155550102", "call_flow": "sales.team"},
    ]
    raw["sip_domains"][0] = {**raw["sip_domains"][0], "flow": None, "call_flow": "sales-team"}
    raw["byoc_trunks"][0] = {**raw["byoc_trunks"][0], "flow": None, "call_flow": "sales-team"}
    options = [
        {"digit": "1", "action": {"voicemail": "a-b"}},
        {"digit": "2", "action": {"voicemail": "a_b"}},
    ]
    raw["call_flows"] = {
        "voicemail_boxes": {"a-b": {}, "a_b": {}},
        "flows": {
            name: {"start": {"menu": "m"}, "menus": {"m": {"prompt": "p", "options": options}}}
            for name in ("sales-team", "sales_team", "sales.team")
        },
    }
    drawn = Diagram(mermaid(load(yaml.safe_dump(raw))))
    assert [drawn.targets(f"number_1415555010{i}") for i in range(3)] == [
        ["flow_sales_team"],
        ["flow_sales_team_2"],
        ["flow_sales_team_3"],
    ]
    assert drawn.out("menu_sales_team_m") == {
        "1": "voicemail_sales_team_a_b",
        "2": "voicemail_sales_team_a_b_2",
        "no valid choice after 2 retries": "end_sales_team_menu_m_exhausted",
    }
    assert drawn.out("menu_sales_team_m_2")["1"] == "voicemail_sales_team_a_b_3"
