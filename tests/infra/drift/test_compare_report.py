"""Pure drift rules: matching, folding of children, unmanaged numbers, rendering and redaction."""

from __future__ import annotations

import json

from infra.drift.compare import compare
from infra.drift.kinds import NOT_COMPARED
from infra.drift.model import DriftReport, Finding, Item
from infra.drift.report import mask_sid, redact, render

ACCOUNT = "AC" + "a" * 32


def report(findings: tuple[Finding, ...], strict: bool = False) -> DriftReport:
    return DriftReport("prod", ACCOUNT, findings, NOT_COMPARED, 3, 3, 7, strict)


APP_LIVE = {
    "friendly_name": "ivr",
    "voice_url": "https://b.example.com/voice",
    "voice_method": "POST",
    "voice_fallback_url": "",
    "voice_fallback_method": "POST",
    "status_callback": None,
    "status_callback_method": "POST",
    "voice_caller_id_lookup": False,
}


def test_changed_fields_use_provider_defaults_and_clearing() -> None:
    # Unset declared methods mean the provider's default (POST); "" and null both mean unset.
    declared = [Item("Application", "ivr", {"friendly_name": "ivr", "voice_url": "https://a/x"})]
    live = [Item("Application", "ivr", APP_LIVE, "AP1")]
    [f] = compare(declared, live)
    assert (f.status, f.sid, [(c.field, c.declared, c.live) for c in f.changes]) == (
        "changed",
        "AP1",
        [("voice_url", "https://a/x", "https://b.example.com/voice")],
    )
    live = [Item("Application", "ivr", {**APP_LIVE, "voice_method": "GET"}, "AP1")]
    declared = [Item("Application", "ivr", {**APP_LIVE, "voice_method": None})]
    [f] = compare(declared, live)
    assert [(c.field, c.declared, c.live) for c in f.changes] == [("voice_method", "POST", "GET")]


def test_unclearable_unset_fields_are_not_compared() -> None:
    # A number's friendly name cannot be cleared: left unset, whatever Twilio has is fine.
    live = {"phone_number": "+14155550100", "friendly_name": "(415) 555-0100"}
    declared = {"phone_number": "+14155550100", "friendly_name": None}
    assert (
        compare(
            [Item("IncomingPhoneNumber", "+14155550100", declared)],
            [Item("IncomingPhoneNumber", "+14155550100", live, "PN1")],
        )[0]
        .changes[0]
        .field
        != "friendly_name"
    )


def test_generic_kind_compares_declared_fields_only() -> None:
    declared = [Item("Custom", "x", {"a": 1})]
    live = [Item("Custom", "x", {"a": 1, "b": 2}, "XX1")]
    assert compare(declared, live) == ()


def test_children_of_missing_parent_fold_into_the_parent() -> None:
    declared = [
        Item("CredentialList", "users"),
        Item("Credential", "users/alice", parent=("CredentialList", "users")),
    ]
    found = compare(declared, [])
    assert [(f.status, f.kind) for f in found] == [("missing", "CredentialList")]


def test_children_of_unmanaged_parent_fold_into_the_parent() -> None:
    live = [
        Item("CredentialList", "rogue", sid="CL1"),
        Item("Credential", "rogue/eve", sid="CR1", parent=("CredentialList", "rogue")),
    ]
    found = compare([], live)
    assert [(f.status, f.kind, f.sid) for f in found] == [("unmanaged", "CredentialList", "CL1")]


def test_association_sets() -> None:
    parent = ("Custom", "d.sip.twilio.com")
    declared = [
        Item("Custom", "d.sip.twilio.com"),
        Item("SipDomainCallsCredentialListMapping", "d.sip.twilio.com/a", parent=parent),
        Item("SipDomainCallsCredentialListMapping", "d.sip.twilio.com/b", parent=parent),
    ]
    live = [
        Item("Custom", "d.sip.twilio.com", sid="SD1"),
        Item("SipDomainCallsCredentialListMapping", "d.sip.twilio.com/b", sid="CLb", parent=parent),
        Item("SipDomainCallsCredentialListMapping", "d.sip.twilio.com/c", sid="CLc", parent=parent),
    ]
    found = compare(declared, live)
    assert [(f.status, f.key) for f in found] == [
        ("missing", "d.sip.twilio.com/a"),
        ("unmanaged", "d.sip.twilio.com/c"),
    ]


def test_unmanaged_numbers_fail_only_when_strict() -> None:
    live = [Item("IncomingPhoneNumber", "+14155550100", sid="PN1")]
    [info] = compare([], live)
    assert not info.fails
    assert not report((info,)).drifted
    assert report((info,)).exit_code == 0
    [strict] = compare([], live, strict=True)
    assert strict.fails
    assert report((strict,), strict=True).exit_code == 1


def test_duplicate_live_key_is_unmanaged() -> None:
    from infra.drift.collect import Collector

    keys = Collector(None, ())  # type: ignore[arg-type]
    assert keys.claim("Application", "ivr", "AP1") == "ivr"
    assert keys.claim("Application", "ivr", "AP2") == "ivr (duplicate AP2)"


def test_redaction_and_masking() -> None:
    assert redact("https://user:s3cret@h.example.com/x") == "https://user:***@h.example.com/x"
    assert redact("https://h.example.com/x") == "https://h.example.com/x"
    assert mask_sid(ACCOUNT) == "ACaa…aaaa"


def test_formats_carry_the_same_findings() -> None:
    found = compare(
        [Item("Custom", "d.sip.twilio.com", {"voice_url": "https://a/x"})],
        [Item("Custom", "d.sip.twilio.com", {"voice_url": "https://u:pw@b/y"}, "SD1")],
    )
    rep = report(found)
    doc = json.loads(render(rep, "json"))
    assert doc["status"] == "drift"
    assert doc["exit_code"] == 1
    assert doc["findings"][0]["changes"] == [
        {"field": "voice_url", "declared": "https://a/x", "live": "https://u:***@b/y"}
    ]
    text = render(rep, "text")
    assert 'voice_url: declared "https://a/x", live "https://u:***@b/y"' in text
    md = render(rep, "markdown")
    assert "| changed | Custom `d.sip.twilio.com` | `SD1` | voice_url |" in md
    for out in (json.dumps(doc), text, md):
        assert "pw@" not in out
        assert ACCOUNT not in out


def test_markdown_escapes_pipes() -> None:
    found = compare([], [Item("Application", "a|b", sid="AP1")])
    assert "`a\\|b`" in render(report(found), "markdown")


def test_clean_report() -> None:
    rep = report(())
    assert rep.exit_code == 0
    assert "CLEAN" in render(rep, "text")
    assert json.loads(render(rep, "json"))["status"] == "clean"
