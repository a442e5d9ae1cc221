"""The stack's `call_flows` section and the entry points naming its flows (issue 13).

One valid base stack (the sample spec with a contact-centre `call_flows` section and every
entry point on `call_flow`), and a table of mutations of it: each must fail validation with
the config path named and a message saying what is wrong. Then warnings, the example stacks,
the derived URLs and the JSON schema.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_samples import valid_spec, write_project

from infra.commands.schema import stack_file_schema
from infra.commands.validate import validate
from infra.plan import plan
from infra.spec import SpecError, SpecIssue, load_environment, load_stack_file, spec_warnings

REPO = Path(__file__).resolve().parents[2]
MAIN = "call_flows.flows.main"
MENU = f"{MAIN}.menus.main"
DELETE = object()


def call_flows() -> dict[str, Any]:
    return {
        "default_flow": "main",
        "caller_id": "+14155550100",
        "operator": {"numbers": ["+14155550100"]},
        "sip_users": {
            "carol": {"uri": "sip:carol@acme-soft.sip.twilio.com", "pstn_fallback": "+14155550123"},
            "desk": {"uri": "sip:desk@pbx.example.com"},  # a PBX: not the stack's to check
        },
        "voicemail_boxes": {"general": {"prompt": "Please leave a message."}},
        "schedules": {
            "office": {
                "time_zone": "America/New_York",
                "weekly": {"mon": ["09:00-17:00"], "fri": ["09:00-12:00", "13:00-17:00"]},
                "holidays": ["2026-12-25"],
            }
        },
        "flows": {
            "main": {
                "start": {
                    "hours": {
                        "schedule": "office",
                        "open": {"menu": "main"},
                        "closed": {"voicemail": "general"},
                    }
                },
                "no_answer": {"voicemail": "general"},
                "menus": {
                    "main": {
                        "prompt": "For sales press 1 or say sales.",
                        "speech": True,
                        "exhausted": {"voicemail": "general"},
                        "options": [
                            {"digit": "1", "label": "sales", "action": {"menu": "sales"}},
                            {"digit": "2", "label": "carol", "action": {"sip_user": "carol"}},
                            {
                                "digit": "3",
                                "label": "team",
                                "action": {
                                    "dial": {
                                        "numbers": ["+14155550130"],
                                        "caller_id": "+14155550101",
                                    }
                                },
                            },
                            {"digit": "4", "label": "support", "action": {"flow": "support"}},
                            {"digit": "0", "label": "operator", "action": {"operator": True}},
                        ],
                    },
                    "sales": {
                        "prompt": "For orders press 1. For the main menu press star.",
                        "exhausted": {"operator": True},
                        "options": [
                            {"digit": "1", "action": {"dial": {"numbers": ["+14155550131"]}}},
                            {"digit": "*", "action": {"menu": "main"}},
                        ],
                    },
                },
                "byoc_routes": {"+14155550101": {"sip_user": "desk"}},
            },
            "support": {
                "voice": "Polly.Matthew",
                "recording": {"mode": "dual", "consent": "This call may be recorded."},
                "start": {"sip_user": "carol"},
                "no_answer": {"voicemail": "general"},
            },
        },
    }


def base() -> dict[str, Any]:
    """The sample spec, every entry point on a call flow."""
    raw = valid_spec()
    number = raw["numbers"][0]
    del number["flow"]
    number["call_flow"] = "main"
    app = raw["applications"][0]
    del app["flow"]
    app["call_flow"] = "main"
    for domain in raw["sip_domains"]:
        del domain["flow"]
        domain["call_flow"] = "main"
    del raw["byoc_trunks"][0]["flow"]
    raw["byoc_trunks"][0]["call_flow"] = "main"
    # carol's phone registers on the softphone domain (what <Dial><Sip> to her needs)
    soft = raw["sip_domains"][1]
    soft["sip_registration"] = True
    soft["auth"]["registrations"] = {"credential_lists": ["soft-users"]}
    raw["call_flows"] = call_flows()
    return raw


def put(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with DELETE, remove) `a.b.0.c` in `raw`; digits index lists."""
    *parents, last = path.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value


def issues_of(raw: dict[str, Any], stack: str = "dev") -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_environment(raw, stack, secrets_decrypted=True)
    return list(caught.value.issues)


