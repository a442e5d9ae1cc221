"""The emulator against Twilio's official OpenAPI specs: every request the SDK-driven emulator
tests send and every 2xx response they get is validated with openapi-core; zero violations,
and every operation the providers use must have been exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from contract_validation import Report, Specs, read_records, validate

from emulator.app import OPERATION_METHODS
from emulator.catalog import KINDS
from emulator.config import RECORD_ENV

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("contract")]


def required_operations(specs: Specs) -> set[str]:
    """`sub:operationId` of every operation the emulator serves (= what the providers use)."""
    required = set()
    for kind in KINDS:
        for operation in kind.operations:
            template = kind.list_path if operation in ("list", "create") else kind.instance_path
            op = specs.operation_for_template(kind.sub, OPERATION_METHODS[operation], template)
            assert op is not None, f"{kind.name} {operation}: {template} is not in the specs"
            required.add(f"{kind.sub}:{op.operation_id}")
    return required


def print_report(title: str, report: Report) -> None:
    print(f"\n{title}: {report.checked} records, statuses {dict(sorted(report.statuses.items()))}")
    print(f"  distinct operations exercised with valid 2xx traffic: {len(report.exercised)}")
    for name, count in sorted(report.exercised.items()):
        print(f"    {name}: {count}")
    if report.cleared:
        print("  empty values sent to clear a field (not modelled by the spec schemas):")
        for name, count in sorted(report.cleared.items()):
            print(f"    {name}: {count}")
    for violation in report.violations[:50]:
        print(f"  VIOLATION {violation[:400]}")


def test_sdk_driven_emulator_traffic_conforms(specs: Specs, tmp_path: Path) -> None:
    traffic = tmp_path / "traffic.jsonl"
    # The emulator's SDK-driven tests, re-run with traffic recording on (the fuzz test sends
    # deliberately malformed input through werkzeug's test client and records nothing).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/emulator",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "not fuzz and not rates_are_honoured",
        ],
        cwd=ROOT,
        env={**os.environ, RECORD_ENV: str(traffic)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = validate(specs, read_records([traffic]))
    print_report("emulator SDK tests", report)
    assert report.violations == []
    missing = required_operations(specs) - set(report.exercised)
    assert not missing, f"operations never exercised with valid 2xx traffic: {sorted(missing)}"


def test_session_recording_conforms(specs: Specs) -> None:
    """Any test session run with TWILIO_EMULATOR_RECORD set leaves traffic to check here."""
    recorded = os.environ.get(RECORD_ENV)
    if not recorded or not Path(recorded).exists():
        pytest.skip(f"{RECORD_ENV} is not set for this session")
    report = validate(specs, read_records([Path(recorded)]))
    print_report(f"session recording {recorded}", report)
    assert report.violations == []


def record(path: str, status: int, body: object, method: str = "GET") -> dict[str, object]:
    return {
        "method": method,
        "path": path,
        "query": "",
        "request_content_type": "",
        "request_body": "",
        "status": status,
        "response_content_type": "application/json",
        "response_body": json.dumps(body),
    }


GOOD_TRUNK = {
    "account_sid": "AC" + "0" * 32,
    "domain_name": None,
    "disaster_recovery_method": "POST",
    "disaster_recovery_url": None,
    "friendly_name": "t",
    "secure": False,
    "recording": {"mode": "do-not-record", "trim": "do-not-trim"},
    "transfer_mode": "disable-all",
    "transfer_caller_id": "from-transferee",
    "cnam_lookup_enabled": False,
    "auth_type": None,
    "symmetric_rtp_enabled": False,
    "auth_type_set": [],
    "date_created": "2026-01-01T00:00:00Z",
    "date_updated": "2026-01-01T00:00:00Z",
    "sid": "TK" + "a" * 32,
    "url": "http://127.0.0.1:1/trunking/v1/Trunks/TK" + "a" * 32,
    "links": {},
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"sid": "TKnot-hex"}, "does not match"),
        ({"transfer_mode": "sometimes"}, "is not one of"),
        ({"date_created": "Mon, 20 Jul 2015 17:27:10 +0000"}, "date-time"),
        ({"extra": 1}, "undocumented properties ['extra']"),
        ({"secure": None, "friendly_name": 3}, "is not of type"),
    ],
)
def test_the_checker_catches_violations(
    specs: Specs, change: dict[str, object], expected: str | None
) -> None:
    path = "/trunking/v1/Trunks/TK" + "a" * 32
    body = {**GOOD_TRUNK, **change}
    report = validate(specs, [record(path, 200, body)])
    if expected is None:
        assert report.violations == []
        assert dict(report.exercised) == {"trunking:FetchTrunk": 1}
    else:
        assert any(expected in v for v in report.violations), report.violations


def test_the_checker_requires_documented_properties_and_error_shape(specs: Specs) -> None:
    path = "/trunking/v1/Trunks/TK" + "a" * 32
    without_url = {k: v for k, v in GOOD_TRUNK.items() if k != "url"}
    assert validate(specs, [record(path, 200, without_url)]).violations
    assert validate(specs, [record(path, 404, {"code": 20404})]).violations
    assert validate(specs, [record("/trunking/v1/Nope", 200, {})]).violations
