"""A stack applied by an earlier release keeps working with today's code, on the real engine.

`fixtures/state-7c9e661/` was made once (never re-recorded) by running the real `pulumi up` of
the `local` stack with the code of commit 7c9e661 (before the one-plan restructuring, the real
engine and the provider-layer split) against the emulator: the exported deployment (every
provider pickled by reference to its module path then, secrets encrypted with the local stack's
passphrase; stack traces stripped, they held machine paths), the emulator's state file, and the
stack file with its salt. Today's code must refresh it, preview it and apply it with no change:
the provider classes still resolve at their shipped paths, and the plan registers the same
resources with the same names, parents and inputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_support import cli_bin

from devtools.emulator_testing import running_emulator
from devtools.engine import Engine, changes
from devtools.projects import lay_out

pytestmark = pytest.mark.engine
FIXTURE = Path(__file__).parent / "fixtures" / "state-7c9e661"


def test_a_stack_applied_by_commit_7c9e661_refreshes_and_applies_with_no_change(
    tmp_path: Path,
) -> None:
    project = lay_out(tmp_path / "project")
    shutil.copy(FIXTURE / "Pulumi.local.yaml", project / "Pulumi.local.yaml")
    emulator_state = tmp_path / "emulator.json"
    shutil.copy(FIXTURE / "emulator.json", emulator_state)

    with running_emulator(numbers=[], state_path=emulator_state) as emu:
        engine = Engine(
            bin_dir=cli_bin(),
            project_dir=project,
            state_dir=tmp_path / "state",
            extra_env=emu.env(),
            home=tmp_path / "pulumi-home",
        )
        engine.select("local")
        engine.run(
            "stack", "import", "--stack", "local", "--file", str(FIXTURE / "deployment.json")
        )
        assert len(engine.resources("local")) == 26  # + the stack and the component: 28

        emu.admin.reset_counters()
        engine.refresh("local", "--expect-no-changes")
        assert emu.admin.counters()["total"] > 0, "refresh read nothing from the account"
        engine.preview("local", "--expect-no-changes")
        applied = engine.up("local")
        summary = changes(applied.stdout)
        assert set(summary) == {"unchanged"}, applied.stdout
        assert summary["unchanged"] >= 28