@dataclass(frozen=True)
class Case:
    id: str
    change: dict[str, Any] | Callable[[dict[str, Any]], None]
    path: str
    fragment: str


def _loop_flows(raw: dict[str, Any]) -> None:
    flows = raw["call_flows"]["flows"]
    flows["loop-a"] = {"start": {"flow": "loop-b"}}
    flows["loop-b"] = {"start": {"flow": "loop-a"}}


def _spinning_menu(raw: dict[str, Any]) -> None:
    menus = raw["call_flows"]["flows"]["main"]["menus"]
    menus["spin"] = {
        "prompt": "Press 1.",
        "exhausted": {"menu": "spin"},
        "options": [{"digit": "1", "action": {"menu": "spin"}}],
    }
    menus["sales"]["options"][1]["action"] = {"menu": "spin"}


def _hours_ping_pong(raw: dict[str, Any]) -> None:
    """Two flows redirect to each other while the office is open: endless <Redirect>s."""
    raw["call_flows"]["schedules"] = {
        "office": {"time_zone": "Europe/London", "weekly": {"mon": ["09:00-17:00"]}}
    }
    flows = raw["call_flows"]["flows"]
    open_to_b = {"schedule": "office", "open": {"flow": "pong"}, "closed": {"voicemail": "general"}}
    flows["ping"] = {"start": {"hours": open_to_b}}
    flows["pong"] = {"start": {"flow": "ping"}}
    put(raw, f"{MENU}.options.3.action", {"flow": "ping"})


def _room_shared_by_a_recorded_flow(raw: dict[str, Any]) -> None:
    """main (not recorded) and support (recorded) send callers into the same named room."""
    put(raw, f"{MENU}.options.1.action", {"conference": {"room": "team"}})
    put(raw, f"{MAIN.replace('main', 'support')}.start", {"conference": {"room": "team"}})


def _uk_permissions(raw: dict[str, Any]) -> None:
    raw["dialing_permissions"] = {"countries": [{"iso_code": "US"}]}
    put(raw, f"{MENU}.options.2.action.dial.numbers", ["+442071838750"])


