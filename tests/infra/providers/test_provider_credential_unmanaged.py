"""A credential whose password is not managed (what import writes): adopted by username, no
password sent, no rotation, and a clear error when it does not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator
from infra.resources.base import TwilioProvider


def test_credential_provider_adopts_without_password_and_never_rotates(
    provider: Callable[[str], TwilioProvider[Any]], client: Any, emu: RunningEmulator
) -> None:
    acct = client.api.v2010.account
    cl = acct.sip.credential_lists.create(friendly_name="pbx").sid
    acct.sip.credential_lists(cl).credentials.create(username="alice", password="Str0ngPassw0rd!")
    p = provider("Credential")
    inputs = p.check({}, {"credential_list_sid": cl, "username": "alice"}).inputs
    created = p.create(inputs)
    assert created.outs["password_hash"] is None
    assert p.diff(created.id, created.outs, inputs).changes is False
    # no password sent: the emulator still holds the original digest
    [record] = [r for r in emu.admin.resources("sip_credential") if r["username"] == "alice"]
    assert record["password"].startswith("sha256:")
    missing = p.check({}, {"credential_list_sid": cl, "username": "bob"}).inputs
    with pytest.raises(Exception, match="no password is declared"):
        p.create(missing)
