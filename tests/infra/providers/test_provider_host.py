"""The providers inside Pulumi's real dynamic-provider host (gRPC), credentials from Configure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from devtools.emulator_testing import RunningEmulator, running_emulator
from devtools.provider_host import UNKNOWN, DynamicHost, serialize_provider
from infra.resources import CredentialListProvider, CredentialProvider

PROJECT = "twilio-voice"


@pytest.fixture
def host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DynamicHost, RunningEmulator]]:
    with running_emulator() as emu:  # noqa: SIM117 - the host needs the emulator's URL
        # Only the emulator switch comes from the environment; credentials come from Configure.
        with DynamicHost(tmp_path, PROJECT, "test", env={"TWILIO_API_BASE_URL": emu.base_url}) as h:
            h.configure(
                {"twilio:accountSid": emu.account_sid, "twilio:authToken": emu.auth_token},
                secret_keys=["twilio:authToken"],
            )
            yield h, emu


def test_credential_lifecycle_and_errors_through_the_host(
    host: tuple[DynamicHost, RunningEmulator],
) -> None:
    h, emu = host
    list_blob = serialize_provider(CredentialListProvider())
    cred_blob = serialize_provider(CredentialProvider())
    list_urn = h.urn("pulumi-python:dynamic/twilio:CredentialList", "users")
    cred_urn = h.urn("pulumi-python:dynamic/twilio:Credential", "users/alice")

    # Preview: the list SID is not known yet; check tolerates it.
    preview = {"__provider": cred_blob, "credential_list_sid": UNKNOWN, "username": "alice"}
    _, failures = h.check(cred_urn, {}, {**preview, "password": "Str0ngPassw0rd!"})
    assert failures == []

    list_inputs, _ = h.check(list_urn, {}, {"__provider": list_blob, "friendly_name": "users"})
    list_id, list_outs = h.create(list_urn, list_inputs)
    props = {
        "__provider": cred_blob,
        "credential_list_sid": list_id,
        "username": "alice",
        "password": "Str0ngPassw0rd!",
    }
    inputs, failures = h.check(cred_urn, {}, props)
    assert failures == []
    cred_id, outs = h.create(cred_urn, inputs)
    assert outs["account_sid"] == emu.account_sid
    assert "password" not in outs
    assert h.diff(cred_urn, cred_id, outs, inputs, inputs).changes is False

    read = h.read(cred_urn, cred_id, outs, inputs)
    assert read.id == cred_id
    assert read.outputs == outs

    rotated, _ = h.check(cred_urn, inputs, {**props, "password": "N3wPassw0rdXyz"})
    diff = h.diff(cred_urn, cred_id, outs, rotated, inputs)
    assert diff.changes is True
    assert diff.replaces == ()
    new_outs = h.update(cred_urn, cred_id, outs, rotated, inputs)
    assert new_outs["password_hash"] != outs["password_hash"]

    h.delete(cred_urn, cred_id, new_outs, rotated)
    h.delete(cred_urn, cred_id, new_outs, rotated)
    assert h.read(cred_urn, cred_id, new_outs, rotated).id == ""
    h.delete(list_urn, list_id, list_outs, list_inputs)
    assert emu.admin.resources("sip_credential_list") == []

    # Errors reach the engine readably (one host start serves both checks).
    other = "AC" + "f" * 32
    bad: dict[str, Any] = {
        "__provider": list_blob,
        "friendly_name": "x",
        "expected_account_sid": other,
    }
    with pytest.raises(grpc.RpcError) as info:
        h.create(list_urn, bad)
    details = str(info.value.details())  # type: ignore[attr-defined]
    assert "AccountMismatchError" in details
    assert other in details
