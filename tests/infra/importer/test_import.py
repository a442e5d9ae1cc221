"""`twilio-voice import`: a live account (the emulator) to a valid stack file.

Round trip: the `prod` estate applied to the emulator plus out-of-band resources (a number on a
Studio flow's URL, an extra SIP domain); import into a new stack; `validate` exits 0 and
`drift` of the imported stack against the same account finds nothing (what `pulumi preview`
would adopt without a change). Import of an account with 1,000 numbers makes pages-many REST
calls (printed).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.commands.app_config import artifact_text
from infra.commands.drift import drift
from infra.commands.import_stack import import_stack
from infra.commands.validate import validate
from infra.spec import load_environment, load_stack_file
from webhook_app.callflow.artifact import content_hash, render
from webhook_app.callflow.model import CallFlows

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "infra" / "drift"))
from drift_support import apply_spec  # noqa: E402

PROD_ACCOUNT = "ACb0ebb1aee434f6076941fdae6a07a0d2"
PASSWORD = "Imp0rtedPassw0rd!"
STUDIO = f"https://webhooks.twilio.com/v1/Accounts/{PROD_ACCOUNT}/Flows/FW" + "0" * 32
STUDIO_NUMBER = "+14155550177"
PROJECT = "name: twilio-voice\nruntime: python\nmain: infra/\n"
BASE = "https://voice.acme.example.com"


def prod_spec() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    spec: dict[str, Any] = doc["config"]["twilio-voice:environment"]
    # The estate as the app's routes (flow:), without its call flows: Twilio holds no call
    # flow, so an import cannot bring them back (it sees only the ?flow= in the URLs).
    spec.pop("call_flows", None)
    routes = {
        "numbers": "ivr_main",
        "applications": "ivr_main",
        "sip_domains": "sip_inbound",
        "byoc_trunks": "byoc_inbound",
    }
    for key, route in routes.items():
        for entry in spec.get(key, []):
            if entry.pop("call_flow", None) is not None:
                entry["flow"] = route
    for clist in spec.get("credential_lists", []):
        for cred in clist.get("credentials", []):
            cred["password"] = PASSWORD  # what the engine hands the program, decrypted
    return spec


def applied(
    spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningEmulator, Any]]:
    """An emulated account with `spec` applied (plus a spare number), credentials in the env."""
    env = load_environment(spec, "prod", secrets_decrypted=True)
    numbers = [n.e164 for n in env.numbers] + [STUDIO_NUMBER]
    with running_emulator(numbers=numbers, account_sid=PROD_ACCOUNT) as emu:
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        for key in ("TWILIO_EDGE", "TWILIO_REGION", "TWILIO_API_KEY", "TWILIO_API_SECRET"):
            monkeypatch.delenv(key, raising=False)
        apply_spec(emu.client(), env)
        (tmp_path / "Pulumi.yaml").write_text(PROJECT)
        yield emu, env


@pytest.fixture
def account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningEmulator, Any]]:
    yield from applied(prod_spec(), tmp_path, monkeypatch)


def out_of_band(emu: RunningEmulator) -> None:
    """What a Console user or a script adds: a number on a Studio flow, an extra domain."""
    acct = emu.client().api.v2010.account
    [number] = acct.incoming_phone_numbers.list(phone_number=STUDIO_NUMBER)
    acct.incoming_phone_numbers(number.sid).update(voice_url=STUDIO, voice_method="POST")
    acct.sip.domains.create(
        domain_name="acme-extra.sip.twilio.com",
        friendly_name="Extra",
        voice_url="https://voice.acme.example.com/voice/sip/inbound",
    )


def run_import(project: Path, stack: str, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = import_stack(project, stack, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_round_trip_validates_and_has_no_drift(
    account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    emu, _ = account
    out_of_band(emu)
    emu.admin.reset_counters()
    code, out, err = run_import(
        tmp_path, "imported", public_base_url="https://voice.acme.example.com"
    )
    assert code == 0, err
    assert "wrote Pulumi.imported.yaml" in out
    text = (tmp_path / "Pulumi.imported.yaml").read_text()
    assert text.startswith("# Imported by `twilio-voice import --stack imported`")
    assert "pulumi config set --secret --path 'twilio-voice:environment.credential_lists[0]" in text
    # the import only listed (GET), never wrote
    counters = json.dumps(emu.admin.counters())
    assert '"POST ' not in counters
    assert '"DELETE ' not in counters

    env = load_stack_file(tmp_path, "imported")
    [studio] = [n for n in env.numbers if n.e164 == STUDIO_NUMBER]
    assert studio.external_url == STUDIO
    assert studio.flow is None
    main = next(n for n in env.numbers if n.e164 == "+14155550100")
    assert (main.flow, main.fallback_flow, main.status_callback_flow) == (
        "ivr_main",
        "voice_fallback",
        "call_status",
    )
    assert "acme-extra.sip.twilio.com" in {d.domain_name for d in env.sip_domains}
    creds = [c for cl in env.credential_lists for c in cl.credentials]
    assert {c.username for c in creds} == {"pbx-nyc", "pbx-sfo", "alice", "bob", "carol"}
    assert all(c.password is None for c in creds)  # exists, password not managed
    assert env.dialing_permissions is not None
    assert [c.iso_code for c in env.dialing_permissions.countries] == ["CA", "US"]

    out_v, err_v = io.StringIO(), io.StringIO()
    assert validate(tmp_path, "imported", out=out_v, err=err_v) == 0, err_v.getvalue()
    assert "password not managed" in out_v.getvalue()

    out_d, err_d = io.StringIO(), io.StringIO()
    code = drift(tmp_path, "imported", fmt="json", out=out_d, err=err_d)
    report = json.loads(out_d.getvalue())
    failing = [f for f in report["findings"] if f["fails"]]
    assert failing == [], failing
    assert code == 0
    assert report["counts"] == {"missing": 0, "changed": 0, "unmanaged": 0}


def test_existing_file_needs_force(account: tuple[RunningEmulator, Any], tmp_path: Path) -> None:
    (tmp_path / "Pulumi.imported.yaml").write_text("config: {}\n")
    code, _, err = run_import(
        tmp_path, "imported", public_base_url="https://voice.acme.example.com"
    )
    assert code == 2
    assert "pass --force" in err
    code, _, _ = run_import(
        tmp_path, "imported", public_base_url="https://voice.acme.example.com", force=True
    )
    assert code == 0


def test_base_url_is_guessed_from_the_apps_routes(
    account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    code, out, _ = run_import(tmp_path, "guessed")
    assert code == 0
    assert "base URL https://voice.acme.example.com" in out
    env = load_stack_file(tmp_path, "guessed")
    assert env.public_base_url == "https://voice.acme.example.com"


def test_no_project_exits_2(account: tuple[RunningEmulator, Any], tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").unlink()
    code, _, err = run_import(tmp_path, "x", public_base_url="https://voice.acme.example.com")
    assert code == 2
    assert "no Pulumi.yaml here" in err


def test_rejected_credentials_exit_2(
    account: tuple[RunningEmulator, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    code, _, err = run_import(tmp_path, "x", public_base_url="https://voice.acme.example.com")
    assert code == 2
    assert "20003" in err


def test_1000_numbers_cost_pages_not_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_emulator(seed_numbers=1000) as emu:
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        acct = emu.client().api.v2010.account
        numbers = acct.incoming_phone_numbers.list(page_size=1000)
        assert len(numbers) >= 1000
        # Route them all to the app (through the admin API: no REST traffic to count).
        for n in numbers:
            emu.admin.edit(
                "incoming_phone_number", n.sid, voice_url="https://voice.example.com/voice/inbound"
            )
        emu.admin.reset_counters()
        (tmp_path / "Pulumi.yaml").write_text(PROJECT)
        code, out, err = run_import(tmp_path, "big", public_base_url="https://voice.example.com")
        assert code == 0, err
        calls = emu.admin.counters()["total"]
    env = load_stack_file(tmp_path, "big")
    assert len(env.numbers) == len(numbers)
    with capsys.disabled():
        print(
            f"\nimport of {len(numbers)} numbers: {calls} REST calls "
            f"({out.strip().splitlines()[0]})"
        )
    # 10 top-level lists (numbers: 1-2 pages of 1,000) + source IP mappings + countries.
    assert calls <= 14


def _comparable_state(emu: RunningEmulator) -> dict[str, Any]:
    """The emulator's tables without timestamps (an adopting update touches date_updated)."""
    tables = emu.admin.state()["tables"]
    return {
        kind: sorted(
            (
                json.dumps(
                    [parent, {k: v for k, v in rec.items() if k != "date_updated"}],
                    sort_keys=True,
                )
                for parent, rec in rows
            )
        )
        for kind, rows in tables.items()
    }


