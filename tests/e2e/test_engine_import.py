"""Onboarding on the real engine: apply prod, change the account out of band, import it as a new
stack, validate it, `pulumi up` it (adopts everything, changes nothing in the account), and
`pulumi preview --expect-no-changes`.

Pulumi cannot `pulumi import` dynamic-provider resources (pulumi/pulumi#16175), so a new stack's
first `up` registers every resource: each create finds its record by unique key and adopts it.
The account is compared record by record before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    PROD_ACCOUNT,
    PROD_API_KEY,
    PROD_API_SECRET,
    ROOT,
    make_prod_project,
    prod_emulator_options,
)

from devtools.emulator_testing import RunningEmulator, running_emulator
from devtools.engine import changes

pytestmark = pytest.mark.engine
STUDIO_NUMBER = "+14155550188"
STUDIO = f"https://webhooks.twilio.com/v1/Accounts/{PROD_ACCOUNT}/Flows/FW" + "1" * 32
# Fields the account keeps for itself; everything else must be as before the imported `up`.
VOLATILE = {"date_updated", "date_created", "uri", "links", "subresource_uris"}


def snapshot(emu: RunningEmulator) -> dict[str, Any]:
    state: dict[str, Any] = emu.admin.state()
    tables = state.get("tables", state)
    return {
        kind: sorted(
            ({k: v for k, v in record.items() if k not in VOLATILE} for _, record in rows),
            key=repr,
        )
        for kind, rows in tables.items()
    }


def twilio_voice(
    project: Path, emu: RunningEmulator, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TWILIO_API_BASE_URL": emu.base_url,
        "TWILIO_ACCOUNT_SID": PROD_ACCOUNT,
        "TWILIO_API_KEY": PROD_API_KEY,
        "TWILIO_API_SECRET": PROD_API_SECRET,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "infra", *args, "--project-dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_an_imported_account_validates_adopts_everything_and_previews_clean(
    tmp_path: Path,
) -> None:
    options = prod_emulator_options()
    options["numbers"] = [*options["numbers"], STUDIO_NUMBER]
    with running_emulator(**options) as emu:
        project = make_prod_project(tmp_path, emu)
        project.up()
        acct = emu.client(PROD_API_KEY, PROD_API_SECRET).api.v2010.account
        [number] = acct.incoming_phone_numbers.list(phone_number=STUDIO_NUMBER)
        acct.incoming_phone_numbers(number.sid).update(voice_url=STUDIO, voice_method="POST")
        acct.sip.domains.create(
            domain_name="acme-extra.sip.twilio.com",
            friendly_name="Extra",
            # copied from another domain of the estate, so it enters the same flow
            voice_url="https://voice.acme.example.com/voice/sip/inbound?flow=main",
        )

        # Twilio holds no call flow: the import takes their declaration from the artifact the
        # app serves, as an operator would.
        flows_json = project.folder / "flows.json"
        made = twilio_voice(
            project.folder, emu, "app-config", "--stack", "prod", "--output", str(flows_json)
        )
        assert made.returncode == 0, made.stdout + made.stderr
        imported = twilio_voice(
            project.folder,
            emu,
            "import",
            "--stack",
            "imported",
            "--public-base-url",
            "https://voice.acme.example.com",
            "--call-flows",
            str(flows_json),
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        text = (project.folder / "Pulumi.imported.yaml").read_text()
        assert STUDIO in text
        assert "acme-extra.sip.twilio.com" in text
        valid = twilio_voice(project.folder, emu, "validate", "--stack", "imported")
        assert valid.returncode == 0, valid.stdout + valid.stderr

        engine = project.engine
        engine.select("imported")
        engine.set_config("imported", "twilio:apiKey", PROD_API_KEY, secret=False, path=False)
        engine.set_config("imported", "twilio:apiSecret", PROD_API_SECRET, secret=True, path=False)
        before = snapshot(emu)
        emu.admin.reset_counters()
        adopted = engine.up("imported")
        assert changes(adopted.stdout).get("created", 0) >= 50, adopted.stdout
        after = snapshot(emu)
        changed = {kind for kind in before if before[kind] != after.get(kind)}
        assert changed == set(), f"the imported stack's up changed the account: {changed}"
        engine.preview("imported", "--expect-no-changes")
        engine.preview("imported", "--refresh", "--expect-no-changes")
