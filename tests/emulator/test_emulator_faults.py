"""Fault injection: configured rates are honoured, draws are deterministic, "lost" stores."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from werkzeug.test import Client

from devtools.emulator_testing import RunningEmulator, running_emulator
from emulator.app import Emulator
from emulator.config import EmulatorConfig
from emulator.faults import FaultConfig, Faults

CONFIG = EmulatorConfig()
AUTH = {
    "Authorization": "Basic "
    + base64.b64encode(f"{CONFIG.account_sid}:{CONFIG.auth_token}".encode()).decode()
}


def statuses(faults: FaultConfig, calls: int) -> list[int]:
    client = Client(Emulator(CONFIG, faults=faults, numbers=[]))
    return [client.get("/voice/v1/IpRecords", headers=AUTH).status_code for _ in range(calls)]


def test_configured_rates_are_honoured() -> None:
    calls = 4000
    rates = {"429": 0.10, "500": 0.05, "503": 0.05, "lost": 0.10}
    config = FaultConfig(
        rate_429=rates["429"],
        rate_500=rates["500"],
        rate_503=rates["503"],
        rate_lost=rates["lost"],
        seed=20261125,
    )
    emulator = Emulator(CONFIG, faults=config, numbers=[])
    client = Client(emulator)
    for _ in range(calls):
        client.get("/voice/v1/IpRecords", headers=AUTH)
    counted = emulator.counters.snapshot()
    assert counted["total"] == calls
    for kind, rate in rates.items():
        expected, sigma = calls * rate, math.sqrt(calls * rate * (1 - rate))
        assert abs(counted["faults"][kind] - expected) < 4 * sigma, (kind, counted["faults"])
    # "lost" on a GET answers 500 too; nothing else fails.
    by_status = counted["statuses"]
    assert by_status["429"] == counted["faults"]["429"]
    assert by_status["503"] == counted["faults"]["503"]
    assert by_status["500"] == counted["faults"]["500"] + counted["faults"]["lost"]
    assert by_status["200"] == calls - sum(counted["faults"].values())


def test_same_seed_gives_the_same_faults() -> None:
    config = FaultConfig(rate_429=0.3, rate_503=0.2, seed=7)
    first, second = statuses(config, 200), statuses(config, 200)
    assert first == second
    assert first != statuses(FaultConfig(rate_429=0.3, rate_503=0.2, seed=8), 200)


def test_seeded_faults_do_not_depend_on_how_calls_interleave() -> None:
    # Providers work on many resources from several threads: which call gets which fault must
    # not depend on the order the emulator happens to see them in.
    config = FaultConfig(rate_429=0.3, rate_500=0.1, rate_lost=0.1, seed=11)
    paths = [f"/voice/v1/IpRecords?FriendlyName=r{i}" for i in range(20)]

    def outcomes(order: list[int]) -> dict[int, list[int]]:
        client = Client(Emulator(CONFIG, faults=config, numbers=[]))
        seen: dict[int, list[int]] = {}
        for i in order:
            seen.setdefault(i, []).append(client.get(paths[i], headers=AUTH).status_code)
        return seen

    sequential = [i for i in range(20) for _ in range(3)]  # each request, then its retries
    interleaved = [i for _ in range(3) for i in reversed(range(20))]
    first = outcomes(sequential)
    assert first == outcomes(interleaved)
    assert {s for codes in first.values() for s in codes} >= {200, 429, 500}


def test_seeded_faults_repeat_on_requests_that_name_created_resources() -> None:
    # Updates and deletes carry the SID the create returned: with a seed the SIDs are derived
    # from it, so the same run makes the same requests and meets the same faults.
    config = FaultConfig(rate_500=0.3, seed=5, methods=("POST",))

    def run() -> tuple[str, list[int]]:
        client = Client(Emulator(CONFIG, faults=FaultConfig(seed=5), numbers=[]))
        created = client.post("/trunking/v1/Trunks", data={"FriendlyName": "t"}, headers=AUTH)
        sid = created.get_json()["sid"]
        emulator = client.application
        emulator.faults.configure(config)  # type: ignore[attr-defined]
        codes = [
            client.post(
                f"/trunking/v1/Trunks/{sid}", data={"CnamLookupEnabled": "true"}, headers=AUTH
            ).status_code
            for _ in range(12)
        ]
        return sid, codes

    first = run()
    assert first == run()
    assert {500, 200} <= set(first[1])
    unseeded = Client(Emulator(CONFIG, numbers=[]))
    sids = {
        unseeded.post("/trunking/v1/Trunks", data={"FriendlyName": "t"}, headers=AUTH).get_json()[
            "sid"
        ]
        for _ in range(2)
    }
    assert len(sids) == 2  # identical creates still get distinct SIDs


def test_429_carries_retry_after_and_twilio_error() -> None:
    client = Client(Emulator(CONFIG, faults=FaultConfig(rate_429=1.0, retry_after=3), numbers=[]))
    response = client.get("/trunking/v1/Trunks", headers=AUTH)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.get_json()["code"] == 20429


def test_methods_limit_where_faults_apply() -> None:
    emulator = Emulator(CONFIG, faults=FaultConfig(rate_503=1.0, methods=("POST",)), numbers=[])
    client = Client(emulator)
    assert client.get("/voice/v1/IpRecords", headers=AUTH).status_code == 200
    response = client.post("/voice/v1/IpRecords", data={"IpAddress": "10.0.0.1"}, headers=AUTH)
    assert response.status_code == 503
    assert emulator.store.tables["ip_record"] == {}  # a 503 stores nothing


def test_response_lost_still_stores_the_change() -> None:
    with running_emulator(faults=FaultConfig(rate_lost=1.0, methods=("POST",))) as emu:
        client = emu.client()
        with pytest.raises(TwilioRestException) as info:
            client.trunking.v1.trunks.create(friendly_name="ghost", domain_name="g.pstn.twilio.com")
        assert info.value.status == 500
        trunks = client.trunking.v1.trunks.list()  # GETs are not faulted here
        assert [t.friendly_name for t in trunks] == ["ghost"]
        assert emu.admin.counters()["faults"]["lost"] == 1


def test_dropped_connection_still_stores_the_change() -> None:
    faults = FaultConfig(rate_lost=1.0, lost_mode="drop", methods=("POST",))
    with running_emulator(faults=faults) as emu:
        with pytest.raises(requests.ConnectionError):
            requests.post(
                f"{emu.base_url}/voice/v1/IpRecords",
                data={"IpAddress": "192.0.2.1", "FriendlyName": "dropped"},
                auth=(emu.account_sid, emu.auth_token),
                timeout=10,
            )
        records = emu.client().voice.v1.ip_records.list()
        assert [r.friendly_name for r in records] == ["dropped"]


def test_faults_are_set_and_read_through_the_admin_api(emu: RunningEmulator) -> None:
    emu.admin.set_faults(rate_429=1.0, seed=1)
    assert emu.admin.request("GET", "/faults")["rate_429"] == 1.0
    with pytest.raises(TwilioRestException) as info:
        emu.client().voice.v1.byoc_trunks.create(friendly_name="x")
    assert info.value.status == 429
    emu.admin.set_faults()
    assert emu.client().voice.v1.byoc_trunks.list() == []
    counters = emu.admin.counters()
    assert counters["faults"]["429"] == 1
    assert counters["routes"]["POST /voice/v1/ByocTrunks"] == 1
    assert counters["routes"]["GET /voice/v1/ByocTrunks"] == 1


def test_invalid_fault_settings_are_refused(emu: RunningEmulator) -> None:
    for body in ({"rate_429": 2}, {"rate_500": 0.6, "rate_503": 0.6}, {"latency": 5}):
        response = requests.put(f"{emu.base_url}/_admin/faults", json=body, timeout=10)
        assert response.status_code == 400
        assert "error" in response.json()


@pytest.mark.parametrize(("base", "jitter"), [(0.0, 0.0), (250.0, 0.0), (100.0, 50.0)])
def test_latency_is_added_per_call(base: float, jitter: float) -> None:
    faults = Faults(FaultConfig(latency_ms=base, latency_jitter_ms=jitter, seed=3))
    latencies = [faults.decide("GET").latency_s for _ in range(100)]
    assert all(base / 1000 <= s <= (base + jitter) / 1000 for s in latencies)
    assert (len(set(latencies)) > 1) == (jitter > 0)


def test_an_emulator_with_a_state_file_never_derives_sids(tmp_path: Path) -> None:
    # After a restart derived SIDs would start over and repeat a deleted resource's SID.
    from emulator.store import Store

    sids = set()
    for _ in range(2):
        store = Store(CONFIG.account_sid, path=tmp_path / "state.json")
        store.sid_seed = lambda: 7
        sids.add(store.new_sid("TK", "/v1/Trunks?[('FriendlyName', 't')]"))
    assert len(sids) == 2
    memory = Store(CONFIG.account_sid)
    memory.sid_seed = lambda: 7
    again = Store(CONFIG.account_sid)
    again.sid_seed = lambda: 7
    assert memory.new_sid("TK", "b") == again.new_sid("TK", "b") != memory.new_sid("TK", "b")
