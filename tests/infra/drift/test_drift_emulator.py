"""`python -m infra drift` against the emulator: clean, each out-of-band change, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from drift_support import API_KEY, API_SECRET, EXTRA_NUMBER, Account

from infra.client import RetryPolicy
from infra.commands.drift import drift


def run(account: Account, fmt: str = "json", **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = drift(account.project, "local", fmt=fmt, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def findings(account: Account, **kwargs: Any) -> tuple[int, list[dict[str, Any]]]:
    code, out, _ = run(account, "json", **kwargs)
    return code, json.loads(out)["findings"]


def failing(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in found if f["fails"]]


def live_sid(account: Account, kind: str, **match: Any) -> str:
    for record in account.emu.admin.resources(kind):
        if all(record.get(k) == v for k, v in match.items()):
            return str(record["sid"])
    raise AssertionError(f"no {kind} with {match}")


def test_clean_stack_reports_no_drift(account: Account) -> None:
    code, found = findings(account)
    assert code == 0
    assert failing(found) == []
    # The extra number the account owns is reported, as information only.
    assert [(f["status"], f["key"], f["fails"]) for f in found] == [
        ("unmanaged", EXTRA_NUMBER, False)
    ]


def test_strict_fails_on_unmanaged_numbers(account: Account) -> None:
    code, found = findings(account, strict=True)
    assert code == 1
    assert [(f["key"], f["fails"]) for f in found] == [(EXTRA_NUMBER, True)]


def test_field_edit_is_reported_in_every_format(account: Account) -> None:
    sid = live_sid(account, "sip_domain", domain_name="acme-local.sip.twilio.com")
    account.emu.admin.edit("sip_domain", sid, voice_url="https://evil.example.com/x", secure=True)
    code, found = findings(account)
    assert code == 1
    [changed] = failing(found)
    assert changed["status"] == "changed"
    assert changed["kind"] == "SipDomain"
    assert changed["sid"] == sid
    assert changed["changes"] == [
        {"field": "secure", "declared": False, "live": True},
        {
            "field": "voice_url",
            "declared": "http://127.0.0.1:8080/voice/sip/inbound?flow=main",
            "live": "https://evil.example.com/x",
        },
    ]
    code, text, _ = run(account, "text")
    assert code == 1
    assert "CHANGED" in text
    assert "acme-local.sip.twilio.com" in text
    assert 'voice_url: declared "http://127.0.0.1:8080/voice/sip/inbound?flow=main", live ' in text
    code, md, _ = run(account, "markdown")
    assert code == 1
    assert (
        f"| changed | SIP domain `acme-local.sip.twilio.com` | `{sid}` | voice_url | "
        '`"http://127.0.0.1:8080/voice/sip/inbound?flow=main"` | `"https://evil.example.com/x"` |'
    ) in md


def test_a_number_switched_to_fax_is_drift(account: Account) -> None:
    sid = live_sid(account, "incoming_phone_number", phone_number="+14155550120")
    account.emu.admin.edit("incoming_phone_number", sid, voice_receive_mode="fax")
    code, found = findings(account)
    assert code == 1
    [changed] = failing(found)
    assert (changed["kind"], changed["sid"]) == ("IncomingPhoneNumber", sid)
    assert changed["changes"] == [
        {"field": "voice_receive_mode", "declared": "voice", "live": "fax"}
    ]


def test_deleted_resource_is_missing(account: Account) -> None:
    sid = live_sid(account, "connection_policy_target", friendly_name="sbc-1")
    account.emu.admin.delete("connection_policy_target", sid)
    code, found = findings(account)
    assert code == 1
    assert [(f["status"], f["kind"], f["key"]) for f in failing(found)] == [
        ("missing", "ConnectionPolicyTarget", "local-carrier/sip:127.0.0.1:5080")
    ]
    _, text, _ = run(account, "text")
    assert "MISSING" in text
    assert "local-carrier/sip:127.0.0.1:5080" in text
    _, md, _ = run(account, "markdown")
    assert "| missing | connection policy target `local-carrier/sip:127.0.0.1:5080` |" in md


def test_extra_resource_is_unmanaged_with_sid_and_hint(account: Account) -> None:
    extra = account.client.api.v2010.account.sip.credential_lists.create(friendly_name="rogue")
    code, found = findings(account)
    assert code == 1
    [f] = failing(found)
    assert (f["status"], f["kind"], f["key"], f["sid"]) == (
        "unmanaged",
        "CredentialList",
        "rogue",
        extra.sid,
    )
    assert "declare it in credential_lists[]" in f["hint"]
    assert extra.sid in f["hint"]
    _, text, _ = run(account, "text")
    assert f"UNMANAGED         credential list rogue ({extra.sid})" in text
    _, md, _ = run(account, "markdown")
    assert f"| unmanaged | credential list `rogue` | `{extra.sid}` |" in md


def test_removed_mapping_is_missing(account: Account) -> None:
    domain = live_sid(account, "sip_domain", domain_name="acme-local.sip.twilio.com")
    clist = live_sid(account, "sip_credential_list", friendly_name="local-users")
    auth = account.client.api.v2010.account.sip.domains(domain).auth
    auth.calls.credential_list_mappings(clist).delete()
    code, found = findings(account)
    assert code == 1
    assert [(f["status"], f["kind"], f["key"]) for f in failing(found)] == [
        (
            "missing",
            "SipDomainCallsCredentialListMapping",
            "acme-local.sip.twilio.com/local-users",
        )
    ]
    _, text, _ = run(account, "text")
    assert "MISSING           SIP domain calls credential list mapping" in text
    _, md, _ = run(account, "markdown")
    assert (
        "| missing | SIP domain calls credential list mapping "
        "`acme-local.sip.twilio.com/local-users` |"
    ) in md


def test_extra_mapping_and_trunk_number_are_unmanaged(account: Account) -> None:
    trunk = live_sid(account, "trunk", domain_name="acme-local.pstn.twilio.com")
    number = live_sid(account, "incoming_phone_number", phone_number=EXTRA_NUMBER)
    account.client.trunking.v1.trunks(trunk).phone_numbers.create(phone_number_sid=number)
    code, found = findings(account)
    assert code == 1
    assert [(f["status"], f["kind"], f["key"]) for f in failing(found)] == [
        ("unmanaged", "TrunkPhoneNumber", f"acme-local.pstn.twilio.com/{EXTRA_NUMBER}")
    ]


def test_reference_change_names_both_keys(account: Account) -> None:
    other = account.client.api.v2010.account.applications.create(friendly_name="other-app")
    number = live_sid(account, "incoming_phone_number", phone_number="+14155550121")
    account.emu.admin.edit("incoming_phone_number", number, voice_application_sid=other.sid)
    _, found = findings(account)
    changed = [f for f in found if f["status"] == "changed"]
    assert changed[0]["changes"] == [
        {"field": "voice_application_sid", "declared": "local-ivr", "live": "other-app"}
    ]


def test_write_only_password_is_named_not_compared(account: Account) -> None:
    _, out, _ = run(account, "json")
    skipped = json.loads(out)["not_compared"]
    assert ("Credential", "password") in {(s["kind"], s["field"]) for s in skipped}
    _, text, _ = run(account, "text")
    assert "SIP credential password: write-only" in text


def test_output_file(account: Account, tmp_path: Path) -> None:
    target = tmp_path / "drift.md"
    code, out, _ = run(account, "markdown", output=target)
    assert code == 0
    assert "no drift" in out
    assert target.read_text().startswith("### 🟢 Drift report: stack `local`")


def test_unwritable_output_exit_2(account: Account, tmp_path: Path) -> None:
    code, _, err = run(account, "text", output=tmp_path / "missing-dir" / "drift.txt")
    assert code == 2
    assert "cannot write the report" in err


def test_bad_credentials_exit_2(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token-value")
    code, out, err = run(account)
    assert code == 2
    assert out == ""
    assert "20003" in err
    assert "credentials were rejected" in err
    assert "wrong-token-value" not in err


def test_unreachable_twilio_exit_2(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:9")
    code, _, err = run(account, retry=RetryPolicy(max_attempts=1))
    assert code == 2
    assert "Twilio unreachable" in err


def test_missing_credentials_exit_2(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    code, _, err = run(account)
    assert code == 2
    assert "TWILIO_AUTH_TOKEN" in err


def test_unreadable_stack_exit_2(account: Account) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert drift(account.project, "nope", out=out, err=err) == 2
    assert "stack file not found" in err.getvalue()


def test_invalid_spec_exit_2(account: Account) -> None:
    stack_file = account.project / "Pulumi.local.yaml"
    stack_file.write_text(stack_file.read_text().replace("edge: ashburn", "edge: mars"))
    code, out, err = run(account)
    assert code == 2
    assert out == ""
    assert "edge" in err
    assert "twilio-voice validate --stack local" in err


def test_only_gets_are_sent(account: Account) -> None:
    code, out, _ = run(account)
    assert code == 0
    counters = account.emu.admin.counters()
    assert all(route.startswith("GET ") for route in counters["routes"])
    assert json.loads(out)["api_calls"] == counters["total"]


def test_api_key_credentials(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    monkeypatch.setenv("TWILIO_API_KEY", API_KEY)
    monkeypatch.setenv("TWILIO_API_SECRET", API_SECRET)
    code, _, err = run(account)
    assert code == 0, err
    monkeypatch.setenv("TWILIO_API_SECRET", "not-the-secret")
    code, _, err = run(account)
    assert code == 2
    assert "20003" in err


def test_rate_limits_and_server_errors_are_retried(account: Account) -> None:
    account.emu.admin.set_faults(rate_429=0.3, rate_500=0.1, retry_after=0, seed=7)
    fast = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.01)
    code, out, err = run(account, retry=fast)
    assert code == 0, err
    counters = account.emu.admin.counters()
    assert counters["faults"]["429"] + counters["faults"]["500"] > 0
    # retries are counted: the report's call count is every request sent
    assert json.loads(out)["api_calls"] == counters["total"]