OPT = f"{MENU}.options"
CASES = [
    Case(
        "unknown-menu",
        {f"{OPT}.0.action": {"menu": "nope"}},
        f"{MENU}.options[0].action.menu",
        "menu 'nope' is not declared; use one of main, sales",
    ),
    Case(
        "unknown-flow",
        {f"{OPT}.3.action": {"flow": "nope"}},
        f"{MENU}.options[3].action.flow",
        "flow 'nope' is not declared",
    ),
    Case(
        "unknown-sip-user",
        {f"{OPT}.1.action": {"sip_user": "dave"}},
        f"{MENU}.options[1].action.sip_user",
        "SIP user 'dave' is not declared; use one of carol, desk",
    ),
    Case(
        "unknown-voicemail-box",
        {f"{MAIN}.no_answer": {"voicemail": "sales"}},
        f"{MAIN}.no_answer.voicemail",
        "voicemail box 'sales' is not declared",
    ),
    Case(
        "unknown-schedule",
        {f"{MAIN}.start.hours.schedule": "weekends"},
        f"{MAIN}.start.hours.schedule",
        "schedule 'weekends' is not declared",
    ),
    Case(
        "operator-without-operator",
        {"call_flows.operator": DELETE},
        f"{MENU}.options[4].action.operator",
        "no operator is declared",
    ),
    Case(
        "duplicate-digit",
        {f"{OPT}.1.digit": "1"},
        f"{MENU}.options",
        "digit '1' is offered twice",
    ),
    Case(
        "bad-digit",
        {f"{OPT}.0.digit": "12"},
        f"{MENU}.options[0].digit",
        "not a key of a phone's keypad",
    ),
    Case("empty-prompt", {f"{MENU}.prompt": "  "}, f"{MENU}.prompt", "is empty"),
    Case(
        "bad-voice",
        {f"{MAIN}.voice": "Polly.Nobody"},
        f"{MAIN}.voice",
        "is not one Twilio supports",
    ),
    Case(
        "voice-language-mismatch",
        {f"{MAIN}.voice": "Polly.Amy"},
        f"{MAIN}.voice",
        "does not speak 'en-US'",
    ),
    Case(
        "speech-unsupported-language",
        {f"{MAIN}.voice": "Polly.Gwyneth", f"{MAIN}.language": "cy-GB"},
        f"{MAIN}.language",
        "speech recognition does not support language 'cy-GB'",
    ),
    Case(
        "bad-e164-dial",
        {f"{OPT}.2.action.dial.numbers": ["14155550130"]},
        f"{MENU}.options[2].action.dial.numbers[0]",
        "is not an E.164 number",
    ),
    Case(
        "premium-rate-dial",
        {f"{OPT}.2.action.dial.numbers": ["+19002345678"]},
        f"{MENU}.options[2].action.dial.numbers[0]",
        "premium-rate number",
    ),
    Case(
        "country-not-permitted",
        _uk_permissions,
        f"{MENU}.options[2].action.dial.numbers[0]",
        "which dialing_permissions does not allow (allowed: US)",
    ),
    Case(
        "premium-operator",
        {"call_flows.operator.numbers": ["+19002345678"]},
        "call_flows.operator.numbers[0]",
        "premium-rate number",
    ),
    Case(
        "caller-id-undeclared",
        {"call_flows.caller_id": "+14155550199"},
        "call_flows.caller_id",
        "caller ID +14155550199 is not a number this stack declares",
    ),
    Case(
        "flow-caller-id-undeclared",
        {f"{MAIN}.caller_id": "+14155550199"},
        f"{MAIN}.caller_id",
        "is not a number this stack declares",
    ),
    Case(
        "dial-caller-id-undeclared",
        {f"{OPT}.2.action.dial.caller_id": "+14155550199"},
        f"{MENU}.options[2].action.dial.caller_id",
        "use one of numbers[].e164 (+12125550102, +14155550100, +14155550101)",
    ),
    Case(
        "sip-user-not-a-credential",
        {"call_flows.sip_users.carol.uri": "sip:dave@acme-soft.sip.twilio.com"},
        "call_flows.sip_users.carol.uri",
        "SIP user 'dave' is not a credential of any credential list SIP domain soft "
        "(acme-soft.sip.twilio.com) registers phones with (auth.registrations.credential_lists: "
        "it uses soft-users)",
    ),
    Case(
        "sip-user-on-an-edge-host-not-a-credential",
        {"call_flows.sip_users.carol.uri": "sip:dave@acme-soft.sip.ashburn.twilio.com"},
        "call_flows.sip_users.carol.uri",
        "SIP user 'dave' is not a credential of any credential list SIP domain soft",
    ),
    Case(
        "sip-user-on-a-domain-without-registration",
        {"sip_domains.1.sip_registration": False},
        "call_flows.sip_users.carol.uri",
        "has sip_registration off, so no phone registers there and a call to 'carol' fails "
        "(Twilio error 32009)",
    ),
    Case(
        "sip-user-only-in-the-calls-list",
        {"sip_domains.1.auth.registrations.credential_lists": []},
        "call_flows.sip_users.carol.uri",
        "(auth.registrations.credential_lists: it names none)",
    ),
    Case(
        "sip-user-undeclared-twilio-domain",
        {"call_flows.sip_users.carol.uri": "sip:carol@acme-other.sip.twilio.com"},
        "call_flows.sip_users.carol.uri",
        "acme-other.sip.twilio.com is a Twilio SIP domain this stack does not declare",
    ),
    Case(
        "byoc-route-undeclared-number",
        {f"{MAIN}.byoc_routes": {"+14155550177": {"sip_user": "desk"}}},
        f"{MAIN}.byoc_routes.+14155550177",
        "routes +14155550177, which this stack does not declare",
    ),
    Case(
        "call-flow-names-no-flow",
        {"numbers.0.call_flow": "mian"},
        "numbers[0].call_flow",
        "names no flow of call_flows: use one of main, support",
    ),
    Case(
        "application-call-flow-names-no-flow",
        {"applications.0.call_flow": "nope"},
        "applications[0].call_flow",
        "names no flow of call_flows",
    ),
    Case(
        "legacy-flow-with-call-flows",
        {"numbers.0.call_flow": DELETE, "numbers.0.flow": "ivr_main"},
        "numbers[0].flow",
        "this stack declares call_flows: replace `flow: ivr_main` with `call_flow: main` "
        "(one of: main, support); its URL becomes https://voice.example.com/voice/inbound?flow=main",
    ),
    Case(
        "legacy-sip-flow-with-call-flows",
        {"sip_domains.0.call_flow": DELETE, "sip_domains.0.flow": "sip_inbound"},
        "sip_domains[0].flow",
        "https://voice.example.com/voice/sip/inbound?flow=main",
    ),
    Case(
        "call-flow-without-call-flows",
        {"call_flows": DELETE},
        "numbers[0].call_flow",
        "the stack declares no call_flows: declare call_flows",
    ),
    Case(
        "two-routes-on-a-number",
        {"numbers.0.trunk": "pbx-trunk"},
        "numbers[0]",
        "exactly one of flow, call_flow, external_url, application or trunk "
        "(found: call_flow, trunk)",
    ),
    Case(
        "flow-and-call-flow-on-a-domain",
        {"sip_domains.1.flow": "sip_inbound"},
        "sip_domains[1]",
        "flow and call_flow both set: the voice URL comes from exactly one of",
    ),
    Case(
        "bad-time-zone",
        {"call_flows.schedules.office.time_zone": "Mars/Olympus"},
        "call_flows.schedules.office.time_zone",
        "is not an IANA time zone",
    ),
    Case(
        "bad-span",
        {"call_flows.schedules.office.weekly.mon": ["9-17"]},
        "call_flows.schedules.office.weekly.mon[0]",
        "'9-17' is not HH:MM-HH:MM",
    ),
    Case(
        "span-past-midnight",
        {"call_flows.schedules.office.weekly.mon": ["22:00-06:00"]},
        "call_flows.schedules.office.weekly.mon[0]",
        "a span past midnight is two spans on two days",
    ),
    Case(
        "holiday-not-a-date",
        {"call_flows.schedules.office.holidays": ["christmas"]},
        "call_flows.schedules.office.holidays[0]",
        "is not a date: write YYYY-MM-DD",
    ),
    Case(
        "recording-without-consent",
        {"call_flows.flows.support.recording": {"mode": "dual"}},
        "call_flows.flows.support.recording",
        "recording mode dual needs a consent prompt",
    ),
    Case("flow-loop", _loop_flows, "call_flows.flows.loop-a.start", "never ends"),
    Case("menu-loop", _spinning_menu, f"{MAIN}.menus.spin", "menu spin never ends"),
    Case(
        "named-room-shared-by-recorded-and-unrecorded-flows",
        _room_shared_by_a_recorded_flow,
        "call_flows.flows.support.start.conference.room",
        "room 'team' is also joined at call_flows.flows.main.menus.main.options[1].action, "
        "from a flow that does not record",
    ),
    Case(
        "silent-loop-back-to-the-menu",
        {f"{MAIN}.no_answer": {"menu": "main"}, f"{MENU}.exhausted": {"operator": True}},
        MENU,
        "a caller who says and presses nothing goes round forever: menu main -> ",
    ),
    Case(
        "silent-loop-exhausted-to-itself",
        {f"{MENU}.exhausted": {"menu": "main"}},
        MENU,
        "goes round forever: menu main -> menu main",
    ),
    Case(
        "silent-loop-between-flows-while-open",
        _hours_ping_pong,
        "call_flows.flows.ping.start",
        "goes round forever: flow ping -> hours office -> flow pong -> flow ping",
    ),
    Case(
        "unknown-key-in-menu",
        {f"{MENU}.colour": "red"},
        f"{MENU}.colour",
        "unknown key 'colour'; allowed keys here: prompt, speech, hints",
    ),
    Case(
        "unknown-key-in-call-flows",
        {"call_flows.flowz": {}},
        "call_flows.flowz",
        "allowed keys here: default_flow, caller_id",
    ),
    Case(
        "dial-eleven-numbers",
        {f"{OPT}.2.action.dial.numbers": [f"+141555501{40 + i}" for i in range(11)]},
        f"{MENU}.options[2].action.dial.numbers",
        "lists 11 entries; at most 10 are allowed here (Twilio rings at most 10 numbers",
    ),
    Case(
        "action-with-two-keys",
        {f"{OPT}.0.action": {"menu": "sales", "voicemail": "general"}},
        f"{MENU}.options[0].action",
        "an action needs exactly one of menu, dial, sip_user",
    ),
    Case(
        "action-with-no-key",
        {f"{OPT}.0.action": {}},
        f"{MENU}.options[0].action",
        "(found: none)",
    ),
    Case(
        "default-flow-names-no-flow",
        {"call_flows.default_flow": "mian"},
        "call_flows.default_flow",
        "names no flow: use one of main, support",
    ),
    Case(
        "menu-timeout-out-of-range",
        {f"{MENU}.timeout": 99},
        f"{MENU}.timeout",
        "99 is out of range: it must be at most 60",
    ),
    Case(
        "dial-timeout-out-of-range",
        {"call_flows.dial_timeout": 2},
        "call_flows.dial_timeout",
        "2 is out of range: it must be at least 5",
    ),
    Case(
        "no-flows",
        {"call_flows.flows": {}},
        "call_flows.flows",
        "is empty: it needs at least one entry",
    ),
    Case(
        "recording-mode-unknown",
        {"call_flows.flows.support.recording.mode": "always"},
        "call_flows.flows.support.recording.mode",
        "'always' is not allowed; use one of",
    ),
]


