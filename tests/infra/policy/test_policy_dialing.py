"""Dialing-permissions guardrails: toll-fraud ranges refused in production (mandatory), countries
outside the policy config's allowlist warned about (advisory)."""

from __future__ import annotations

from typing import Any

import pytest
from policy_support import analyze, good_prod_spec, run_program, stack_spec

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

TOLLFRAUD = {
    "countries": [
        {"iso_code": "US"},
        {"iso_code": "GB", "risk_classes": ["low_risk", "high_risk_tollfraud"]},
    ]
}


def with_dialing(spec: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    spec["dialing_permissions"] = section
    return spec


def test_tollfraud_refused_in_production() -> None:
    diags = analyze(run_program("prod", with_dialing(good_prod_spec(), TOLLFRAUD)))
    assert diags == [
        (
            "voice-prod-no-tollfraud-dialing",
            "mandatory",
            "dialing_permissions country GB allows high_risk_tollfraud in production: these are "
            "the number ranges international revenue share fraud dials through a leaked SIP "
            "credential; remove high_risk_tollfraud from its risk_classes",
        )
    ]


def test_tollfraud_allowed_outside_production_and_low_risk_passes_in_prod() -> None:
    assert analyze(run_program("dev", with_dialing(stack_spec("dev"), TOLLFRAUD))) == []
    low = {"countries": [{"iso_code": "US"}, {"iso_code": "GB"}]}
    assert analyze(run_program("prod", with_dialing(good_prod_spec(), low))) == []


def test_countries_outside_the_allowlist_warn() -> None:
    records = run_program(
        "dev",
        with_dialing(stack_spec("dev"), {"countries": [{"iso_code": "US"}, {"iso_code": "CU"}]}),
    )
    config = {"voice-dialing-allowlist": {"allowedCountries": ["US", "CA", "GB"]}}
    diags = analyze(records, config)
    assert [(name, level) for name, level, _ in diags] == [("voice-dialing-allowlist", "advisory")]
    assert diags[0][2].startswith("dialing_permissions country CU is not in the policy's")
    # no allowlist configured: nothing to compare with
    assert analyze(records) == []
