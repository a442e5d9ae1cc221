"""The benchmark's own logic: wrk output parsing, the signed menu scenario, the target verdicts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from devtools import bench
from webhook_app.signature import is_valid_signature

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/voice/inbound
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.05s
  46920 requests in 10.00s, 30.12MB read
Requests/sec:   4692.00
"""

SIGN_PY = """import os
PARAMS = {"CallSid": "CA" + "f" * 32, "From": "+12125550199", "CalledCity": "SAN FRANCISCO"}
assert os.environ["TWILIO_AUTH_TOKEN"] and os.environ["PUBLIC_BASE_URL"]
LUA = "-- shared scenario"
if __name__ == "__main__":
    with open("post.lua", "w") as f:
        f.write(LUA)
"""


def test_wrk_output_gives_rate_and_latencies_in_ms() -> None:
    assert bench.parse_wrk(WRK_OUTPUT) == (4692.0, 0.812, 1050.0)
    assert bench.parse_requests(WRK_OUTPUT) == 46920


def test_wrk_output_with_failed_requests_is_an_error() -> None:
    with pytest.raises(ValueError, match="3 requests failed"):
        bench.parse_wrk(WRK_OUTPUT + "  Non-2xx or 3xx responses: 3\n")


def test_menu_scenario_is_signed_for_the_menu_url(tmp_path: Path) -> None:
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    (bench_dir / "sign.py").write_text(SIGN_PY)
    lua = bench.write_menu_lua(bench_dir, tmp_path / "work", 8123).read_text()
    signature = lua.split('X-Twilio-Signature"] = "')[1].split('"')[0]
    body = lua.split('wrk.body = "')[1].split('"')[0]
    pairs = parse_qsl(body, keep_blank_values=True)
    assert dict(pairs)["Digits"] == "7"  # no menu option: a session read and write per request
    assert dict(pairs)["CalledCity"] == "SAN FRANCISCO"  # the shared call's fields
    token = bench.TOKEN.encode()
    assert is_valid_signature(token, "http://127.0.0.1:8123/voice/menu", pairs, signature)
    assert not is_valid_signature(token, "http://127.0.0.1:8123/voice/inbound", pairs, signature)


def test_targets_report_met_and_missed() -> None:
    rows = {
        "app-granian": (4000.0, 3.0, 9.0, 4000.0),
        "seed_express": (2000.0, 5.0, 18.0, 2000.0),
        "seed_fastapi": (1700.0, 9.0, 18.0, 1700.0),
    }
    assert bench.target_lines(rows) == [
        "target >= 1.3x seed_express: 2.00x, met",
        "target >= 2.5x seed_fastapi: 2.35x, NOT met",
        "target p99 <= 10 ms: 9.00 ms, met",
    ]
    assert bench.target_lines({"seed_fastapi": rows["seed_fastapi"]}) == []
