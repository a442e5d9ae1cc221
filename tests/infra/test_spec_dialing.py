"""The `dialing_permissions` section: shape, validation messages with config paths, the plan."""

from __future__ import annotations

from typing import Any

import pytest
from spec_samples import valid_spec

from infra.plan import plan
from infra.spec import SpecError, load_environment


def with_dialing(section: dict[str, Any]) -> dict[str, Any]:
    spec = valid_spec()
    spec["dialing_permissions"] = section
    return spec


def issues(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_environment(raw, "dev", secrets_decrypted=True)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_valid_section_plans_a_node_per_country_and_the_settings() -> None:
    env = load_environment(
        with_dialing(
            {
                "inherit": False,
                "countries": [
                    {"iso_code": "US"},
                    {"iso_code": "GB", "risk_classes": ["low_risk", "high_risk_special"]},
                ],
            }
        ),
        "dev",
        secrets_decrypted=True,
    )
    assert env.dialing_permissions is not None
    nodes = plan(env).nodes
    countries = [n for n in nodes if n.kind == "DialingPermissionsCountry"]
    assert [(n.name, n.key) for n in countries] == [
        ("dialing-permissions/US", "US"),
        ("dialing-permissions/GB", "GB"),
    ]
    assert dict(countries[1].props) == {
        "iso_code": "GB",
        "low_risk_numbers_enabled": True,
        "high_risk_special_numbers_enabled": True,
        "high_risk_tollfraud_numbers_enabled": False,
    }
    [settings] = [n for n in nodes if n.kind == "DialingPermissionsSettings"]
    assert settings.name == "dialing-permissions"
    assert dict(settings.props) == {
        "dialing_permissions_inheritance": False,
        "managed_countries": ["GB", "US"],
        "other_countries_enabled": [],
    }


def test_validate_summary_names_the_countries(tmp_path: Any) -> None:
    import io

    from spec_samples import write_project

    from infra.commands.validate import validate

    write_project(
        tmp_path,
        "dev",
        with_dialing(
            {
                "inherit": False,
                "countries": [
                    {"iso_code": "US"},
                    {"iso_code": "GB", "risk_classes": ["low_risk", "high_risk_special"]},
                ],
            }
        ),
    )
    out, err = io.StringIO(), io.StringIO()
    assert validate(tmp_path, "dev", out=out, err=err) == 0, err.getvalue()
    assert (
        "  dialing   US (low_risk); GB (low_risk, high_risk_special); every other country off; "
        "inherit: false\n"
    ) in out.getvalue()


def test_no_section_plans_nothing() -> None:
    env = load_environment(valid_spec(), "dev", secrets_decrypted=True)
    assert not [n for n in plan(env).nodes if n.kind.startswith("DialingPermissions")]


def test_empty_section_switches_every_country_off() -> None:
    env = load_environment(with_dialing({}), "dev", secrets_decrypted=True)
    kinds = [n.kind for n in plan(env).nodes if n.kind.startswith("DialingPermissions")]
    assert kinds == ["DialingPermissionsSettings"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"countries": [{"iso_code": "ZZ"}]},
            "dialing_permissions.countries[0].iso_code: 'ZZ' is not an ISO 3166-1 alpha-2",
        ),
        (
            {"countries": [{"iso_code": "gb"}]},
            "write it in capitals (GB)",
        ),
        (
            {"countries": [{"iso_code": "GB", "risk_classes": ["premium"]}]},
            "dialing_permissions.countries[0].risk_classes[0]",
        ),
        (
            {"countries": [{"iso_code": "GB", "risk_classes": []}]},
            "dialing_permissions.countries[0].risk_classes: is empty",
        ),
        (
            {"countries": [{"iso_code": "GB", "risk_classes": ["low_risk", "low_risk"]}]},
            "names a risk class twice",
        ),
        (
            {"inherit": True, "countries": [{"iso_code": "GB"}]},
            "dialing_permissions: inherit: true makes Twilio use the parent account's",
        ),
        (
            {"countries": [{"iso_code": "GB"}, {"iso_code": "GB"}]},
            "dialing_permissions.countries[1].iso_code: duplicate country 'GB' "
            "(first at dialing_permissions.countries[0].iso_code)",
        ),
        (
            {"countries": [{"iso_code": "GB", "premium": True}]},
            "dialing_permissions.countries[0].premium",
        ),
    ],
)
def test_invalid_sections_name_the_config_path(section: dict[str, Any], expected: str) -> None:
    found = issues(with_dialing(section))
    assert any(expected in line for line in found), found
