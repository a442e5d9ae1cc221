"""Adoption by unique key (what replaces `pulumi import`), and reading by id (`opts.id`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.emulator_testing import RunningEmulator
from infra.resources.base import TwilioProvider

Make = Callable[..., TwilioProvider[Any]]
# kind -> (make the existing resource with the SDK, declared inputs, admin kind)
Existing = Callable[[Any, Any], tuple[str, dict[str, Any]]]


def _domain(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    sid = account.sip.domains.create(
        domain_name="old.sip.twilio.com", voice_url="https://old/x"
    ).sid
    return sid, {"domain_name": "old.sip.twilio.com", "voice_url": "https://new.example/v"}


def _application(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    sid = account.applications.create(friendly_name="ivr", voice_url="https://old/x").sid
    return sid, {"friendly_name": "ivr", "voice_url": "https://new.example/v"}


def _credential(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    cl = account.sip.credential_lists.create(friendly_name="users").sid
    sid = (
        account.sip.credential_lists(cl)
        .credentials.create(username="dave", password="0ldPassw0rdXyz")
        .sid
    )
    return sid, {"credential_list_sid": cl, "username": "dave", "password": "N3wPassw0rdXyz"}


def _origination_url(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    tk = client.trunking.v1.trunks.create(friendly_name="t").sid
    sid = (
        client.trunking.v1.trunks(tk)
        .origination_urls.create(
            weight=1, priority=1, enabled=True, friendly_name="o", sip_url="sip:pbx.example.com"
        )
        .sid
    )
    return sid, {"trunk_sid": tk, "friendly_name": "o", "sip_url": "sip:pbx.example.com"}


def _trunk(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    sid = client.trunking.v1.trunks.create(domain_name="old.pstn.twilio.com", secure=False).sid
    return sid, {"domain_name": "old.pstn.twilio.com", "secure": True}


def _mapping(client: Any, account: Any) -> tuple[str, dict[str, Any]]:
    sd = account.sip.domains.create(domain_name="m.sip.twilio.com").sid
    cl = account.sip.credential_lists.create(friendly_name="users").sid
    account.sip.domains(sd).auth.calls.credential_list_mappings.create(credential_list_sid=cl)
    return cl, {"domain_sid": sd, "credential_list_sid": cl}


CASES: list[tuple[str, Existing, str]] = [
    ("SipDomain", _domain, "sip_domain"),
    ("Application", _application, "application"),
    ("Credential", _credential, "sip_credential"),
    ("OriginationUrl", _origination_url, "origination_url"),
    ("Trunk", _trunk, "trunk"),
    ("SipDomainCallsCredentialListMapping", _mapping, "auth_calls_credential_list_mapping"),
]


@pytest.mark.parametrize(("kind", "existing", "admin_kind"), CASES, ids=[c[0] for c in CASES])
def test_create_adopts_an_existing_resource(
    kind: str,
    existing: Existing,
    admin_kind: str,
    emu: RunningEmulator,
    client: Any,
    provider: Make,
) -> None:
    sid, props = existing(client, client.api.v2010.accounts(emu.account_sid))
    p = provider(kind)
    checked = p.check({}, props).inputs
    created = p.create(checked)
    assert created.id == sid  # taken over, not duplicated
    assert len(emu.admin.resources(admin_kind)) == 1
    for name, value in props.items():
        if name not in p.kind.write_only:
            assert created.outs[name] == value, name  # declared config applied
    assert p.diff(created.id, created.outs, checked).changes is False

    # `ResourceOptions(id=...)`: the engine reads with the program's props only.
    got = p.read(sid, {**props, "__provider": "blob"})
    assert got.id == sid
    assert got.outs is not None
    assert got.outs["sid"] == sid