def test_up_of_the_imported_stack_adopts_everything_and_changes_nothing(
    account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    """Every node of the imported stack through its real provider, in the program's order and
    with references resolved to SIDs (what `pulumi up` does on a fresh state): each create
    adopts by unique key, and the account is the same afterwards, field for field."""
    from infra.plan import plan
    from infra.resources import PROVIDERS

    emu, _ = account
    out_of_band(emu)
    code, _, err = run_import(
        tmp_path, "imported", public_base_url="https://voice.acme.example.com"
    )
    assert code == 0, err
    env = load_stack_file(tmp_path, "imported")
    before = _comparable_state(emu)
    counts_before = emu.admin.request("GET", "/counts")
    sids: dict[tuple[str, str], str] = {}
    for node in plan(env).order:
        provider = PROVIDERS[node.kind]()
        inputs = {k: v for k, v in node.props.items() if v is not None}
        for name, ref in node.refs.items():
            if ref is not None:
                inputs[name] = sids[ref]
        inputs["expected_account_sid"] = PROD_ACCOUNT
        checked = provider.check({}, inputs)
        assert checked.failures == [], (node.kind, node.name, checked.failures)
        created = provider.create(checked.inputs)
        sids[node.id] = str(created.outs.get("sid") or created.id)
        # the adopted resource needs no further change
        assert provider.diff(created.id, created.outs, checked.inputs).changes is False, node.name
    assert len(sids) > 40  # every kind of the prod estate went through its provider
    assert emu.admin.request("GET", "/counts") == counts_before  # nothing created
    after = _comparable_state(emu)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == set(), {k: (before[k], after.get(k)) for k in changed}


@pytest.fixture
def flows_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningEmulator, Any]]:
    """The prod estate as it is, entering its declared call flows (`?flow=` URLs)."""
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    spec: dict[str, Any] = doc["config"]["twilio-voice:environment"]
    for clist in spec.get("credential_lists", []):
        for cred in clist.get("credentials", []):
            cred["password"] = PASSWORD
    yield from applied(spec, tmp_path, monkeypatch)


