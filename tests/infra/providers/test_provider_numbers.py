"""Phone numbers are adopted, reset on destroy, released only on opt-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator
from infra.errors import ProviderError
from infra.resources.base import TwilioProvider

NUMBER = "+14155550103"
Make = Callable[..., TwilioProvider[Any]]


def _live(emu: RunningEmulator, e164: str) -> dict[str, Any] | None:
    for record in emu.admin.resources("incoming_phone_number"):
        if record["phone_number"] == e164:
            return record
    return None


def _create(p: TwilioProvider[Any], **props: Any) -> Any:
    checked = p.check({}, {"phone_number": NUMBER, **props})
    assert checked.failures == []
    return p.create(checked.inputs)


def test_destroy_without_opt_in_keeps_the_number_and_clears_voice_config(
    emu: RunningEmulator, client: Any, provider: Make
) -> None:
    trunk = client.trunking.v1.trunks.create(friendly_name="t").sid
    p = provider("IncomingPhoneNumber")
    created = _create(
        p,
        voice_url="https://a.example/voice",
        voice_fallback_url="https://a.example/fallback",
        status_callback="https://a.example/status",
        trunk_sid=trunk,
    )
    p.delete(created.id, created.outs)
    live = _live(emu, NUMBER)
    assert live is not None  # still owned by the account
    for name in ("voice_url", "voice_fallback_url", "status_callback", "trunk_sid"):
        assert live[name] in (None, ""), name
    assert live["voice_application_sid"] in (None, "")


def test_release_on_destroy_deletes_the_number(emu: RunningEmulator, provider: Make) -> None:
    p = provider("IncomingPhoneNumber")
    created = _create(p, voice_url="https://a.example/voice", release_on_destroy=True)
    assert created.outs["release_on_destroy"] is True
    p.delete(created.id, created.outs)
    assert _live(emu, NUMBER) is None
    p.delete(created.id, created.outs)  # released already: fine


def test_a_number_the_account_does_not_own_is_a_clear_error(
    emu: RunningEmulator, provider: Make
) -> None:
    p = provider("IncomingPhoneNumber")
    with pytest.raises(ProviderError, match="does not own this number") as info:
        p.create(p.check({}, {"phone_number": "+14155559999"}).inputs)
    assert emu.account_sid in str(info.value)
    assert _live(emu, "+14155559999") is None  # never bought


def test_switching_trunk_to_application_leaves_no_perpetual_diff(
    emu: RunningEmulator, client: Any, provider: Make
) -> None:
    account = client.api.v2010.accounts(emu.account_sid)
    app = account.applications.create(friendly_name="ivr").sid
    trunk = client.trunking.v1.trunks.create(friendly_name="t").sid
    p = provider("IncomingPhoneNumber")
    created = _create(p, trunk_sid=trunk)
    assert created.outs["trunk_sid"] == trunk

    news = p.check({}, {"phone_number": NUMBER, "voice_application_sid": app}).inputs
    assert p.diff(created.id, created.outs, news).changes is True
    updated = p.update(created.id, created.outs, news)
    assert updated.outs["voice_application_sid"] == app
    assert updated.outs["trunk_sid"] is None  # Twilio cleared it
    assert p.diff(created.id, updated.outs, news).changes is False
    refreshed = p.read(created.id, updated.outs)
    assert p.diff(created.id, refreshed.outs, news).changes is False

    back = p.check({}, {"phone_number": NUMBER, "trunk_sid": trunk}).inputs
    again = p.update(created.id, updated.outs, back)
    assert (again.outs["trunk_sid"], again.outs["voice_application_sid"]) == (trunk, None)
    assert p.diff(created.id, again.outs, back).changes is False


def test_changing_the_number_replaces(provider: Make, emu: RunningEmulator) -> None:
    p = provider("IncomingPhoneNumber")
    created = _create(p, voice_url="https://a.example/voice")
    news = p.check({}, {"phone_number": "+14155550104", "voice_url": "https://a.example/voice"})
    diff = p.diff(created.id, created.outs, news.inputs)
    assert diff.replaces == ["phone_number"]
    assert diff.delete_before_replace is True