def mutated(case: Case) -> dict[str, Any]:
    raw = base()
    if callable(case.change):
        case.change(raw)
    else:
        for path, value in case.change.items():
            put(raw, path, value if value is DELETE else copy.deepcopy(value))
    return raw


def test_the_base_stack_is_valid() -> None:
    env = load_environment(base(), "dev", secrets_decrypted=True)
    assert env.call_flows is not None
    assert spec_warnings(env, "dev") == []


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_call_flow_declarations(case: Case) -> None:
    found = issues_of(mutated(case))
    lines = [f"{i.path}: {i.message}" for i in found if not i.warning]
    assert any(issue.path == case.path and case.fragment in issue.message for issue in found), (
        "\n".join(lines)
    )


def validate_text(
    raw: dict[str, Any], tmp_path: Path, stack: str = "dev", github: bool = False
) -> tuple[int, str, str]:
    write_project(tmp_path, stack, raw)
    out, err = io.StringIO(), io.StringIO()
    code = validate(tmp_path, stack, out=out, err=err, github=github)
    return code, out.getvalue(), err.getvalue()


def _orphan(raw: dict[str, Any]) -> None:
    raw["call_flows"]["flows"]["main"]["menus"]["orphan"] = {
        "prompt": "Nobody hears this.",
        "options": [{"digit": "1", "action": {"voicemail": "general"}}],
    }


