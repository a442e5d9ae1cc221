"""A large generated estate through the offline harness: up, no-op up, destroy.

1,000 numbers, 50 SIP domains (with auth mappings), 20 trunks (origination URLs, termination
lists), shared credential lists and IP ACLs, against an emulator process seeded with the
numbers. The same structure with 100 numbers runs first, in the same test, so the printed
wall-time ratio compares like with like on this machine. Asserts correctness only (counts, no
duplicates, no REST call on the no-op `up`, no leftovers); timing is printed, never asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import harness_target

from emulator.numbers import generated_numbers
from emulator.testing import RunningEmulator, emulator_process
from infra.offline import apply
from infra.offline.deployment import Op, short_type
from infra.offline.stack_config import engine_config

PROJECT = "twilio-voice"
DOMAINS, TRUNKS, LISTS = 50, 20, 10


def scale_spec(numbers: int) -> dict[str, Any]:
    """The generated environment (a `local` stack: plain-text test passwords, http URLs)."""
    return {
        "public_base_url": "http://127.0.0.1:8080",
        "edge": "ashburn",
        "region": "us1",
        "numbers": [
            {"e164": e164, "flow": "ivr_main"}
            if i % 10
            else {"e164": e164, "trunk": f"trunk-{i // 10 % TRUNKS}"}
            for i, e164 in enumerate(generated_numbers(numbers))
        ],
        "credential_lists": [
            {
                "name": f"users-{i}",
                "credentials": [
                    {"username": f"user-{i}-{j}", "password": f"ScaleTest{i}x{j}Passw0rd"}
                    for j in range(2)
                ],
            }
            for i in range(LISTS)
        ],
        "ip_access_control_lists": [
            {
                "name": f"acl-{i}",
                "ip_addresses": [
                    {
                        "name": f"ip-{j}",
                        "ip_address": f"198.51.{i}.{10 + j}",
                        "cidr_prefix_length": 32,
                    }
                    for j in range(2)
                ],
            }
            for i in range(LISTS)
        ],
        "sip_domains": [
            {
                "name": f"domain-{i}",
                "domain_name": f"scale-{i}.sip.twilio.com",
                "flow": "sip_inbound",
                "sip_registration": True,
                "auth": {
                    "calls": {
                        "credential_lists": [f"users-{i % LISTS}"],
                        "ip_access_control_lists": [f"acl-{i % LISTS}"],
                    },
                    "registrations": {"credential_lists": [f"users-{i % LISTS}"]},
                },
            }
            for i in range(DOMAINS)
        ],
        "trunks": [
            {
                "name": f"trunk-{i}",
                "domain_name": f"scale-{i}.pstn.twilio.com",
                "origination_urls": [
                    {
                        "name": f"pbx-{j}",
                        "sip_url": f"sip:pbx{j}.trunk{i}.example.com:5060",
                        "priority": 10,
                        "weight": 10 + j,
                    }
                    for j in range(2)
                ],
                "termination": {
                    "credential_lists": [f"users-{i % LISTS}"],
                    "ip_access_control_lists": [f"acl-{i % LISTS}"],
                },
            }
            for i in range(TRUNKS)
        ],
    }


def run_lifecycle(numbers: int, tmp: Path) -> dict[str, Any]:
    """up, no-op up, destroy of the generated estate; returns what was measured."""
    config = engine_config({f"{PROJECT}:environment": scale_spec(numbers)}, PROJECT, "local")
    (tmp / "emu").mkdir(parents=True)
    with emulator_process("--seed-numbers", str(numbers), cwd=tmp / "emu") as emu:
        target = harness_target(emu, config, tmp / "state.json")
        up, up_calls = measured(emu, lambda: apply.up(target))
        resources = len(up.state.resources)
        assert up.summary.count(Op.CREATE) == resources
        live = emu.admin.request("GET", "/counts")
        expected = {
            "sip_domain": DOMAINS,
            "trunk": TRUNKS,
            "origination_url": 2 * TRUNKS,
            "sip_credential_list": LISTS,
            "sip_credential": 2 * LISTS,
            "sip_ip_access_control_list": LISTS,
            "sip_ip_address": 2 * LISTS,
        }
        assert {k: live.get(k, 0) for k in expected} == expected, live
        per_kind: dict[str, int] = {}
        for record in up.state.resources.values():
            per_kind[short_type(record.type)] = per_kind.get(short_type(record.type), 0) + 1
        assert per_kind["IncomingPhoneNumber"] == numbers

        again, again_calls = measured(emu, lambda: apply.up(target))
        assert again.summary.count(Op.SAME) == resources, again.summary.lines()
        assert again_calls == 0, "a no-op up made Twilio calls"

        apply.unprotect(target.state_path, config.project, config.stack)
        gone, gone_calls = measured(emu, lambda: apply.destroy(target))
        assert gone.summary.count(Op.DELETE) == resources
        left = {
            k: n
            for k, n in emu.admin.request("GET", "/counts").items()
            if n and k != "incoming_phone_number" and not k.startswith("route_")
        }
        assert left == {}, f"leftovers after destroy: {left}"
        assert json.loads(target.state_path.read_text())["resources"] == []
    return {
        "numbers": numbers,
        "resources": resources,
        "up_s": round(up.seconds, 1),
        "noop_up_s": round(again.seconds, 1),
        "destroy_s": round(gone.seconds, 1),
        "rest_calls_up": up_calls,
        "rest_calls_per_resource_up": round(up_calls / resources, 2),
        "rest_calls_destroy": gone_calls,
        "rest_calls_per_resource_destroy": round(gone_calls / resources, 2),
    }


def measured(emu: RunningEmulator, fn: Callable[[], apply.Result]) -> tuple[apply.Result, int]:
    emu.admin.reset_counters()
    result = fn()
    calls = int(emu.admin.counters()["total"])
    return result, calls


@pytest.mark.slow
def test_scale_100_vs_1000_numbers(
    tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    started = time.perf_counter()
    small = run_lifecycle(100, tmp_path / "n100")
    large = run_lifecycle(1000, tmp_path / "n1000")
    ratio = {
        "up_wall_ratio_1000_vs_100": round(large["up_s"] / max(small["up_s"], 0.01), 2),
        "resource_ratio_1000_vs_100": round(large["resources"] / small["resources"], 2),
        "total_s": round(time.perf_counter() - started, 1),
    }
    for key, value in {**ratio, "small": small, "large": large}.items():
        record_property(key, value)
    print(f"\nscale 100 numbers:   {small}\nscale 1000 numbers:  {large}\nscale ratio: {ratio}")
