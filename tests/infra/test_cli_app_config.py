"""`twilio-voice app-config`: the app enforces the stack's dialing permissions.

A stack allowing only the US and Canada produces a settings file whose `dial_countries` the app
loads; a SIP user dialling the UK then hears the refusal, a US number is dialled, and +882 / +1 900
are refused whatever the countries.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.test import Client

from infra import cli
from infra.commands.app_config import app_config
from webhook_app.app import create_app
from webhook_app.settings import load_settings
from webhook_app.store_sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "app-config-test-token-0123456789"


def local_stack(tmp_path: Path, permissions: dict[str, Any] | None) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    doc = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    if permissions is not None:
        doc["config"]["twilio-voice:environment"]["dialing_permissions"] = permissions
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def generated(project: Path, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = app_config(project, "local", out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


US_CA = {"countries": [{"iso_code": "US"}, {"iso_code": "CA", "risk_classes": ["low_risk"]}]}


def test_the_stacks_countries_become_the_apps_dial_countries(tmp_path: Path) -> None:
    code, text, err = generated(local_stack(tmp_path, US_CA))
    assert code == 0, err
    assert yaml.safe_load(text)["dial_countries"] == ["CA", "US"]


@pytest.mark.parametrize("permissions", [None, {"inherit": True}])
def test_without_own_permissions_the_app_keeps_its_setting(
    tmp_path: Path, permissions: dict[str, Any] | None
) -> None:
    code, text, _ = generated(local_stack(tmp_path, permissions), fmt="json")
    assert code == 0
    assert "dial_countries" not in json.loads(text)


def test_the_base_file_is_kept_and_a_bad_one_exits_2(tmp_path: Path) -> None:
    project = local_stack(tmp_path, US_CA)
    base = tmp_path / "flows.yaml"
    base.write_text("dial_region: US\ndial_countries: [GB]\nno_answer_message: Call back later.\n")
    code, text, _ = generated(project, base=base)
    data = yaml.safe_load(text)
    assert code == 0
    assert (data["dial_region"], data["no_answer_message"]) == ("US", "Call back later.")
    assert data["dial_countries"] == ["CA", "US"]  # the stack decides
    base.write_text("menu: {max_retries: many}\n")
    assert (
        cli.main(
            ["app-config", "--stack", "local", "--project-dir", str(project), "--base", str(base)]
        )
        == 2
    )


def test_the_app_refuses_what_the_stack_does_not_allow(tmp_path: Path) -> None:
    code, text, err = generated(local_stack(tmp_path, US_CA))
    assert code == 0, err
    settings_file = tmp_path / "voice-settings.yaml"
    settings_file.write_text(text)
    settings = load_settings(
        {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": "https://voice.example.test",
            "TWILIO_CALLER_ID": "+14155550120",
            "VOICE_SETTINGS_FILE": str(settings_file),
        }
    )
    store = SqliteStore(str(tmp_path / "app.sqlite3"))
    client = Client(create_app(settings, store))
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    def dial(user: str) -> bytes:
        url = "https://voice.example.test/voice/sip/inbound"
        params = {"CallSid": "CA" + "7" * 32, "To": f"sip:{user}@acme.sip.twilio.com"}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        response = client.post(
            "/voice/sip/inbound",
            base_url="https://voice.example.test",
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
        assert response.status_code == 200
        return bytes(response.data)

    assert b"<Dial" in dial("+14155550123")
    for refused in ("+442071838750", "+88213456789", "+19002345678"):
        body = dial(refused)
        assert b"<Dial" not in body, refused
        assert b"not allowed" in body, refused
    store.close()
