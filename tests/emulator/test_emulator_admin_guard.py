"""The admin API is development only: no foreign Host/Origin, JSON writes, a token off loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from devtools.emulator_testing import RunningEmulator
from emulator.app import Emulator
from emulator.config import EmulatorConfig, is_loopback

REPO = Path(__file__).resolve().parents[2]


def _port(emu: RunningEmulator) -> str:
    return emu.base_url.rsplit(":", 1)[1]


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "10.0.0.7:{port}", "a b"],
)
def test_a_foreign_host_is_refused_with_403(emu: RunningEmulator, host: str) -> None:
    """DNS rebinding: the page's own name resolves to 127.0.0.1 and its script reads answers."""
    header = host.format(port=_port(emu))
    for method, path in (("GET", "/_admin/state"), ("POST", "/_admin/reset")):
        response = requests.request(
            method, f"{emu.base_url}{path}", headers={"Host": header}, json={}, timeout=10
        )
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert f"Host {header!r}" in error
        assert "127.0.0.1" in error


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST"]
)
def test_loopback_hosts_are_served(emu: RunningEmulator, host: str) -> None:
    headers = {"Host": host.format(port=_port(emu))}
    response = requests.get(f"{emu.base_url}/_admin/counters", headers=headers, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://10.0.0.7:4010"])
def test_a_foreign_origin_is_refused_with_403(emu: RunningEmulator, origin: str) -> None:
    response = requests.put(
        f"{emu.base_url}/_admin/faults",
        headers={"Origin": origin},
        json={"rate_500": 1.0},
        timeout=10,
    )
    assert response.status_code == 403
    assert f"Origin {origin!r}" in response.json()["error"]
    assert emu.admin.request("GET", "/faults")["rate_500"] == 0.0


def test_a_loopback_origin_is_served(emu: RunningEmulator) -> None:
    headers = {"Origin": "http://localhost:3000"}
    response = requests.get(f"{emu.base_url}/_admin/counts", headers=headers, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body"),
    [
        # What a cross-site <form> or fetch(no-cors) can send without a CORS preflight.
        ("PUT", "/_admin/faults", "text/plain", '{"rate_500": 1}'),
        ("POST", "/_admin/faults", "application/x-www-form-urlencoded", '{"rate_500": 1}'),
        ("POST", "/_admin/reset", "multipart/form-data; boundary=x", "--x--"),
        ("POST", "/_admin/reset", None, None),
        ("POST", "/_admin/numbers", "text/plain", '{"count": 3}'),
        ("DELETE", "/_admin/counters", "text/plain", "{}"),
    ],
)
def test_admin_writes_must_be_json(
    emu: RunningEmulator, method: str, path: str, content_type: str | None, body: str | None
) -> None:
    emu.client().trunking.v1.trunks.create(friendly_name="kept")
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.request(
        method, f"{emu.base_url}{path}", data=body, headers=headers, timeout=10
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert emu.admin.request("GET", "/faults")["rate_500"] == 0.0
    assert emu.admin.request("GET", "/counts")["trunk"] == 1
    assert emu.admin.counters()["total"] == 1


def test_json_writes_and_bodiless_deletes_still_work(emu: RunningEmulator) -> None:
    put = requests.put(f"{emu.base_url}/_admin/faults", json={"rate_429": 0.5}, timeout=10)
    assert put.status_code == 200
    typed = {"Content-Type": "application/json; charset=utf-8"}
    assert requests.post(f"{emu.base_url}/_admin/reset", headers=typed, timeout=10).ok
    assert requests.delete(f"{emu.base_url}/_admin/counters", timeout=10).status_code == 200
    emu.admin.reset()
    emu.admin.set_faults()


def test_loopback_names_and_addresses() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.7", "example.com", "localhost.example", ""):
        assert not is_loopback(host), host


def test_the_bind_host_is_an_admin_host_too() -> None:
    config = EmulatorConfig(bind_host="emulator", admin_token="t")
    assert config.admin_host_allowed("emulator")
    assert config.admin_host_allowed("127.0.0.1")
    assert not config.admin_host_allowed("evil.example")


def test_beyond_loopback_needs_an_admin_token() -> None:
    with pytest.raises(ValueError, match="TWILIO_EMULATOR_ADMIN_TOKEN"):
        Emulator(EmulatorConfig(bind_host="0.0.0.0"))
    Emulator(EmulatorConfig(bind_host="0.0.0.0", admin_token="s3cret"))


def _emulator(*args: str, token: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_EMULATOR_ADMIN_TOKEN"}
    if token:
        env["TWILIO_EMULATOR_ADMIN_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_the_cli_refuses_to_listen_beyond_loopback_without_a_token() -> None:
    proc = _emulator("--host", "0.0.0.0", token=None)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the emulator started on 0.0.0.0 without an admin token")
    assert proc.returncode == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("emulator: cannot start: listening on 0.0.0.0")
    assert "TWILIO_EMULATOR_ADMIN_TOKEN" in lines[0]


def test_the_cli_warns_when_it_listens_beyond_loopback() -> None:
    proc = _emulator("--host", "0.0.0.0", token="s3cret")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "listening on http://0.0.0.0:" in first
        port = first.rsplit(":", 1)[1].strip()
        base = f"http://127.0.0.1:{port}/_admin/counters"
        assert requests.get(base, timeout=10).status_code == 401
        assert requests.get(base, headers={"X-Admin-Token": "s3cret"}, timeout=10).ok
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    warning = next(line for line in err.splitlines() if "warning" in line)
    assert "Development only" in warning
    assert "beyond loopback" in warning


def test_help_says_development_only() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert "Development only" in " ".join(result.stdout.split())
