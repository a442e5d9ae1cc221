"""Retries against injected emulator faults: 429/5xx retried, lost create responses adopted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator
from infra.client import RetryPolicy
from infra.errors import NotFoundError, TwilioApiError
from infra.resources.base import TwilioProvider

DOMAIN = {"domain_name": "retry.sip.twilio.com", "voice_url": "https://a.example/sip"}
Make = Callable[..., TwilioProvider[Any]]


def _faults_until_first_sleep(emu: RunningEmulator, sleeps: Any, **faults: Any) -> None:
    """Fault every matching call until the client's first backoff sleep, then stop."""
    emu.admin.set_faults(**faults)
    sleeps.hook = lambda: emu.admin.set_faults()


def _domains(emu: RunningEmulator) -> list[dict[str, Any]]:
    return [
        d for d in emu.admin.resources("sip_domain") if d["domain_name"] == DOMAIN["domain_name"]
    ]


def _create(provider: Make) -> tuple[TwilioProvider[Any], Any]:
    p = provider("SipDomain")
    return p, p.create(p.check({}, DOMAIN).inputs)


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_create_answered_with_error_is_retried_once(
    status: str, emu: RunningEmulator, provider: Make, sleeps: Any
) -> None:
    _faults_until_first_sleep(emu, sleeps, **{f"rate_{status}": 1.0, "methods": ["POST"]})
    _, created = _create(provider)
    assert created.id.startswith("SD")
    assert len(sleeps.delays) == 1
    assert len(_domains(emu)) == 1
    assert emu.admin.counters()["faults"][status] == 1


def test_retry_after_is_honoured(emu: RunningEmulator, provider: Make, sleeps: Any) -> None:
    _faults_until_first_sleep(emu, sleeps, rate_429=1.0, retry_after=7, methods=["GET"])
    p, created = _create(provider)  # the lookup GET is the first call and gets the 429
    assert sleeps.delays == [7.0]  # jitter is injected as the full cap (0.5 s) < Retry-After
    assert p.read(created.id, created.outs).id == created.id


@pytest.mark.parametrize("lost_mode", ["500", "drop"])
def test_lost_create_response_is_adopted_not_duplicated(
    lost_mode: str, emu: RunningEmulator, provider: Make, sleeps: Any
) -> None:
    _faults_until_first_sleep(emu, sleeps, rate_lost=1.0, lost_mode=lost_mode, methods=["POST"])
    _, created = _create(provider)
    domains = _domains(emu)
    assert len(domains) == 1  # applied once by the lost call, then found by the lookup
    assert created.id == domains[0]["sid"]
    assert emu.admin.counters()["faults"]["lost"] == 1


def test_lost_credential_create_is_adopted(
    emu: RunningEmulator, client: Any, provider: Make, sleeps: Any
) -> None:
    account = client.api.v2010.accounts(emu.account_sid)
    cl = account.sip.credential_lists.create(friendly_name="users").sid
    p = provider("Credential")
    _faults_until_first_sleep(emu, sleeps, rate_lost=1.0, methods=["POST"])
    props = {"credential_list_sid": cl, "username": "bob", "password": "Str0ngPassw0rd!"}
    created = p.create(p.check({}, props).inputs)
    assert [c["username"] for c in emu.admin.resources("sip_credential")] == ["bob"]
    assert created.outs["password_hash"].startswith("scrypt$")


def test_idempotent_calls_retry_directly(emu: RunningEmulator, provider: Make, sleeps: Any) -> None:
    p, created = _create(provider)
    _faults_until_first_sleep(emu, sleeps, rate_500=1.0, methods=["GET", "POST", "DELETE"])
    assert p.read(created.id, created.outs).id == created.id
    _faults_until_first_sleep(emu, sleeps, rate_503=1.0, methods=["DELETE"])
    p.delete(created.id, created.outs)
    assert _domains(emu) == []
    assert len(sleeps.delays) == 2


def test_attempts_are_bounded(emu: RunningEmulator, provider: Make, sleeps: Any) -> None:
    p = provider("SipDomain", RetryPolicy(max_attempts=3))
    emu.admin.set_faults(rate_500=1.0)
    with pytest.raises(TwilioApiError) as info:
        p.create(p.check({}, DOMAIN).inputs)
    assert len(sleeps.delays) == 2
    assert str(info.value).startswith("Twilio ")
    assert "(SipDomain retry.sip.twilio.com)" in str(info.value)


def test_total_time_is_bounded(emu: RunningEmulator, provider: Make, sleeps: Any) -> None:
    p = provider("SipDomain", RetryPolicy(max_attempts=50, total_budget=3.0))
    emu.admin.set_faults(rate_429=1.0, retry_after=2)
    with pytest.raises(TwilioApiError, match="Twilio 20429"):
        p.create(p.check({}, DOMAIN).inputs)
    assert sleeps.delays == [2.0]  # a second 2 s wait would exceed the 3 s budget


def test_client_errors_are_not_retried(emu: RunningEmulator, provider: Make, sleeps: Any) -> None:
    p = provider("OriginationUrl")
    props = {
        "trunk_sid": "TK" + "0" * 32,
        "friendly_name": "primary",
        "sip_url": "sip:pbx.example.com",
    }
    with pytest.raises(NotFoundError) as info:
        p.create(p.check({}, props).inputs)
    assert sleeps.delays == []
    message = str(info.value)
    assert message.startswith("Twilio 20404: ")
    assert "(OriginationUrl sip:pbx.example.com)" in message
    assert "hint:" in message