def test_an_unreachable_menu_warns_and_validate_still_passes(tmp_path: Path) -> None:
    raw = base()
    _orphan(raw)
    code, out, err = validate_text(raw, tmp_path, github=True)
    assert code == 0, err
    assert "dev: valid" in out
    warning = next(line for line in err.splitlines() if "orphan" in line)
    assert warning.startswith(f"warning: dev: {MAIN}.menus.orphan: menu orphan is unreachable")
    assert warning.endswith(")")
    assert "Pulumi.dev.yaml:" in warning
    assert "::warning file=Pulumi.dev.yaml,line=" in out
    assert "::error" not in out


def test_a_flow_no_entry_point_enters_warns(tmp_path: Path) -> None:
    raw = base()
    raw["call_flows"]["flows"]["spare"] = {"start": {"voicemail": "general"}}
    code, _, err = validate_text(raw, tmp_path)
    assert code == 0
    assert "warning: dev: call_flows.flows.spare: flow spare is not entered" in err


def test_warnings_are_listed_with_the_errors_but_do_not_count(tmp_path: Path) -> None:
    raw = base()
    _orphan(raw)
    raw["call_flows"]["caller_id"] = "+14155550199"
    code, _, err = validate_text(raw, tmp_path)
    assert code == 1
    assert "environment spec has 1 problem and 1 warning:" in err
    assert "  dev: call_flows.caller_id: caller ID +14155550199" in err
    assert "  warning: dev: call_flows.flows.main.menus.orphan" in err


