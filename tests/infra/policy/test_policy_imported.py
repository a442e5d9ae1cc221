"""An imported stack passes the pack: credentials whose password is not managed need only
their fingerprint marked secret (there is no password input), and external targets are
judged like flows (HTTPS outside local)."""

from __future__ import annotations

import pytest
from policy_support import analyze, run_program, stack_spec

pytestmark = pytest.mark.xdist_group("pulumi-mocks")


def test_unmanaged_passwords_and_external_urls_pass() -> None:
    spec = stack_spec("dev")
    for clist in spec["credential_lists"]:
        for cred in clist["credentials"]:
            del cred["password"]
    spec["numbers"][0] = {
        "e164": spec["numbers"][0]["e164"],
        "external_url": "https://webhooks.twilio.com/v1/Accounts/AC0/Flows/FW1",
    }
    assert analyze(run_program("dev", spec)) == []
