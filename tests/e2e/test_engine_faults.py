"""An unreliable Twilio and a killed `pulumi up`: the real engine still converges, exactly once.

Faults: the emulator answers 20% of calls 429, 5% 500 and applies-then-loses 2% (fixed seed).
Interruption: `kill -9` of the whole `pulumi up` process group (CLI, language host, program,
provider host) at several points of an update; then the documented recovery (docs/real-engine.md):
`pulumi cancel` (the DIY backend's lock), `pulumi refresh --clear-pending-creates`, `pulumi up`.
Both end with every declared resource existing once, and nothing left after destroy but the
adopted numbers, their voice configuration reset.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    StackProject,
    assert_numbers_kept_and_reset,
    counts,
    make_prod_project,
    make_project,
    prod_emulator_options,
    stack_numbers,
)

from devtools.emulator_testing import RunningEmulator, running_emulator
from devtools.engine import changes
from emulator.faults import FaultConfig

pytestmark = pytest.mark.engine

FAULTS = FaultConfig(rate_429=0.20, rate_500=0.05, rate_lost=0.02, seed=20240611)
# Kinds whose records the stack creates (numbers are adopted; routes always exist).
CREATED_KINDS = (
    "application",
    "sip_domain",
    "sip_credential_list",
    "sip_credential",
    "sip_ip_access_control_list",
    "sip_ip_address",
    "trunk",
    "origination_url",
    "byoc_trunk",
    "connection_policy",
    "connection_policy_target",
    "ip_record",
    "source_ip_mapping",
    "auth_calls_credential_list_mapping",
    "auth_calls_ip_access_control_list_mapping",
    "auth_registrations_credential_list_mapping",
    "trunk_credential_list",
    "trunk_ip_access_control_list",
)
STATE_TYPES = {
    "application": "Application",
    "sip_domain": "SipDomain",
    "sip_credential_list": "CredentialList",
    "sip_credential": "Credential",
    "sip_ip_access_control_list": "IpAccessControlList",
    "sip_ip_address": "IpAddress",
    "trunk": "Trunk",
    "origination_url": "OriginationUrl",
    "byoc_trunk": "ByocTrunk",
    "connection_policy": "ConnectionPolicy",
    "connection_policy_target": "ConnectionPolicyTarget",
    "ip_record": "IpRecord",
    "source_ip_mapping": "SourceIpMapping",
    "auth_calls_credential_list_mapping": "SipDomainCallsCredentialListMapping",
    "auth_calls_ip_access_control_list_mapping": "SipDomainCallsIpAccessControlListMapping",
    "auth_registrations_credential_list_mapping": "SipDomainRegistrationsCredentialListMapping",
    "trunk_credential_list": "TrunkCredentialList",
    "trunk_ip_access_control_list": "TrunkIpAccessControlList",
}


def live_created(emu: RunningEmulator) -> dict[str, int]:
    totals = counts(emu)
    return {kind: totals.get(kind, 0) for kind in CREATED_KINDS if totals.get(kind, 0)}


def state_created(project: StackProject) -> dict[str, int]:
    """Per emulator kind, how many resources the stack's state holds."""
    by_type = Counter(r["type"].rsplit(":", 1)[-1] for r in project.engine.resources(project.stack))
    return {kind: by_type[name] for kind, name in STATE_TYPES.items() if by_type[name]}


def assert_clean_destroy(project: StackProject, numbers: list[str]) -> None:
    project.engine.run("state", "unprotect", "--all", "--yes", "--stack", project.stack)
    project.engine.destroy(project.stack)
    assert live_created(project.emu) == {}, "leftovers after destroy"
    assert_numbers_kept_and_reset(project.emu, numbers)


def up_until_converged(project: StackProject, attempts: int = 3) -> list[str]:
    """`pulumi up` again after a failed one (what an operator does); the outputs of each run."""
    outputs = []
    for _ in range(attempts):
        result = project.engine.up(project.stack, check=False)
        outputs.append(result.stdout + result.stderr)
        if result.returncode == 0:
            return outputs
    raise AssertionError("pulumi up did not converge:\n" + "\n----\n".join(outputs))