def test_an_error_names_its_line_in_the_stack_file(tmp_path: Path) -> None:
    raw = base()
    put(raw, f"{OPT}.0.action", {"menu": "nope"})
    code, _, err = validate_text(raw, tmp_path)
    assert code == 1
    line = next(ln for ln in err.splitlines() if "options[0].action.menu" in ln)
    assert "(Pulumi.dev.yaml:" in line


@pytest.mark.parametrize("stack", ["prod", "local", "dev"])
def test_the_example_stacks_are_valid_without_warnings(stack: str) -> None:
    env = load_stack_file(REPO, stack)
    assert spec_warnings(env, stack) == []


def test_the_example_stacks_declare_call_flows() -> None:
    prod = load_stack_file(REPO, "prod")
    assert prod.call_flows is not None
    flows = prod.call_flows
    assert set(flows.flows) == {"main", "support", "after-hours"}
    assert flows.flows["support"].recording.mode != "off"
    assert any(m.speech for m in flows.flows["main"].menus.values())
    # every entry point of prod enters a call flow (numbers on a trunk route by the trunk)
    for path, entry in prod.entry_points():
        assert entry.flow is None, path
    local = load_stack_file(REPO, "local")
    assert local.call_flows is not None
    menu = local.call_flows.flows["main"].menus["main"]
    first = menu.options[0]
    assert (first.digit, first.action.kind) == ("1", "dial")  # the main job presses 1
    dev = load_stack_file(REPO, "dev")
    assert dev.call_flows is None  # dev stays on the app's built-in flow (flow: ivr_main)


def test_call_flow_urls_carry_the_flow() -> None:
    env = load_environment(base(), "dev", secrets_decrypted=True)
    nodes = {(n.kind, n.name): n.props for n in plan(env).nodes}
    number = nodes[("IncomingPhoneNumber", "+14155550100")]
    assert number["voice_url"] == "https://voice.example.com/voice/inbound?flow=main"
    assert number["voice_fallback_url"] == "https://voice.example.com/voice/fallback?flow=main"
    assert number["status_callback"] == "https://voice.example.com/voice/status"
    assert (
        nodes[("SipDomain", "soft")]["voice_url"]
        == "https://voice.example.com/voice/sip/inbound?flow=main"
    )
    assert (
        nodes[("ByocTrunk", "carrier-a")]["voice_url"]
        == "https://voice.example.com/voice/byoc/inbound?flow=main"
    )
    assert (
        nodes[("Application", "main-app")]["voice_url"]
        == "https://voice.example.com/voice/inbound?flow=main"
    )


def test_the_prod_stack_plans_flow_urls() -> None:
    env = load_stack_file(REPO, "prod")
    urls = {
        n.name: n.props["voice_url"] for n in plan(env).nodes if n.kind == "IncomingPhoneNumber"
    }
    assert urls["+14155550100"] == "https://voice.acme.example.com/voice/inbound?flow=main"
    assert urls["+16285550103"] == "https://voice.acme.example.com/voice/inbound?flow=after-hours"
    assert urls["+12125550104"] is None  # on a trunk


def test_the_schema_describes_call_flows() -> None:
    schema = stack_file_schema()
    text = json.dumps(schema)
    spec = schema["properties"]["config"]["properties"]["twilio-voice:environment"]
    assert "call_flows" in spec["properties"]
    assert "call_flow" in schema["$defs"]["PhoneNumber"]["properties"]
    for name in ("CallFlows", "Menu", "Action", "Schedule"):
        assert name in schema["$defs"], name
    assert "record-from-answer" in text


def test_the_schema_accepts_the_base_and_rejects_an_unknown_menu_key() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(stack_file_schema())
    document = {"config": {"twilio-voice:environment": base()}}
    assert [e.message for e in validator.iter_errors(document)] == []
    put(document["config"]["twilio-voice:environment"], f"{MENU}.colour", "red")
    assert list(validator.iter_errors(document))


def test_yaml_dates_and_strings_both_work_as_holidays(tmp_path: Path) -> None:
    raw = base()
    text = yaml.safe_dump({"config": {"twilio-voice:environment": raw}})
    text = text.replace("'2026-12-25'", "2026-12-25")
    (tmp_path / "Pulumi.yaml").write_text("name: twilio-voice\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    env = load_stack_file(tmp_path, "dev")
    assert env.call_flows is not None
    assert str(env.call_flows.schedules["office"].holidays[0]) == "2026-12-25"
