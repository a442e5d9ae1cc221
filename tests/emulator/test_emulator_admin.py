"""Admin API (out-of-band edits, reset, dump, counts), recording, concurrency and the CLI."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from devtools.emulator_testing import RunningEmulator, emulator_process, running_emulator

PASSWORD = "IWasAtSignal2018"


def test_out_of_band_edit_is_seen_by_the_api(emu: RunningEmulator, client: Any) -> None:
    trunk = client.trunking.v1.trunks.create(friendly_name="declared")
    edited = emu.admin.edit("trunk", trunk.sid, friendly_name="console edit", secure=True)
    assert edited["friendly_name"] == "console edit"
    fetched = client.trunking.v1.trunks(trunk.sid).fetch()
    assert (fetched.friendly_name, fetched.secure) == ("console edit", True)


def test_out_of_band_delete_cascades(emu: RunningEmulator, account: Any) -> None:
    cl = account.sip.credential_lists.create(friendly_name="u")
    cred = account.sip.credential_lists(cl.sid).credentials.create(username="a", password=PASSWORD)
    domain = account.sip.domains.create(domain_name="oob.sip.twilio.com")
    account.sip.domains(domain.sid).credential_list_mappings.create(credential_list_sid=cl.sid)
    emu.admin.delete("sip_domain", domain.sid)
    assert emu.admin.resources("credential_list_mapping") == []
    emu.admin.delete("sip_credential_list", cl.sid)  # the Console may delete anything
    assert emu.admin.resources("sip_credential") == []
    with pytest.raises(TwilioRestException):
        account.sip.credential_lists(cl.sid).credentials(cred.sid).fetch()


def test_admin_rejects_unknown_kinds_and_fields(emu: RunningEmulator) -> None:
    base = f"{emu.base_url}/_admin/resources"
    assert requests.get(f"{base}/nope", timeout=10).status_code == 404
    sid = emu.admin.resources("incoming_phone_number")[0]["sid"]
    response = requests.patch(f"{base}/incoming_phone_number/{sid}", json={"x": 1}, timeout=10)
    assert response.status_code == 400
    assert "unknown fields" in response.json()["error"]
    assert requests.get(f"{base}/trunk/TK{'0' * 32}", timeout=10).status_code == 404


def test_reset_and_state_dump(emu: RunningEmulator, account: Any) -> None:
    cl = account.sip.credential_lists.create(friendly_name="u")
    account.sip.credential_lists(cl.sid).credentials.create(username="a", password=PASSWORD)
    dump = json.dumps(emu.admin.state())
    assert PASSWORD not in dump  # only a digest is kept
    assert "sha256:" in dump
    counts = emu.admin.request("GET", "/counts")
    assert counts["sip_credential"] == 1
    emu.admin.reset()
    assert "sip_credential" not in emu.admin.request("GET", "/counts")
    assert emu.admin.request("GET", "/counts")["incoming_phone_number"] > 0


def test_numbers_can_be_added(emu: RunningEmulator, account: Any) -> None:
    before = len(account.incoming_phone_numbers.list())
    assert emu.admin.add_numbers(["+14155550177"], count=3) == 4
    assert len(account.incoming_phone_numbers.list()) == before + 4


def test_admin_token_is_enforced() -> None:
    with emulator_process(env={"TWILIO_EMULATOR_ADMIN_TOKEN": "s3cret"}) as emu:
        assert requests.get(f"{emu.base_url}/_admin/counters", timeout=10).status_code == 401
        assert emu.admin.counters()["total"] == 0  # the helper sends the token


def test_recording_masks_secrets_and_skips_admin(tmp_path: Path) -> None:
    traffic = tmp_path / "t.jsonl"
    with running_emulator(record_path=traffic) as emu:
        account = emu.client().api.v2010.accounts(emu.account_sid)
        cl = account.sip.credential_lists.create(friendly_name="u")
        account.sip.credential_lists(cl.sid).credentials.create(username="a", password=PASSWORD)
        emu.admin.counters()
    text = traffic.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["status"] for r in records] == [201, 201]
    assert PASSWORD not in text
    assert emu.auth_token not in text
    assert "Password=masked" in records[1]["request_body"]


def test_concurrent_creates_keep_names_unique(emu: RunningEmulator) -> None:
    def create(_: int) -> int:
        client = emu.client()
        try:
            client.api.v2010.accounts(emu.account_sid).sip.domains.create(
                domain_name="race.sip.twilio.com"
            )
        except TwilioRestException as exc:
            return int(exc.code)
        return 201

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(16)))
    assert sorted(results) == [201] + [21232] * 15


def test_cli_process_serves_seeds_and_persists(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    seeds = tmp_path / "numbers.txt"
    seeds.write_text("main: '+14155550142'\nother: +442079460999\n")
    args = ("--state", str(state), "--seed-file", str(seeds), "--seed-numbers", "5")
    with emulator_process(*args) as emu:
        account = emu.client().api.v2010.accounts(emu.account_sid)
        numbers = {n.phone_number for n in account.incoming_phone_numbers.list()}
        assert {"+14155550142", "+442079460999", "+15005550006", "+12015550004"} <= numbers
        sid = emu.client().voice.v1.connection_policies.create(friendly_name="kept").sid
    assert state.exists()
    with emulator_process("--state", str(state)) as again:
        assert again.client().voice.v1.connection_policies(sid).fetch().friendly_name == "kept"


def test_cli_reports_a_bad_state_file(tmp_path: Path) -> None:
    state = tmp_path / "broken.json"
    state.write_text("{not json")
    with (
        pytest.raises(RuntimeError, match="cannot read emulator state"),
        emulator_process("--state", str(state)),
    ):
        pass
