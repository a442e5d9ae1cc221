"""`twilio-voice app-config`: the call-flows artifact the app serves, made from the stack.

The artifact carries the stack's call flows (the built-in flow when it declares none) and the
countries its dialing permissions allow, with the content hash the app reports. A stack
allowing only the US and Canada gives an artifact the app loads; a SIP user dialling the UK
then hears the refusal, a US number is dialled, and +882 / +1 900 are refused whatever the
countries.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from infra import cli
from infra.commands.app_config import app_config
from infra.spec import load_stack_file
from webhook_app.callflow.artifact import DEFAULT_CALL_FLOWS, FORMAT, content_hash, parse

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "app-config-test-token-0123456789"


def local_stack(
    tmp_path: Path, permissions: dict[str, Any] | None, *, call_flows: bool = True
) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    doc = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    env = doc["config"]["twilio-voice:environment"]
    if permissions is not None:
        env["dialing_permissions"] = permissions
    if not call_flows:  # the stack as it was before call flows: the app's built-in flow
        del env["call_flows"]
        routes = {
            "numbers": "ivr_main",
            "applications": "ivr_main",
            "sip_domains": "sip_inbound",
            "byoc_trunks": "byoc_inbound",
        }
        for key, route in routes.items():
            for entry in env.get(key, []):
                if entry.pop("call_flow", None):
                    entry["flow"] = route
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def generated(project: Path, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = app_config(project, "local", out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


US_CA = {"countries": [{"iso_code": "US"}, {"iso_code": "CA", "risk_classes": ["low_risk"]}]}


def test_the_artifact_carries_the_stacks_flows_and_countries(tmp_path: Path) -> None:
    project = local_stack(tmp_path, US_CA)
    code, text, err = generated(project)
    assert code == 0, err
    data = json.loads(text)
    assert data["format"] == FORMAT
    assert data["stack"] == "local"
    assert data["dial_countries"] == ["CA", "US"]
    env = load_stack_file(project, "local")
    assert env.call_flows is not None
    assert data["hash"] == content_hash(env.call_flows, ["CA", "US"])
    served = parse(text, "test")  # what the app loads
    assert served.call_flows == env.call_flows
    assert served.dial_countries == ("CA", "US")
    assert generated(project)[1] == text  # the same stack gives the same bytes


@pytest.mark.parametrize("permissions", [None, {"inherit": True}])
def test_without_own_permissions_the_artifact_names_no_countries(
    tmp_path: Path, permissions: dict[str, Any] | None
) -> None:
    code, text, _ = generated(local_stack(tmp_path, permissions))
    assert code == 0
    assert json.loads(text)["dial_countries"] is None


def test_a_stack_without_call_flows_gives_the_built_in_flow(tmp_path: Path) -> None:
    code, text, err = generated(local_stack(tmp_path, US_CA, call_flows=False))
    assert code == 0, err
    served = parse(text, "test")
    assert served.call_flows == DEFAULT_CALL_FLOWS
    assert served.hash == content_hash(DEFAULT_CALL_FLOWS, ["CA", "US"])


def test_output_writes_the_file_and_base_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = local_stack(tmp_path, US_CA)
    target = tmp_path / "flows.json"
    argv = ["app-config", "--stack", "local", "--project-dir", str(project)]
    assert cli.main([*argv, "--output", str(target)]) == 0
    assert parse(target.read_text(), str(target)).dial_countries == ("CA", "US")
    assert "written to" in capsys.readouterr().err
    assert cli.main([*argv, "--base", str(target)]) == 2  # the old settings file is gone
    assert "unrecognized arguments: --base" in capsys.readouterr().err


def test_an_invalid_stack_exits_2_with_one_line(tmp_path: Path) -> None:
    project = local_stack(tmp_path, US_CA)
    path = project / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    env = doc["config"]["twilio-voice:environment"]
    env["call_flows"]["caller_id"] = "+14155550199"
    env["call_flows"]["flows"]["main"]["menus"]["main"]["options"][0]["action"] = {"menu": "x"}
    path.write_text(yaml.safe_dump(doc))
    code, text, err = generated(project)
    assert (code, text) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("local: call_flows.")
    assert "(and 1 more)" in err
    assert "twilio-voice validate --stack local" in err


def test_an_unwritable_output_exits_2(tmp_path: Path) -> None:
    project = local_stack(tmp_path, None)
    code, _, err = generated(project, output=tmp_path / "missing" / "flows.json")
    assert code == 2
    assert "cannot write" in err


def test_the_app_refuses_what_the_stack_does_not_allow(tmp_path: Path) -> None:
    from twilio.request_validator import RequestValidator
    from werkzeug.test import Client

    from webhook_app.app import create_app
    from webhook_app.settings import load_settings
    from webhook_app.store_sqlite import SqliteStore

    code, text, err = generated(local_stack(tmp_path, US_CA))
    assert code == 0, err
    artifact_file = tmp_path / "flows.json"
    artifact_file.write_text(text)
    settings = load_settings(
        {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": "https://voice.example.test",
            "VOICE_SETTINGS_FILE": str(artifact_file),
        }
    )
    assert settings.served.dial_countries == ("CA", "US")
    store = SqliteStore(str(tmp_path / "app.sqlite3"))
    client = Client(create_app(settings, store))

    def dial(user: str) -> bytes:
        # the local SIP domain's URL, as the stack configures it
        url = "https://voice.example.test/voice/sip/inbound?flow=main"
        params = {"CallSid": "CA" + "7" * 32, "To": f"sip:{user}@acme-local.sip.twilio.com"}
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        response = client.post(
            "/voice/sip/inbound?flow=main",
            base_url="https://voice.example.test",
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
        assert response.status_code == 200
        return bytes(response.data)

    try:
        assert b"<Dial" in dial("+14155550123")
        for refused in ("+442071838750", "+88213456789", "+19002345678"):
            body = dial(refused)
            assert b"<Dial" not in body, refused
            assert b"not allowed" in body, refused
    finally:
        store.close()
