"""The whole lifecycle through the real Pulumi CLI against the emulator.

up; a no-op preview (`--expect-no-changes`); an update of every updatable field kind; a rename; a
replace; an out-of-band change and delete in the emulator, seen by `preview --refresh` and
repaired by `up --refresh`; `refresh`; destroy stopped by `protect` until unprotected, leaving
every number owned with its voice configuration reset.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    StackProject,
    assert_numbers_kept_and_reset,
    counts,
    live,
    make_project,
    stack_numbers,
)

from devtools.emulator_testing import running_emulator
from devtools.engine import changes

pytestmark = pytest.mark.engine

# Live records per emulator kind that the local stack declares (numbers are adopted, not counted).
LOCAL_COUNTS = {
    "application": 1,
    "sip_domain": 1,
    "sip_credential_list": 1,
    "sip_credential": 2,
    "sip_ip_access_control_list": 1,
    "sip_ip_address": 1,
    "trunk": 1,
    "origination_url": 1,
    "byoc_trunk": 1,
    "connection_policy": 1,
    "connection_policy_target": 1,
    "ip_record": 1,
    "source_ip_mapping": 1,
}


def by(records: list[dict[str, Any]], field: str, value: Any) -> dict[str, Any]:
    matches = [r for r in records if r.get(field) == value]
    assert len(matches) == 1, f"{len(matches)} records with {field}={value!r}"
    return matches[0]


def declared_counts(project: StackProject) -> dict[str, int]:
    live_counts = counts(project.emu)
    return {kind: live_counts.get(kind, 0) for kind in LOCAL_COUNTS}


def update_every_kind(env: dict[str, Any]) -> None:
    """One in-place change per updatable field kind the local stack has."""
    env["numbers"][0]["friendly_name"] = "Local main line v2"
    env["numbers"][0]["fallback_flow"] = None  # removing a field clears it on Twilio
    del env["numbers"][0]["fallback_flow"]
    env["applications"][0]["friendly_name"] = "Local IVR app v2"
    env["sip_domains"][0]["friendly_name"] = "Local PBX v2"
    env["sip_domains"][0]["secure"] = True
    env["credential_lists"][0]["friendly_name"] = "Local users v2"
    env["credential_lists"][0]["credentials"][0]["password"] = "Rotated2024Passw0rd"
    env["ip_access_control_lists"][0]["friendly_name"] = "Loopback v2"
    env["ip_access_control_lists"][0]["ip_addresses"][0]["cidr_prefix_length"] = 32
    env["trunks"][0]["friendly_name"] = "Local trunk v2"
    env["trunks"][0]["recording"] = {"mode": "record-from-ringing", "trim": "trim-silence"}
    env["trunks"][0]["origination_urls"][0]["weight"] = 30
    env["trunks"][0]["origination_urls"][0]["enabled"] = False
    env["byoc_trunks"][0]["friendly_name"] = "Local carrier v2"
    env["connection_policies"][0]["friendly_name"] = "Local carrier policy v2"
    env["connection_policies"][0]["targets"][0]["priority"] = 20
    env["ip_records"][0]["friendly_name"] = "Local SBC v2"


def test_local_stack_lifecycle(tmp_path: Path) -> None:
    with running_emulator(numbers=stack_numbers("local")) as emu:
        project = make_project(tmp_path, emu, "local")

        # -- create, then nothing to do ----------------------------------------------------
        out = project.up()
        created = changes(out)
        assert created.get("created", 0) >= 25, out
        assert declared_counts(project) == LOCAL_COUNTS
        project.preview("--expect-no-changes")
        state_before = Counter(r["type"] for r in project.engine.resources("local"))

        # -- update every updatable field kind in place ------------------------------------
        project.edit(update_every_kind)
        out = project.up()
        summary = changes(out)
        assert summary.get("updated", 0) >= 12, out
        assert "created" not in summary, out
        assert "deleted" not in summary, out
        assert declared_counts(project) == LOCAL_COUNTS
        number = by(live(emu, "incoming_phone_number"), "phone_number", "+14155550120")
        assert number["friendly_name"] == "Local main line v2"
        assert number["voice_fallback_url"] in ("", None), "a removed field must be cleared"
        trunk = by(live(emu, "trunk"), "domain_name", "acme-local.pstn.twilio.com")
        assert trunk["friendly_name"] == "Local trunk v2"
        origination = live(emu, "origination_url")[0]
        assert (origination["weight"], origination["enabled"]) == (30, False)
        assert live(emu, "connection_policy_target")[0]["priority"] == 20
        assert by(live(emu, "sip_domain"), "friendly_name", "Local PBX v2")["secure"] is True
        project.preview("--expect-no-changes")

        # -- a rename in the spec: the new one exists, the old one is gone -----------------
        def rename(env: dict[str, Any]) -> None:
            env["ip_access_control_lists"][0]["ip_addresses"][0]["name"] = "localhost-renamed"

        project.edit(rename)
        project.up()
        addresses = live(emu, "sip_ip_address")
        assert [a["friendly_name"] for a in addresses] == ["localhost-renamed"]

        # -- a replace: a field Twilio cannot change in place ------------------------------
        def move_domain(env: dict[str, Any]) -> None:
            env["sip_domains"][0]["domain_name"] = "acme-local-2.sip.twilio.com"
            # Its SIP users move with it (validate refuses a user on an undeclared domain).
            for user in env["call_flows"]["sip_users"].values():
                user["uri"] = user["uri"].replace("@acme-local.", "@acme-local-2.")

        project.edit(move_domain)
        out = project.up()
        assert changes(out).get("replaced", 0) >= 1, out
        assert [d["domain_name"] for d in live(emu, "sip_domain")] == [
            "acme-local-2.sip.twilio.com"
        ]
        assert declared_counts(project) == LOCAL_COUNTS, "the replace left a duplicate"
        project.preview("--expect-no-changes")

        # -- out-of-band edit and delete: seen with --refresh, repaired by up --refresh ----
        trunk = live(emu, "trunk")[0]
        emu.admin.edit("trunk", trunk["sid"], friendly_name="edited in the console")
        target = live(emu, "connection_policy_target")[0]
        emu.admin.delete("connection_policy_target", target["sid"])
        # Without --refresh the engine trusts its state: the drift is invisible.
        project.preview("--expect-no-changes")
        seen = project.preview("--refresh", "--expect-no-changes", "--diff", check=False)
        assert seen.returncode != 0, "preview --refresh did not see the out-of-band changes"
        text = seen.stdout + seen.stderr
        assert "edited in the console" in text or "friendly_name" in text, text
        project.up("--refresh")
        assert live(emu, "trunk")[0]["friendly_name"] == "Local trunk v2"
        assert len(live(emu, "connection_policy_target")) == 1
        project.engine.refresh("local", "--expect-no-changes")
        project.preview("--refresh", "--expect-no-changes")

        # -- destroy: protected numbers stop it until unprotected --------------------------
        refused = project.engine.destroy("local", check=False)
        assert refused.returncode != 0
        assert "protect" in (refused.stdout + refused.stderr).lower()
        project.engine.run("state", "unprotect", "--all", "--yes", "--stack", "local")
        project.engine.destroy("local")
        assert {k: v for k, v in declared_counts(project).items() if v} == {}
        assert_numbers_kept_and_reset(emu, stack_numbers("local"))
        assert project.engine.resources("local") == []
        assert sum(state_before.values()) >= 25
