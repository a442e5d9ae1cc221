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


def test_each_app_row_is_compared_with_its_baseline_row() -> None:
    rows = {
        "app-granian": (9000.0, 2.0, 4.0, 9000.0),
        "app-granian-declared": (8000.0, 2.0, 4.0, 8500.0),
        "app-granian@abc123": (10000.0, 2.0, 3.0, 10000.0),
    }
    lines = bench.comparison_lines(rows)
    assert lines == [
        "app-granian-declared vs app-granian: req/s 0.89x (NOT within 10%), "
        "req/CPU-s 0.94x (within 10%), p99 4.00 vs 4.00 ms",
        "app-granian vs app-granian@abc123: req/s 0.90x (within 10%), "
        "req/CPU-s 0.90x (within 10%), p99 4.00 vs 3.00 ms",
        "app-granian-declared vs app-granian@abc123: req/s 0.80x (NOT within 10%), "
        "req/CPU-s 0.85x (NOT within 10%), p99 4.00 vs 3.00 ms",
    ]


def test_baseline_rows_run_the_old_tree_first_on_the_path(tmp_path: Path) -> None:
    chosen = bench.servers(tmp_path, tmp_path, tmp_path, ["app-granian", "app-granian-menu"])
    rows = bench.baseline_servers(chosen, "abc123", tmp_path / "baseline")
    assert [r.name for r in rows] == ["app-granian@abc123", "app-granian-menu@abc123"]
    assert all(r.env["PYTHONPATH"] == str(tmp_path / "baseline") for r in rows)
    assert [r.path for r in rows] == [bench.INBOUND, bench.MENU]
