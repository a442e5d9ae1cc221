"""Credentials at call time (config or env), API keys, the account guard, secrets never echoed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.errors import AccountMismatchError, ConfigurationError, TwilioApiError
from infra.resources import PROVIDERS
from infra.resources.base import TwilioProvider

OTHER_ACCOUNT = "AC" + "f" * 32
DOMAIN = {"domain_name": "guard.sip.twilio.com"}
Make = Callable[..., TwilioProvider[Any]]


def _configure(p: TwilioProvider[Any], **config: str) -> None:
    p.configure(ConfigureRequest(Config(config, "twilio-voice")))


def test_read_update_delete_refuse_another_account(
    emu: RunningEmulator, provider: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = provider("SipDomain")
    checked = p.check({}, DOMAIN).inputs
    created = p.create(checked)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", OTHER_ACCOUNT)
    for call in (
        lambda: p.read(created.id, created.outs),
        lambda: p.update(created.id, created.outs, {**checked, "secure": True}),
        lambda: p.delete(created.id, created.outs),
    ):
        with pytest.raises(AccountMismatchError) as info:
            call()
        message = str(info.value)
        assert emu.account_sid in message
        assert OTHER_ACCOUNT in message
        assert "twilio:accountSid" in message  # says how to fix it
    assert len(emu.admin.resources("sip_domain")) == 1  # nothing was touched


def test_create_refuses_when_spec_declares_another_account(
    emu: RunningEmulator, provider: Make
) -> None:
    p = provider("SipDomain")
    checked = p.check({}, {**DOMAIN, "expected_account_sid": OTHER_ACCOUNT}).inputs
    with pytest.raises(AccountMismatchError, match=OTHER_ACCOUNT):
        p.create(checked)
    assert emu.admin.resources("sip_domain") == []
    ok = p.check({}, {**DOMAIN, "expected_account_sid": emu.account_sid}).inputs
    assert p.create(ok).outs["account_sid"] == emu.account_sid


def test_stack_config_credentials_win_over_environment(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", OTHER_ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    p = PROVIDERS["SipDomain"]()
    _configure(p, **{"twilio:accountSid": emu.account_sid, "twilio:authToken": emu.auth_token})
    created = p.create(p.check({}, DOMAIN).inputs)
    assert created.outs["account_sid"] == emu.account_sid


def test_bad_token_is_reported_with_a_hint_and_without_the_token(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "not-the-right-token-0123456789"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    p = PROVIDERS["SipDomain"]()
    with pytest.raises(TwilioApiError) as info:
        p.create(p.check({}, DOMAIN).inputs)
    message = str(info.value)
    assert message.startswith("Twilio 20003: ")
    assert "twilio:authToken" in message
    assert token not in message


def test_missing_credentials_say_what_to_set() -> None:
    p = PROVIDERS["SipDomain"]()
    with pytest.raises(ConfigurationError, match=r"twilio:accountSid.*TWILIO_ACCOUNT_SID"):
        p.create(p.check({}, DOMAIN).inputs)


def test_api_key_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    key, secret = "SK" + "1" * 32, "api-key-secret"
    with running_emulator(api_keys={key: secret}) as emu:
        monkeypatch.setenv("TWILIO_API_BASE_URL", emu.base_url)
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", emu.account_sid)
        monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
        monkeypatch.setenv("TWILIO_API_KEY", key)
        monkeypatch.setenv("TWILIO_API_SECRET", secret)
        p = PROVIDERS["CredentialList"]()
        created = p.create(p.check({}, {"friendly_name": "via-key"}).inputs)
        assert created.id.startswith("CL")


def test_edge_and_region_apply_to_the_rest_client(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    p = PROVIDERS["ConnectionPolicy"]()
    api = p.api()
    assert api.credentials.edge == "dublin"
    assert api.client.get_hostname("https://voice.twilio.com/v1") == (
        "https://voice.dublin.ie1.twilio.com/v1"
    )
    # The emulator switch rewrites after edge/region, so regional hosts still reach it.
    created = p.create(p.check({}, {"friendly_name": "regional"}).inputs)
    assert created.id.startswith("NY")


def test_password_rotation_is_detected_and_never_stored(
    emu: RunningEmulator, client: Any, provider: Make
) -> None:
    account = client.api.v2010.accounts(emu.account_sid)
    cl = account.sip.credential_lists.create(friendly_name="users").sid
    p = provider("Credential")
    props = {"credential_list_sid": cl, "username": "carol", "password": "Str0ngPassw0rd!"}
    checked = p.check({}, props).inputs
    created = p.create(checked)
    outs = created.outs
    assert "password" not in outs
    assert "Str0ngPassw0rd!" not in repr(outs)
    assert p.diff(created.id, outs, checked).changes is False

    rotated = p.check({}, {**props, "password": "N3wPassw0rdXyz"}).inputs
    diff = p.diff(created.id, outs, rotated)
    assert diff.changes is True
    assert diff.replaces == []
    updated = p.update(created.id, outs, rotated)
    assert updated.outs["password_hash"] != outs["password_hash"]
    assert p.diff(created.id, updated.outs, rotated).changes is False
    # An update that does not change the password keeps the fingerprint (and its salt).
    assert (
        p.update(created.id, updated.outs, rotated).outs["password_hash"]
        == (updated.outs["password_hash"])
    )


def test_one_provider_instance_serves_concurrent_calls(emu: RunningEmulator, client: Any) -> None:
    """The host runs 4 threads on one cached provider instance; the shared client copes."""
    from concurrent.futures import ThreadPoolExecutor

    account = client.api.v2010.accounts(emu.account_sid)
    acl = account.sip.ip_access_control_lists.create(friendly_name="office").sid
    p = PROVIDERS["IpAddress"]()  # default api_factory: the process-wide lazily built client

    def create(n: int) -> str:
        props = {
            "ip_access_control_list_sid": acl,
            "friendly_name": f"host-{n}",
            "ip_address": f"203.0.113.{n}",
        }
        return str(p.create(p.check({}, props).inputs).id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        sids = list(pool.map(create, range(1, 13)))
    assert len(set(sids)) == 12
    assert len(emu.admin.resources("sip_ip_address")) == 12


def test_read_by_id_refuses_when_the_spec_declares_another_account(
    emu: RunningEmulator, provider: Make
) -> None:
    p = provider("SipDomain")
    created = p.create(p.check({}, DOMAIN).inputs)
    props = {**DOMAIN, "expected_account_sid": OTHER_ACCOUNT}  # what opts.id sends: inputs only
    with pytest.raises(AccountMismatchError, match=OTHER_ACCOUNT):
        p.read(created.id, props)
