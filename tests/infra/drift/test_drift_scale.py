"""Drift over a 1,000-number spec makes O(pages) list calls, not one call per resource."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from drift_support import ROOT

from devtools.emulator_testing import running_emulator
from emulator.numbers import generated_numbers
from infra.commands.drift import drift

DECLARED = 1000
OWNED = 1200  # 200 more than declared: two pages of 1000
TOP_LEVEL_LISTS = 10  # numbers, apps, domains, lists, ACLs, trunks, BYOC, policies, IPs, mappings


@pytest.mark.slow
def test_thousand_numbers_cost_pages_not_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned = list(generated_numbers(OWNED))
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    with running_emulator(numbers=owned) as emu:
        spec = {
            "public_base_url": "https://voice.example.com",
            "credentials": {"account_sid": emu.env()["TWILIO_ACCOUNT_SID"]},
            "numbers": [{"e164": n, "flow": "ivr_main"} for n in owned[:DECLARED]],
        }
        (tmp_path / "Pulumi.scale.yaml").write_text(
            yaml.safe_dump({"config": {"twilio-voice:environment": spec}})
        )
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        out, err = io.StringIO(), io.StringIO()
        code = drift(tmp_path, "scale", fmt="json", out=out, err=err)
        counters = emu.admin.counters()
    assert code == 1, err.getvalue()  # the numbers have no voice URL yet: all "changed"
    report = json.loads(out.getvalue())
    number_pages = counters["routes"][
        "GET /api/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
    ]
    print(f"\n{DECLARED} declared / {OWNED} owned numbers: {counters['total']} API calls")
    assert number_pages == 2
    assert counters["total"] == TOP_LEVEL_LISTS + number_pages - 1
    assert report["api_calls"] == counters["total"]
    assert report["counts"] == {"missing": 0, "changed": DECLARED, "unmanaged": OWNED - DECLARED}