def test_prod_converges_under_faults(tmp_path: Path, record_property: Any) -> None:
    with running_emulator(**prod_emulator_options(), faults=FAULTS) as emu:
        project = make_prod_project(tmp_path, emu)
        emu.admin.reset_counters()
        runs = up_until_converged(project)
        calls = emu.admin.counters()
        assert live_created(emu) == state_created(project), "duplicates or missing resources"
        project.preview("--expect-no-changes")
        # A second up on the converged stack changes nothing, faults or not.
        again = project.up()
        assert "created" not in changes(again), again
        assert live_created(emu) == state_created(project)
        assert_clean_destroy(project, stack_numbers("prod"))
    retries = sum(calls["faults"].values())
    record_property("up_runs", len(runs))
    record_property("rest_calls_up", calls["total"])
    record_property("faulted_answers", dict(calls["faults"]))
    print(f"\nfaults e2e: {len(runs)} up run(s), {calls['total']} calls, faults {calls['faults']}")
    assert retries > 0, "the fault injection did not fire: the test proved nothing"


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the CLI's plugins run in process groups of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_group(proc: Any) -> None:
    """SIGKILL the CLI and everything it started (language host, program, provider host)."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for_writes(emu: RunningEmulator, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        routes = emu.admin.counters().get("routes", {})
        if sum(n for route, n in routes.items() if route.startswith("POST")) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} writes within {timeout}s")


def repair_file_backend(state_dir: Path) -> list[str]:
    """What docs/real-engine.md tells file-backend users to do after a killed update.

    The DIY backend writes a checkpoint and its `.attrs` sidecar separately; a SIGKILL between
    the two can leave either empty ("failed to load checkpoint: EOF"). An empty sidecar is
    removed (it only holds metadata); an empty checkpoint is restored from its `.bak`.
    """
    repaired = []
    for path in sorted((state_dir / ".pulumi" / "stacks").rglob("*")):
        if not path.is_file() or path.stat().st_size:
            continue
        if path.name.endswith(".json.attrs"):
            path.unlink()
            repaired.append(f"removed empty {path.name}")
        elif path.name.endswith(".json") and path.with_name(path.name + ".bak").exists():
            path.write_bytes(path.with_name(path.name + ".bak").read_bytes())
            repaired.append(f"restored {path.name} from .bak")
    return repaired


def recover(project: StackProject) -> list[str]:
    """The documented recovery after a killed update (docs/real-engine.md)."""
    steps = repair_file_backend(project.engine.state_dir)
    cancel = project.engine.run("cancel", "--yes", "--stack", project.stack, check=False)
    steps.append(f"cancel -> {cancel.returncode}")
    refresh = project.engine.refresh(project.stack, "--clear-pending-creates", check=False)
    steps.append(f"refresh --clear-pending-creates -> {refresh.returncode}")
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    runs = up_until_converged(project)
    steps.append(f"up x{len(runs)}")
    return steps


@pytest.mark.parametrize("writes_before_kill", [3, 12, 24])
def test_killed_up_recovers_without_duplicates(tmp_path: Path, writes_before_kill: int) -> None:
    slow = FaultConfig(latency_ms=40, seed=7)
    with running_emulator(numbers=stack_numbers("local"), faults=slow) as emu:
        project = make_project(tmp_path, emu, "local")
        emu.admin.reset_counters()
        proc = project.engine.popen("up", "--stack", "local", "--yes", "--skip-preview")
        wait_for_writes(emu, writes_before_kill)
        kill_group(proc)
        steps = recover(project)
        assert live_created(emu) == state_created(project), f"after {steps}"
        project.preview("--expect-no-changes")
        assert_clean_destroy(project, stack_numbers("local"))
        print(f"\nkilled after {writes_before_kill} writes; recovery: {steps}")
