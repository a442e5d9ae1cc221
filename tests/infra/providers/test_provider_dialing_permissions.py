"""Dialing permissions providers against the emulator: a country's risk classes and the account
settings that switch every undeclared country off; create, read, no re-diff, update, a Console
edit seen by read, destroy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devtools.emulator_testing import RunningEmulator
from infra.resources.base import TwilioProvider
from infra.resources.kind import PROVIDER_KEY

Make = Callable[[str], TwilioProvider[Any]]


def country(client: Any, iso: str) -> Any:
    return client.voice.v1.dialing_permissions.countries(iso).fetch()


def enabled(client: Any) -> set[str]:
    countries = client.voice.v1.dialing_permissions.countries.list(page_size=1000)
    return {
        c.iso_code
        for c in countries
        if c.low_risk_numbers_enabled
        or c.high_risk_special_numbers_enabled
        or c.high_risk_tollfraud_numbers_enabled
    }


def test_country_lifecycle(provider: Make, client: Any, emu: RunningEmulator) -> None:
    p = provider("DialingPermissionsCountry")
    inputs = {"iso_code": "GB", "low_risk_numbers_enabled": True, PROVIDER_KEY: "blob"}
    checked = p.check({}, inputs)
    assert checked.failures == []
    created = p.create(checked.inputs)
    assert created.id == "GB"
    outs = created.outs
    assert outs["low_risk_numbers_enabled"] is True
    assert outs["high_risk_special_numbers_enabled"] is False
    assert outs["account_sid"] == emu.account_sid
    assert country(client, "GB").low_risk_numbers_enabled is True

    read = p.read("GB", outs)
    assert read.id == "GB"
    assert {k: read.outs[k] for k in outs} == outs
    assert p.diff("GB", outs, checked.inputs).changes is False

    news = {**checked.inputs, "high_risk_special_numbers_enabled": True}
    diff = p.diff("GB", outs, news)
    assert diff.changes is True
    assert diff.replaces == []
    updated = p.update("GB", outs, news).outs
    assert updated["high_risk_special_numbers_enabled"] is True
    assert country(client, "GB").high_risk_special_numbers_enabled is True

    # A Console edit is seen by read, and diffs against the declared inputs.
    emu.admin.edit("dialing_permissions_country", "GB", high_risk_tollfraud_numbers_enabled=True)
    refreshed = p.read("GB", updated).outs
    assert refreshed["high_risk_tollfraud_numbers_enabled"] is True
    assert p.diff("GB", refreshed, news).changes is True

    # Changing the country replaces the resource.
    assert p.diff("GB", updated, {**news, "iso_code": "IE"}).replaces == ["iso_code"]

    p.delete("GB", refreshed)
    p.delete("GB", refreshed)  # twice is fine
    gb = country(client, "GB")
    assert not gb.low_risk_numbers_enabled
    assert not gb.high_risk_special_numbers_enabled
    assert not gb.high_risk_tollfraud_numbers_enabled


def test_country_check_rejects_bad_codes(provider: Make) -> None:
    p = provider("DialingPermissionsCountry")
    failures = p.check({}, {"iso_code": "gbr"}).failures
    assert [f.property for f in failures] == ["iso_code"]


def test_settings_switch_every_undeclared_country_off(
    provider: Make, client: Any, emu: RunningEmulator
) -> None:
    assert enabled(client) == {"US", "CA"}  # a new account's defaults
    countries = provider("DialingPermissionsCountry")
    for iso in ("US", "GB"):
        countries.create({"iso_code": iso, "low_risk_numbers_enabled": True})
    settings = provider("DialingPermissionsSettings")
    inputs = settings.check(
        {}, {"managed_countries": ["GB", "US"], "other_countries_enabled": []}
    ).inputs
    created = settings.create(inputs)
    assert created.id == "dialing-permissions"
    assert created.outs["other_countries_enabled"] == []
    assert enabled(client) == {"US", "GB"}  # Canada, not declared, is off
    assert settings.diff(created.id, created.outs, inputs).changes is False
    read = settings.read(created.id, created.outs)
    assert read.outs["other_countries_enabled"] == []
    assert settings.diff(created.id, read.outs, inputs).changes is False

    # A country switched on in the Console: read reports it, and the diff says so.
    emu.admin.edit("dialing_permissions_country", "CU", high_risk_tollfraud_numbers_enabled=True)
    read = settings.read(created.id, created.outs)
    assert read.outs["other_countries_enabled"] == ["CU"]
    diff = settings.diff(created.id, read.outs, inputs)
    assert diff.changes is True
    assert diff.replaces == []
    # `pulumi up --refresh` updates it: Cuba is off again.
    assert settings.update(created.id, read.outs, inputs).outs["other_countries_enabled"] == []
    assert enabled(client) == {"US", "GB"}

    # Destroy leaves the countries alone (they are the country resources' business).
    settings.delete(created.id, created.outs)
    assert enabled(client) == {"US", "GB"}


def test_settings_inheritance(provider: Make, client: Any) -> None:
    settings = provider("DialingPermissionsSettings")
    dp = client.voice.v1.dialing_permissions.settings()
    inputs = settings.check(
        {},
        {
            "dialing_permissions_inheritance": False,
            "managed_countries": ["US", "CA"],
            "other_countries_enabled": [],
        },
    ).inputs
    created = settings.create(inputs)
    assert created.outs["dialing_permissions_inheritance"] is False
    assert dp.fetch().dialing_permissions_inheritance is False
    assert settings.diff(created.id, created.outs, inputs).changes is False
    dp.update(dialing_permissions_inheritance=True)  # a Console edit
    read = settings.read(created.id, created.outs)
    assert read.outs["dialing_permissions_inheritance"] is True
    assert settings.diff(created.id, read.outs, inputs).changes is True
    settings.update(created.id, read.outs, inputs)
    assert dp.fetch().dialing_permissions_inheritance is False
    settings.delete(created.id, created.outs)
    assert dp.fetch().dialing_permissions_inheritance is True  # Twilio's default again
