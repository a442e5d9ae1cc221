"""Voice Dialing Permissions (countries, bulk updates, settings) and Monitor alerts, through the
official SDK against the emulator (the contract test re-runs these with traffic recording)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from devtools.emulator_testing import RunningEmulator


def test_countries_are_a_realistic_list(client: Any) -> None:
    countries = client.voice.v1.dialing_permissions.countries.list(page_size=1000)
    by_iso = {c.iso_code: c for c in countries}
    assert len(countries) == 245
    gb = by_iso["GB"]
    assert (gb.name, gb.continent, gb.country_codes) == ("United Kingdom", "EUROPE", ["+44"])
    assert by_iso["US"].continent == "NORTH_AMERICA"
    assert by_iso["US"].low_risk_numbers_enabled is True  # Twilio's default for a new account
    assert not any(c.high_risk_tollfraud_numbers_enabled for c in countries)
    assert {c.iso_code for c in countries if c.low_risk_numbers_enabled} == {"US", "CA"}
    one = client.voice.v1.dialing_permissions.countries("DE").fetch()
    assert (one.iso_code, one.name, one.continent) == ("DE", "Germany", "EUROPE")
    assert one.links["highrisk_special_prefixes"].endswith("/Countries/DE/HighRiskSpecialPrefixes")


def test_country_filters_and_pages(client: Any) -> None:
    countries = client.voice.v1.dialing_permissions.countries
    assert [c.iso_code for c in countries.list(iso_code="FR")] == ["FR"]
    oceania = countries.list(continent="OCEANIA")
    assert {"AU", "NZ"} <= {c.iso_code for c in oceania}
    assert {c.iso_code for c in countries.list(country_code="+1")} >= {"US", "CA", "JM"}
    enabled = countries.list(low_risk_numbers_enabled=True)
    assert {c.iso_code for c in enabled} == {"US", "CA"}
    paged = countries.list(page_size=50)
    assert len(paged) == 245  # five pages followed by the SDK


def test_bulk_country_update_applies_all_flags(client: Any) -> None:
    request = json.dumps(
        [
            {
                "iso_code": "GB",
                "low_risk_numbers_enabled": "true",
                "high_risk_special_numbers_enabled": "true",
                "high_risk_tollfraud_numbers_enabled": "false",
            },
            {"iso_code": "US", "low_risk_numbers_enabled": False},
        ]
    )
    result = client.voice.v1.dialing_permissions.bulk_country_updates.create(update_request=request)
    assert result.update_count == 2
    assert result.update_request == request
    countries = client.voice.v1.dialing_permissions.countries
    gb = countries("GB").fetch()
    assert gb.low_risk_numbers_enabled
    assert gb.high_risk_special_numbers_enabled
    assert not gb.high_risk_tollfraud_numbers_enabled
    assert countries("US").fetch().low_risk_numbers_enabled is False


@pytest.mark.parametrize(
    "request_body",
    [
        "not json",
        "[]",
        json.dumps([{"iso_code": "ZZ", "low_risk_numbers_enabled": "true"}]),
        json.dumps([{"iso_code": "GB", "low_risk_numbers_enabled": "maybe"}]),
        json.dumps([{"iso_code": "GB", "premium": "true"}]),
    ],
)
def test_bulk_country_update_rejects_bad_requests(client: Any, request_body: str) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.voice.v1.dialing_permissions.bulk_country_updates.create(update_request=request_body)
    assert caught.value.status == 400
    # all or nothing: GB is untouched
    gb = client.voice.v1.dialing_permissions.countries("GB").fetch()
    assert gb.low_risk_numbers_enabled is False


def test_unknown_country_is_404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.voice.v1.dialing_permissions.countries("ZZ").fetch()
    assert caught.value.status == 404


def test_settings_inheritance(client: Any) -> None:
    settings = client.voice.v1.dialing_permissions.settings()
    assert settings.fetch().dialing_permissions_inheritance is True
    updated = settings.update(dialing_permissions_inheritance=False)
    assert updated.dialing_permissions_inheritance is False
    assert settings.fetch().dialing_permissions_inheritance is False


def test_console_edit_of_a_country(client: Any, emu: RunningEmulator) -> None:
    emu.admin.edit("dialing_permissions_country", "CU", high_risk_tollfraud_numbers_enabled=True)
    cuba = client.voice.v1.dialing_permissions.countries("CU").fetch()
    assert cuba.high_risk_tollfraud_numbers_enabled is True
    counts = emu.admin.request("GET", "/counts")
    assert "dialing_permissions_country" not in counts  # reference data, not resources


def test_alerts_injected_listed_filtered_fetched(client: Any, emu: RunningEmulator) -> None:
    now = time.time()
    old = datetime.fromtimestamp(now - 3 * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sids = emu.admin.add_alerts(
        {"error_code": "11200", "request_url": "https://voice.example.com/voice/inbound"},
        {"error_code": "12300", "log_level": "warning", "date_generated": now - 60},
        {"error_code": "11200", "date_generated": old},
    )
    assert len(sids) == 3
    assert all(s.startswith("NO") for s in sids)
    alerts = client.monitor.v1.alerts
    assert len(alerts.list()) == 3
    since = datetime.fromtimestamp(now - 86400, UTC)
    recent = alerts.list(start_date=since, end_date=datetime.now(UTC) + timedelta(minutes=1))
    assert sorted(a.error_code for a in recent) == ["11200", "12300"]
    assert [a.error_code for a in alerts.list(log_level="warning")] == ["12300"]
    one = alerts(sids[0]).fetch()
    assert one.error_code == "11200"
    assert one.request_url == "https://voice.example.com/voice/inbound"
    assert one.more_info == "https://www.twilio.com/docs/errors/11200"


def test_alert_injection_rejects_bad_alerts(emu: RunningEmulator) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as caught:
        emu.admin.add_alerts({"error_code": "boom"})
    assert caught.value.code == 400
