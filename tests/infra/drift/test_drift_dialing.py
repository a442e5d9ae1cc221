"""Drift of dialing permissions against the emulator: a stack that declares them is clean once
they are applied (through the real providers), a country switched on in the Console is reported
unmanaged, a declared one switched off missing, a risk class changed is a field change; a stack
without the section never lists countries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from drift_support import Account

from infra.commands.drift import drift
from infra.plan import plan
from infra.resources import PROVIDERS
from infra.spec import load_stack_file

DIALING = {
    "inherit": False,
    "countries": [
        {"iso_code": "US"},
        {"iso_code": "GB", "risk_classes": ["low_risk", "high_risk_special"]},
    ],
}


def declare(project: Path, section: dict[str, Any]) -> None:
    path = project / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["twilio-voice:environment"]["dialing_permissions"] = section
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def apply_dialing(project: Path) -> None:
    """What `pulumi up` does for the dialing nodes: create each through its provider."""
    env = load_stack_file(project, "local")
    for node in plan(env).order:
        if node.kind.startswith("DialingPermissions"):
            provider = PROVIDERS[node.kind]()
            inputs = provider.check({}, {k: v for k, v in node.props.items() if v is not None})
            assert inputs.failures == []
            provider.create(inputs.inputs)


def report(account: Account) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    code = drift(account.project, "local", fmt="json", out=out, err=err)
    assert err.getvalue() == ""
    return code, json.loads(out.getvalue())


def dialing_findings(found: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [
        (f["status"], f["key"], [(c["field"], c["declared"], c["live"]) for c in f["changes"]])
        for f in found["findings"]
        if f["kind"].startswith("DialingPermissions")
    ]


@pytest.fixture
def dialing(account: Account) -> Account:
    declare(account.project, DIALING)
    apply_dialing(account.project)
    account.emu.admin.reset_counters()
    return account


def test_applied_dialing_permissions_are_clean(dialing: Account) -> None:
    code, found = report(dialing)
    assert code == 0
    assert dialing_findings(found) == []
    counters = dialing.emu.admin.counters()
    routes = json.dumps(counters)
    assert "DialingPermissions/Countries" in routes  # one list call for every country
    assert "/v1/Settings" in routes  # inherit is declared


def test_country_switched_on_in_the_console_is_unmanaged(dialing: Account) -> None:
    dialing.emu.admin.edit(
        "dialing_permissions_country", "CU", high_risk_tollfraud_numbers_enabled=True
    )
    code, found = report(dialing)
    assert code == 1
    assert dialing_findings(found) == [("unmanaged", "CU", [])]
    [finding] = [f for f in found["findings"] if f["key"] == "CU"]
    assert finding["fails"] is True
    assert "switch CU off" in finding["hint"]


def test_declared_country_switched_off_is_missing(dialing: Account) -> None:
    dialing.emu.admin.edit("dialing_permissions_country", "US", low_risk_numbers_enabled=False)
    code, found = report(dialing)
    assert code == 1
    assert dialing_findings(found) == [("missing", "US", [])]


def test_risk_class_changed_and_inheritance_changed(dialing: Account) -> None:
    dialing.emu.admin.edit(
        "dialing_permissions_country", "GB", high_risk_tollfraud_numbers_enabled=True
    )
    dialing.client.voice.v1.dialing_permissions.settings().update(
        dialing_permissions_inheritance=True
    )
    code, found = report(dialing)
    assert code == 1
    assert dialing_findings(found) == [
        ("changed", "GB", [("high_risk_tollfraud_numbers_enabled", False, True)]),
        ("changed", "", [("dialing_permissions_inheritance", False, True)]),
    ]


def test_stack_without_the_section_never_lists_countries(account: Account) -> None:
    account.emu.admin.edit(
        "dialing_permissions_country", "CU", high_risk_tollfraud_numbers_enabled=True
    )
    code, found = report(account)
    assert code == 0
    assert dialing_findings(found) == []
    assert "DialingPermissions" not in json.dumps(account.emu.admin.counters())
