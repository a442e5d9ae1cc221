"""The call-flow policies: consent before recording (mandatory everywhere), calls end with a person
or a voicemail (mandatory in production, advisory elsewhere). The program registers the stack's
`call_flows` as one `CallFlows` resource; its registration is replayed to the analyzer like every
other resource's (policy_support), so the policies see what the engine hands them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from policy_support import analyze, good_prod_spec, run_program, stack_spec

from infra.policy import callflows
from infra.policy.policies import ALL
from webhook_app.callflow import graph
from webhook_app.callflow.model import CallFlows

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

ENTRY_KEYS = ("numbers", "applications", "sip_domains", "byoc_trunks")
CONSENT = "This call may be recorded."

# Every way out ends with a person or a voicemail; digit 9 is a hang-up the caller chooses.
FLOWS: dict[str, Any] = {
    "operator": {"numbers": ["+14155550110"]},
    "voicemail_boxes": {"general": {}},
    "flows": {
        "main": {
            "start": {"menu": "main"},
            "no_answer": {"voicemail": "general"},
            "menus": {
                "main": {
                    "prompt": "For sales press 1, for support press 2, to hang up press 9.",
                    "options": [
                        {"digit": "1", "label": "sales", "action": {"menu": "sales"}},
                        {"digit": "2", "label": "support", "action": {"flow": "support"}},
                        {"digit": "9", "label": "bye", "action": {"hangup": "Goodbye."}},
                    ],
                },
                "sales": {
                    "prompt": "Press 1 for new orders.",
                    "options": [
                        {"digit": "1", "action": {"dial": {"numbers": ["+14155550123"]}}},
                    ],
                },
            },
        },
        "support": {
            "recording": {"mode": "dual", "consent": CONSENT},
            "start": {"dial": {"numbers": ["+14155550124"], "no_answer": {"voicemail": "general"}}},
        },
    },
}


def with_flows(spec: dict[str, Any], flows: dict[str, Any], enters: str = "main") -> dict[str, Any]:
    """`spec` declaring `flows`, every entry point that routes by a flow entering `enters`."""
    spec["call_flows"] = copy.deepcopy(flows)
    for key in ENTRY_KEYS:
        for entry in spec.get(key) or []:
            if entry.pop("flow", None) or entry.pop("call_flow", None):
                entry["call_flow"] = enters
    return spec


def dev(flows: dict[str, Any] = FLOWS, enters: str = "main") -> Any:
    return run_program("dev", with_flows(stack_spec("dev"), flows, enters))


def prod(flows: dict[str, Any] = FLOWS, enters: str = "main") -> Any:
    return run_program("prod", with_flows(good_prod_spec(), flows, enters))


def flows_with(**changes: Any) -> dict[str, Any]:
    """FLOWS with `path=value` changes (`main.menus.sales.options`: dotted below `flows`)."""
    flows = copy.deepcopy(FLOWS)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = flows["flows"]
        for name in parents:
            node = node[name]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return flows


def call_flow_diags(diags: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    names = {
        "voice-call-recording-consent",
        "voice-prod-calls-end-with-a-person",
        "voice-calls-end-with-a-person",
    }
    return [d for d in diags if d[0] in names]


def test_the_policies_are_in_the_pack() -> None:
    levels = {p.name: p.enforcement_level.value for p in ALL}
    assert levels["voice-call-recording-consent"] == "mandatory"
    assert levels["voice-prod-calls-end-with-a-person"] == "mandatory"
    assert levels["voice-calls-end-with-a-person"] == "advisory"


def test_flows_that_consent_and_end_with_people_pass() -> None:
    assert analyze(dev()) == []
    assert call_flow_diags(analyze(prod())) == []
    # entering the recording flow straight away: its entry plays the consent first
    assert call_flow_diags(analyze(dev(enters="support"))) == []


def test_a_stack_without_call_flows_registers_nothing_to_judge() -> None:
    records = run_program("dev", stack_spec("dev") | {"call_flows": None})
    assert not [r for r in records if r.typ.endswith(":CallFlows")]


# -- consent -------------------------------------------------------------------------------------


def _no_consent_at(flow: str) -> Any:
    """graph.build, except that flow's entry plays no consent (what a regression would do)."""
    build = graph.build

    def patched(flows: CallFlows) -> graph.FlowGraph:
        built = build(flows)
        built.nodes[graph.flow_id(flow)].consent = False
        return built

    return patched


