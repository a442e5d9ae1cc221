"""The whole `prod` spec converges through an unreliable Twilio: no duplicates, no leftovers.

The emulator answers 20% of calls 429, 5% 500 and applies-then-loses 2% (fixed seed). The
offline harness applies the stack through Pulumi's own dynamic-provider host; the providers'
retries and create-then-adopt must make every resource exist exactly once, a second `up` must
change nothing, and `destroy` must leave nothing behind but the adopted numbers, whose voice
configuration is reset.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_support import harness_target, stack_config, stack_numbers

from emulator.faults import FaultConfig
from emulator.testing import RunningEmulator, running_emulator
from infra import spec
from infra.offline import apply
from infra.offline.deployment import Op

PROD_ACCOUNT = "ACb0ebb1aee434f6076941fdae6a07a0d2"
API_KEY = "SKa0b2429dda7f6a3d591334a68ef8f733"  # Pulumi.prod.yaml credentials.api_key_sid
API_SECRET = "e2e-test-api-secret"
FAULTS = FaultConfig(rate_429=0.20, rate_500=0.05, rate_lost=0.02, seed=20240611)
NUMBER_RESET = ("voice_url", "voice_fallback_url", "voice_application_sid", "trunk_sid")


def test_password(path: str, ciphertext: str) -> str:
    """TEST ONLY: prod's `{secure: ...}` passwords replaced by known strong plaintext."""
    return "E2e-" + hashlib.sha256(path.encode()).hexdigest()[:10] + "-Passw0rd"


test_password.__test__ = False  # type: ignore[attr-defined]


def expected_counts(env: spec.Environment) -> dict[str, int]:
    """Live records per emulator kind that the spec implies (beyond the adopted numbers)."""
    return {
        "application": len(env.applications),
        "sip_domain": len(env.sip_domains),
        "sip_credential_list": len(env.credential_lists),
        "sip_credential": sum(len(c.credentials) for c in env.credential_lists),
        "sip_ip_access_control_list": len(env.ip_access_control_lists),
        "sip_ip_address": sum(len(a.ip_addresses) for a in env.ip_access_control_lists),
        "trunk": len(env.trunks),
        "origination_url": sum(len(t.origination_urls) for t in env.trunks),
        "byoc_trunk": len(env.byoc_trunks),
        "connection_policy": len(env.connection_policies),
        "connection_policy_target": sum(len(p.targets) for p in env.connection_policies),
        "ip_record": len(env.ip_records),
        "source_ip_mapping": len(env.source_ip_mappings),
    }


def live_counts(emu: RunningEmulator) -> Counter[str]:
    counts: dict[str, int] = emu.admin.request("GET", "/counts")
    return Counter(counts)


def test_prod_converges_under_faults(
    tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    config = stack_config("prod", decrypt=test_password)
    raw = json.loads(config.values[f"{config.project}:environment"])
    env = spec.load_environment(raw, stack="prod", secrets_decrypted=True)
    numbers = stack_numbers("prod")
    with running_emulator(
        account_sid=PROD_ACCOUNT,
        api_keys={API_KEY: API_SECRET},
        numbers=numbers,
        faults=FAULTS,
    ) as emu:
        target = harness_target(
            emu,
            config,
            tmp_path / "state.json",
            extra_env={"TWILIO_API_KEY": API_KEY, "TWILIO_API_SECRET": API_SECRET},
        )
        first = apply.up(target)
        after_up = emu.admin.counters()
        created = first.summary.count(Op.CREATE)
        assert created == len(first.state.resources)
        state_text = target.state_path.read_text()
        assert "-Passw0rd" not in state_text, "a credential password reached the state file"

        live = live_counts(emu)
        wanted = expected_counts(env)
        mismatches = {k: (live.get(k, 0), n) for k, n in wanted.items() if live.get(k, 0) != n}
        assert mismatches == {}, f"live vs spec (duplicates or missing): {mismatches}"
        assert live["incoming_phone_number"] == len(set(numbers))

        second = apply.up(target)
        changed = {k: n for k, n in second.summary.steps.items() if k[0] is not Op.SAME}
        assert second.summary.count(Op.SAME) == created, f"second up changed: {changed}"
        assert set(second.summary.calls) == {"Check", "Diff"}
        assert live_counts(emu) == live

        apply.unprotect(target.state_path, config.project, config.stack)
        gone = apply.destroy(target)
        assert gone.summary.count(Op.DELETE) == created
        totals = emu.admin.counters()

        left = {
            k: n
            for k, n in live_counts(emu).items()
            if n and k != "incoming_phone_number" and not k.startswith("route_")
        }
        assert left == {}, f"leftovers after destroy: {left}"
        routed = [r for r in emu.admin.resources("incoming_phone_number") if _routed(r)]
        assert routed == [], f"numbers still routed after destroy: {routed}"
        regions = {
            r["sid"]: r["voice_region"]
            for kind in ("route_phone_number", "route_sip_domain", "route_trunk")
            for r in emu.admin.resources(kind)
            if r["voice_region"] != "us1"
        }
        assert regions == {}, f"inbound processing regions not reset: {regions}"

    faults = totals["faults"]
    retries = sum(faults.values())
    report = {
        "resources": created,
        "rest_calls_up": after_up["total"],
        "rest_calls_total": totals["total"],
        "faulted_answers": dict(faults),
        "retries": retries,
        "up_seconds": round(first.seconds, 1),
        "noop_up_seconds": round(second.seconds, 1),
        "destroy_seconds": round(gone.seconds, 1),
    }
    for key, value in report.items():
        record_property(key, value)
    print(f"\nfaults e2e (prod, {FAULTS}): {report}")
    assert retries > 0, "the fault injection did not fire: the test proved nothing"


def _routed(number: dict[str, Any]) -> bool:
    return any(number.get(k) for k in NUMBER_RESET)
