# ruff: noqa: S314 (parses the app's own TwiML, not untrusted input)
"""Property: random valid call-flow graphs answer well-formed TwiML at every state, and every
option leads where the graph says.

The strategy draws 1-3 flows of 1-4 menus each, options with random action kinds whose targets
exist (submenus, dials simultaneous and in order, SIP users, conferences, voicemail boxes, other
flows, hang-ups, the operator, business hours), random recording modes with consent, and drops
the examples ``checks.check_call_flows`` rejects (a loop with no way out, say). For each example
it walks every state: each flow's entry, each menu with the Digits of each option, an invalid
digit and silence, at each retries value.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from webhook_support import Twilio, make_settings, served
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.callflow.checks import check_call_flows
from webhook_app.callflow.model import Action, CallFlows, Flow
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.rendering import Renderer, make_environment
from webhook_app.store_sqlite import SqliteStore

CALL = "CA0123456789abcdef0123456789abcdef"
PARAMS = {"AccountSid": "AC" + "0" * 32, "CallSid": CALL, "From": "+12125550199"}
RENDERER = Renderer(make_environment())  # compiled once for every example
NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)  # Monday 10:00 in New York
NUMBERS = [f"+141555501{i:02d}" for i in range(10, 40)]
SIP_USERS = {
    "u0": {"uri": "sip:u0@pbx.example.com", "pstn_fallback": "+14155550190"},
    "u1": {"uri": "sip:u1@pbx.example.com"},
}
BOXES = {"b0": {}, "b1": {"prompt": "Box one is away.", "max_seconds": 30, "thanks": "Ta."}}
SCHEDULES = {
    "s0": {
        "time_zone": "America/New_York",
        "weekly": {"mon": ["09:00-12:00"], "tue": ["09:00-17:00"]},
        "holidays": ["2026-12-25"],
    },
    "s1": {"time_zone": "Europe/London", "weekly": {"sat": ["10:00-11:00"]}},
}
KINDS = ("menu", "dial", "sip_user", "conference", "voicemail", "flow", "hangup", "operator")


@st.composite
def actions(
    draw: st.DrawFn, menus: list[str], flows: list[str], operator: bool, depth: int = 0
) -> dict[str, Any]:
    kinds = [k for k in KINDS if k != "operator" or operator]
    if depth == 0:
        kinds.append("hours")
    kind = draw(st.sampled_from(kinds))
    if kind == "menu":
        return {"menu": draw(st.sampled_from(menus))}
    if kind == "dial":
        numbers = draw(st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3, unique=True))
        dial: dict[str, Any] = {
            "numbers": numbers,
            "ring": draw(st.sampled_from(["simultaneous", "in_order"])),
        }
        if depth == 0 and draw(st.booleans()):
            dial["no_answer"] = {"voicemail": draw(st.sampled_from(sorted(BOXES)))}
        return {"dial": dial}
    if kind == "sip_user":
        return {"sip_user": draw(st.sampled_from(sorted(SIP_USERS)))}
    if kind == "conference":
        room = draw(st.sampled_from([None, "room-a", "room-b"]))
        return {"conference": {"room": room} if room else {}}
    if kind == "voicemail":
        return {"voicemail": draw(st.sampled_from(sorted(BOXES)))}
    if kind == "flow":
        return {"flow": draw(st.sampled_from(flows))}
    if kind == "hangup":
        return {"hangup": draw(st.sampled_from(["", "Goodbye."]))}
    if kind == "operator":
        return {"operator": True}
    sub = actions(menus, flows, operator, depth + 1)
    hours: dict[str, Any] = {
        "schedule": draw(st.sampled_from(sorted(SCHEDULES))),
        "open": draw(sub),
        "closed": draw(sub),
    }
    if draw(st.booleans()):
        hours["holiday"] = draw(sub)
    return {"hours": hours}


@st.composite
def call_flows(draw: st.DrawFn) -> dict[str, Any]:
    flow_names = [f"f{i}" for i in range(draw(st.integers(1, 3)))]
    operator = draw(st.booleans())
    flows: dict[str, Any] = {}
    for name in flow_names:
        menu_names = [f"m{j}" for j in range(draw(st.integers(1, 4)))]
        act = actions(menu_names, flow_names, operator)
        menus: dict[str, Any] = {}
        for menu_name in menu_names:
            digits = draw(
                st.lists(st.sampled_from("0123456789*#"), min_size=1, max_size=4, unique=True)
            )
            menu: dict[str, Any] = {
                "prompt": f"Menu {menu_name} of {name}.",
                "speech": draw(st.booleans()),
                "retries": draw(st.integers(0, 3)),
                "first_silence": draw(st.sampled_from(["reprompt", "hangup"])),
                "options": [
                    {"digit": d, "label": f"choice {d}", "action": draw(act)} for d in digits
                ],
            }
            if draw(st.booleans()):
                menu["hints"] = ["billing", "tech-support"]
            if draw(st.booleans()):
                menu["exhausted"] = draw(act)
            menus[menu_name] = menu
        mode = draw(st.sampled_from(["off", "record-from-answer", "dual"]))
        flow: dict[str, Any] = {
            "start": draw(st.one_of(st.just({"menu": menu_names[0]}), act)),
            "menus": menus,
            "recording": {"mode": mode, "consent": f"Flow {name} records calls."}
            if mode != "off"
            else {"mode": "off"},
        }
        if draw(st.booleans()):
            flow["no_answer"] = {"voicemail": "b0"}
        flows[name] = flow
    data: dict[str, Any] = {
        "sip_users": SIP_USERS,
        "voicemail_boxes": BOXES,
        "schedules": SCHEDULES,
        "flows": flows,
    }
    if operator:
        data["operator"] = {
            "numbers": draw(
                st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=2, unique=True)
            ),
            "ring": draw(st.sampled_from(["simultaneous", "in_order"])),
        }
    if draw(st.booleans()):
        data["default_flow"] = draw(st.sampled_from(flow_names))
    return data


class Walker:
    """Posts to the app and checks each answer against the declaration."""

    def __init__(self, flows: CallFlows) -> None:
        store = SqliteStore(":memory:")
        app = create_app(
            make_settings(caller_id="+14155550199", served=served(flows)),
            store,
            metrics=Metrics(),
            logger=configure_logging("CRITICAL"),
            renderer=RENDERER,
            now=lambda: NOW,
        )
        self.twilio = Twilio(Client(app))
        self.cf = flows

    def post(self, path: str, params: dict[str, str] | None = None) -> ET.Element:
        response = self.twilio.post(path, {**PARAMS, **(params or {})})
        assert response.status_code == 200, (path, response.data)
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        root = ET.fromstring(response.data)
        assert root.tag == "Response", response.data
        return root

    def flow_param(self, url: str) -> str:
        """The flow a URL this app wrote names (none: the default flow)."""
        return parse_qs(urlsplit(url).query).get("flow", [self.cf.entry_flow])[0]

    def expect(self, flow_name: str, action: Action, root: ET.Element) -> None:
        """``root`` is what ``action`` of ``flow_name`` does."""
        flow = self.cf.flows[flow_name]
        if action.menu is not None:
            gather = root.find("Gather")
            assert gather is not None
            url = gather.get("action", "")
            assert urlsplit(url).path == "/voice/menu"
            first = next(iter(flow.menus))
            assert parse_qs(urlsplit(url).query).get("menu", [first])[0] == action.menu
            assert self.flow_param(url) == flow_name
        elif action.voicemail is not None:
            record = root.find("Record")
            assert record is not None
            box = self.cf.voicemail_boxes[action.voicemail]
            assert record.get("maxLength") == str(box.max_seconds)
        elif action.dial is not None:
            dial = action.dial
            wanted = list(dial.numbers) if dial.ring == "simultaneous" else [dial.numbers[0]]
            assert [n.text for n in root.iter("Number")] == wanted
        elif action.sip_user is not None:
            assert [s.text for s in root.iter("Sip")] == [self.cf.sip_users[action.sip_user].uri]
        elif action.flow is not None:
            redirect = root.find("Redirect")
            assert redirect is not None
            assert redirect.text is not None
            assert urlsplit(redirect.text).path == "/voice/inbound"
            assert self.flow_param(redirect.text) == action.flow
        elif action.hangup is not None:
            assert root.find("Hangup") is not None
            assert root.find("Dial") is None
        elif action.conference is not None:
            conference = root.find("Dial/Conference")
            assert conference is not None
            if action.conference.room:
                assert conference.text == action.conference.room
            else:
                assert (conference.text or "").startswith("transfer-")
        elif action.operator:
            self.expect_operator(root)
        else:
            hours = action.hours
            assert hours is not None
            schedule = self.cf.schedules[hours.schedule]
            if hours.holiday is not None and schedule.is_holiday(NOW):
                self.expect(flow_name, hours.holiday, root)
            else:
                self.expect(flow_name, hours.open if schedule.is_open(NOW) else hours.closed, root)
        self.expect_recording(flow, root)

    def expect_operator(self, root: ET.Element) -> None:
        operator = self.cf.operator
        if operator is None:  # goodbye
            assert root.find("Hangup") is not None
            return
        numbers = list(operator.numbers)
        wanted = numbers if operator.ring == "simultaneous" else numbers[:1]
        assert [n.text for n in root.iter("Number")] == wanted

    @staticmethod
    def expect_recording(flow: Flow, root: ET.Element) -> None:
        recorded = [e for e in root.iter() if "record" in e.attrib]
        if flow.recording.mode == "off":
            assert recorded == [], "a flow that does not record has no record attribute"


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=call_flows())
def test_every_state_of_a_random_graph_answers_where_the_graph_says(data: dict[str, Any]) -> None:
    flows = CallFlows.model_validate(data)
    assume(not [f for f in check_call_flows(flows) if not f.warning])
    walker = Walker(flows)
    for flow_name, flow in flows.flows.items():
        # The entry: its consent first (a recording flow), then its start.
        entry = walker.post(f"/voice/inbound?flow={flow_name}")
        if flow.recording.mode != "off":
            first = entry[0]
            assert (first.tag, first.text) == ("Say", flow.recording.consent)
            recorded = [i for i, e in enumerate(entry.iter()) if "record" in e.attrib]
            assert all(i > 1 for i in recorded)  # after <Response> and the consent <Say>
        walker.expect(flow_name, flow.start, entry)
        for menu_name, menu in flow.menus.items():
            offered = {o.digit for o in menu.options}
            invalid = next(d for d in "0123456789*#" if d not in offered)
            exhausted = menu.exhausted
            for retries in range(menu.retries + 1):
                url = f"/voice/menu?flow={flow_name}&menu={menu_name}"
                if retries:
                    url += f"&retries={retries}"
                for option in menu.options:
                    root = walker.post(url, {"Digits": option.digit})
                    walker.expect(flow_name, option.action, root)
                for miss in ({"Digits": invalid}, {}):
                    root = walker.post(url, miss)
                    if retries < menu.retries:  # a reprompt carrying one more retry
                        gather = root.find("Gather")
                        assert gather is not None
                        query = parse_qs(urlsplit(gather.get("action", "")).query)
                        assert query["retries"] == [str(retries + 1)]
                    elif exhausted is not None:
                        walker.expect(flow_name, exhausted, root)
                    else:
                        walker.expect_operator(root)
                    walker.expect_recording(flow, root)