def test_recording_without_consent_is_refused_with_the_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The model requires a consent prompt for a recording flow and its entry always plays it, so
    # a valid stack cannot record without one: the policy is the backstop in state. Simulate an
    # entry that plays none.
    monkeypatch.setattr(graph, "build", _no_consent_at("support"))
    diags = call_flow_diags(analyze(dev()))
    assert [(p, level) for p, level, _ in diags] == [("voice-call-recording-consent", "mandatory")]
    assert diags[0][2] == (
        "number +14155550110 (and 2 more) -> flow main -> menu main -> flow support -> "
        "dial +14155550124 records without a consent prompt: the caller must hear the consent "
        "before anything records; set call_flows.flows.support.recording.consent and route "
        "calls into flow support through its entry (it plays the consent first), or turn "
        "recording off there (the step: call_flows.flows.support.start)"
    )


def test_consent_is_mandatory_in_local_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph, "build", _no_consent_at("support"))
    # judged as `local`: the consent rule is not one of the local exemptions
    config = {"voice-call-recording-consent": {"environment": "local"}}
    diags = call_flow_diags(analyze(dev(), config))
    assert [(p, level) for p, level, _ in diags] == [("voice-call-recording-consent", "mandatory")]


def test_consent_paths_from_every_flow_when_entries_are_unknown() -> None:
    flows = CallFlows.model_validate(FLOWS)
    built = graph.build(flows)
    built.nodes[graph.flow_id("support")].consent = False
    unknown = callflows.Declared(flows, None)
    assert callflows.roots(unknown) == ["flow:main", "flow:support"]
    [first, *_] = callflows.recording_without_consent(unknown, built)
    assert first.startswith("flow main -> menu main -> flow support -> dial +14155550124 records")
    # known entries: only the flows they enter are walked
    only_main = callflows.Declared(flows, {"SIP domain pbx": "main"})
    assert callflows.roots(only_main) == ["flow:main"]
    [problem] = callflows.recording_without_consent(only_main, built)
    assert problem.startswith("SIP domain pbx -> flow main -> menu main -> flow support")


# -- calls end with a person ---------------------------------------------------------------------


def test_no_answer_goodbye_is_refused_in_prod_and_advised_elsewhere() -> None:
    # The sales dial, and the operator both menus ring when their retries run out, then fall
    # to "no answer: goodbye".
    flows = flows_with(main__no_answer=None)
    diags = call_flow_diags(analyze(prod(flows)))
    assert [(p, level) for p, level, _ in diags] == [
        ("voice-prod-calls-end-with-a-person", "mandatory")
    ] * 3
    operator, message, _ = (m for _, _, m in diags)
    assert operator.startswith(
        "number +14155550100 (and 6 more) -> flow main -> menu main -> operator -> no answer: "
        "goodbye: nobody answers the operator (where the retries of "
        "call_flows.flows.main.menus.main run out) and the app says no_answer_message"
    ), operator
    assert message.startswith(
        "number +14155550100 (and 6 more) -> flow main -> menu main -> menu sales -> "
        "dial +14155550123 -> no answer: goodbye: nobody answers "
        "call_flows.flows.main.menus.sales.options[0].action and the app says "
        "no_answer_message and hangs up; add no_answer: {voicemail: general} under "
        "call_flows.flows.main.menus.sales.options[0].action.dial, or no_answer: "
        "{voicemail: general} to call_flows.flows.main"
    ), message
    # the same flows in dev: a warning, not a block
    diags = call_flow_diags(analyze(dev(flows)))
    assert [(p, level) for p, level, _ in diags] == [
        ("voice-calls-end-with-a-person", "advisory")
    ] * 3


