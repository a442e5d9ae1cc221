"""The program registers dialing permissions: one resource per declared country, one settings
resource per stack, under the component, with the account guard, as the engine would see them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from program_mocks import ROOT, EngineConfig, ProgramRun

from infra.kinds import KIND_META
from infra.program import COMPONENT_NAME

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

DIALING = {
    "inherit": False,
    "countries": [
        {"iso_code": "US"},
        {"iso_code": "GB", "risk_classes": ["low_risk", "high_risk_special"]},
    ],
}


def prod_spec_with_dialing() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    spec: dict[str, Any] = doc["config"]["twilio-voice:environment"]
    spec["dialing_permissions"] = DIALING
    return spec


def test_dialing_permissions_registered(
    run_config: Callable[[str, EngineConfig], ProgramRun],
    stack_config: Callable[..., EngineConfig],
) -> None:
    run = run_config("prod", stack_config("prod", prod_spec_with_dialing()))
    countries = run.of_kind("DialingPermissionsCountry")
    assert sorted(r.name for r in countries) == [
        "dialing-permissions/GB",
        "dialing-permissions/US",
    ]
    gb = run.by_name("dialing-permissions/GB")
    assert gb.typ == KIND_META["DialingPermissionsCountry"].type_token
    flags = [k for k in gb.inputs if k.endswith("_enabled")]
    assert {k: gb.plain(k) for k in ("iso_code", *flags)} == {
        "iso_code": "GB",
        "low_risk_numbers_enabled": True,
        "high_risk_special_numbers_enabled": True,
        "high_risk_tollfraud_numbers_enabled": False,
    }
    assert gb.plain("expected_account_sid").startswith("AC")
    assert gb.parent.endswith(f"VoiceEnvironment::{COMPONENT_NAME}")
    [settings] = run.of_kind("DialingPermissionsSettings")
    assert settings.name == "dialing-permissions"
    assert settings.plain("dialing_permissions_inheritance") is False
    assert settings.plain("managed_countries") == ["GB", "US"]
    assert settings.plain("other_countries_enabled") == []
    assert not settings.protect


def test_stacks_without_the_section_register_none(
    run_stack: Callable[[str], ProgramRun],
) -> None:
    run = run_stack("prod")
    assert not [r for r in run.records if r.kind.startswith("DialingPermissions")]