def test_call_flow_urls_need_the_apps_artifact_to_import(
    flows_account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE)
    assert code == 1, err
    assert "enter the app's call flows after-hours, main, support" in err
    assert "--call-flows flows.json" in err
    assert (tmp_path / "Pulumi.imported.yaml.invalid").exists()
    assert not (tmp_path / "Pulumi.imported.yaml").exists()


def test_call_flows_round_trip_through_the_artifact(
    flows_account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    _, prod = flows_account
    flows_json = tmp_path / "flows.json"
    flows_json.write_text(artifact_text(prod, "prod"))
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE, call_flows=flows_json)
    assert code == 0, err
    env = load_stack_file(tmp_path, "imported")
    assert env.call_flows == prod.call_flows
    entries = {n.e164: (n.call_flow, n.fallback_flow) for n in env.numbers if n.call_flow}
    assert entries == {n.e164: (n.call_flow, n.fallback_flow) for n in prod.numbers if n.call_flow}
    assert [d.call_flow for d in env.sip_domains] == [d.call_flow for d in prod.sip_domains]
    assert [b.call_flow for b in env.byoc_trunks] == [b.call_flow for b in prod.byoc_trunks]
    # the same flows, so the app keeps serving what the imported stack declares (the imported
    # stack also declares the account's dialing countries, which prod leaves alone)
    assert content_hash(env.call_flows, None) == content_hash(prod.call_flows, None)
    out_d, err_d = io.StringIO(), io.StringIO()
    drift(tmp_path, "imported", fmt="json", out=out_d, err=err_d)
    report = json.loads(out_d.getvalue())
    # (the spare number, which routes no calls, is listed as unmanaged: not imported)
    assert report["counts"] == {"missing": 0, "changed": 0, "unmanaged": 1}, report


def test_an_artifact_missing_a_flow_the_account_enters_is_named(
    flows_account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    _, prod = flows_account
    flows = prod.call_flows.model_dump(mode="json", exclude_none=True)
    del flows["flows"]["after-hours"]
    other = CallFlows.model_validate(flows)
    flows_json = tmp_path / "flows.json"
    flows_json.write_text(render(other, None, stack="other"))
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE, call_flows=flows_json)
    assert code == 1
    assert "enters flows after-hours, which" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"menu": {}}')
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE, call_flows=bad)
    assert code == 2
    assert "--call-flows" in err
    assert "not a call-flows artifact" in err


def test_an_entry_without_flow_enters_the_default_flow_once_flows_are_declared(
    flows_account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    emu, prod = flows_account
    out_of_band(emu)  # among others, a SIP domain on /voice/sip/inbound (no ?flow=)
    flows_json = tmp_path / "flows.json"
    flows_json.write_text(artifact_text(prod, "prod"))
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE, call_flows=flows_json)
    assert code == 0, err
    env = load_stack_file(tmp_path, "imported")
    [extra] = [d for d in env.sip_domains if d.domain_name == "acme-extra.sip.twilio.com"]
    assert (extra.flow, extra.call_flow) == (None, "main")
    text = (tmp_path / "Pulumi.imported.yaml").read_text()
    assert "`pulumi up` adds ?flow=main to the URL" in text


def test_a_status_route_with_a_flow_is_not_taken_for_a_fallback(
    flows_account: tuple[RunningEmulator, Any], tmp_path: Path
) -> None:
    emu, prod = flows_account
    acct = emu.client().api.v2010.account
    [number] = acct.incoming_phone_numbers.list(phone_number="+14155550100")
    acct.incoming_phone_numbers(number.sid).update(
        voice_fallback_url=f"{BASE}/voice/status?flow=main"
    )
    flows_json = tmp_path / "flows.json"
    flows_json.write_text(artifact_text(prod, "prod"))
    code, _, err = run_import(tmp_path, "imported", public_base_url=BASE, call_flows=flows_json)
    assert code == 0, err
    env = load_stack_file(tmp_path, "imported")
    [main] = [n for n in env.numbers if n.e164 == "+14155550100"]
    assert (main.call_flow, main.fallback_flow) == ("main", None)
    assert (
        "is under the base URL but no flow of the app"
        in (tmp_path / "Pulumi.imported.yaml").read_text()
    )