def test_menu_retries_running_out_without_an_operator() -> None:
    flows = flows_with()
    del flows["operator"]
    diags = call_flow_diags(analyze(prod(flows)))
    assert [p for p, _, _ in diags] == ["voice-prod-calls-end-with-a-person"] * 2
    main, sales = (m for _, _, m in diags)
    assert "-> flow main -> menu main -> goodbye: when the retries of " in main
    assert (
        "call_flows.flows.main.menus.main run out the app says goodbye and hangs up; set "
        "exhausted: {operator: true} at call_flows.flows.main.menus.main.exhausted (with "
        "call_flows.operator declared) or exhausted: {voicemail: general}"
    ) in main
    assert "menu sales -> goodbye" in sales
    # an exhausted action that reaches a voicemail box is an answer
    flows["flows"]["main"]["menus"]["main"]["exhausted"] = {"voicemail": "general"}
    flows["flows"]["main"]["menus"]["sales"]["exhausted"] = {"voicemail": "general"}
    assert call_flow_diags(analyze(prod(flows))) == []


def test_silence_hangup_and_an_explicit_hangup_step() -> None:
    flows = flows_with(
        main__menus__main__first_silence="hangup",
        main__start={
            "hours": {
                "schedule": "office",
                "open": {"menu": "main"},
                "closed": {"hangup": "We are closed."},
            }
        },
    )
    flows["schedules"] = {
        "office": {"time_zone": "America/New_York", "weekly": {"mon": ["09:00-17:00"]}}
    }
    messages = [m for _, _, m in call_flow_diags(analyze(prod(flows)))]
    assert len(messages) == 2, messages
    closed = next(m for m in messages if "hours office -> hang up" in m)
    assert (
        "the app hangs up at call_flows.flows.main.start.hours.closed; send the caller to a "
        "person or a voicemail there instead: {voicemail: general} or {operator: true}"
    ) in closed
    silence = next(m for m in messages if "no input: goodbye" in m)
    assert "set call_flows.flows.main.menus.main.first_silence: reprompt" in silence


def test_a_hangup_the_caller_chooses_and_unreachable_flows_are_fine() -> None:
    flows = flows_with()
    # not entered by any entry point: the spec warns that it is unreachable, the policy ignores it
    flows["flows"]["orphan"] = {"start": {"hangup": "Bye."}}
    assert call_flow_diags(analyze(prod(flows))) == []
    declared = callflows.Declared(CallFlows.model_validate(flows), None)
    [orphan] = callflows.app_hangups(declared)
    assert orphan.startswith("flow orphan -> hang up: the app hangs up at call_flows.flows.orphan")


def test_local_is_exempt_from_the_advisory() -> None:
    flows = flows_with(main__no_answer=None)
    local = run_program("local", with_flows(stack_spec("local"), flows))
    assert call_flow_diags(analyze(local)) == []
    as_dev = {"voice-calls-end-with-a-person": {"environment": "dev"}}
    diags = call_flow_diags(analyze(local, as_dev))
    assert [(p, level) for p, level, _ in diags] == [
        ("voice-calls-end-with-a-person", "advisory")
    ] * 3


def test_a_dial_inside_the_flows_no_answer_gets_its_own_no_answer_as_the_fix() -> None:
    flows = flows_with(main__no_answer={"dial": {"numbers": ["+14155550100"]}})
    diags = call_flow_diags(analyze(prod(flows)))
    inside = [m for _, _, m in diags if "inside call_flows.flows.main.no_answer" in m]
    assert inside, diags
    assert all("give it its own no_answer: {voicemail: general}" in m for m in inside), inside
    assert not any("to call_flows.flows.main" in m for m in inside), inside
