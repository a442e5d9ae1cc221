"""The prod-shaped stack through the real CLI: secrets never reach state, the policy pack gates.

Secrets are set the way the README tells users to (`pulumi config set --secret [--path]`): every
credential password and the API key secret. After `up`, neither `pulumi stack export` nor any file
the backend wrote holds one of them in any encoding.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from engine_support import ROOT, make_prod_project, prod_emulator_options

from devtools.emulator_testing import running_emulator
from devtools.engine import changes

pytestmark = pytest.mark.engine
POLICY_CONFIG = str(ROOT / "infra" / "policy" / "config.json")
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in state


def encodings(secret: str) -> set[str]:
    """The forms a leaked secret could take in a JSON state file or a log."""
    raw = secret.encode()
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        binascii.hexlify(raw).decode(),
        binascii.hexlify(raw).decode().upper(),
        secret[::-1],
    }
    for encode in (base64.b64encode, base64.urlsafe_b64encode, base64.b32encode):
        text = encode(raw).decode()
        forms.update({text, text.rstrip("=")})
    # a base64 run can start at any of three byte offsets inside a longer encoded blob
    for offset in (1, 2):
        inner = base64.b64encode(b"\0" * offset + raw).decode()
        forms.add(inner[4:-4])
    return {form for form in forms if len(form) >= 8}


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [
        f"{where} ({form[:6]}...)"
        for where, secret in secrets.items()
        for form in encodings(secret)
        if form in text
    ]


def test_prod_secrets_never_reach_state_and_a_no_op_preview_is_clean(tmp_path: Path) -> None:
    with running_emulator(**prod_emulator_options()) as emu:
        project = make_prod_project(tmp_path, emu)
        assert len(project.secrets) == 6, project.secrets  # 5 passwords + the API secret
        out = project.up()
        assert changes(out).get("created", 0) >= 50, out
        project.preview("--expect-no-changes")

        exported = json.dumps(project.engine.export("prod"))
        assert leaks(exported, project.secrets) == [], "plaintext secret in `pulumi stack export`"
        backend_files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
        assert backend_files, "the file backend wrote nothing"
        for path in [*backend_files, project.stack_file]:
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert leaks(text, project.secrets) == [], f"plaintext secret in {path.name}"
        # The CLI's own output never shows them either.
        assert leaks(out, project.secrets) == []
        # Every credential's fingerprint is a secret in state (policy: fingerprints are secrets).
        credentials = [
            r for r in project.engine.resources("prod") if r["type"].endswith(":Credential")
        ]
        assert len(credentials) == 5
        for record in credentials:
            hidden = {k: v for k, v in record["outputs"].items() if "password" in k}
            assert hidden, record["outputs"].keys()
            for key, value in hidden.items():
                assert SECRET_SIG in json.dumps(value), f"{key} is not a secret in state"

        project.engine.run("state", "unprotect", "--all", "--yes", "--stack", "prod")
        project.engine.destroy("prod")


def test_policy_pack_mandatory_fails_the_preview_and_advisory_warns(tmp_path: Path) -> None:
    def violate(env: dict[str, Any]) -> None:
        # mandatory: a SIP domain that authenticates no calls
        env["sip_domains"][0]["auth"]["calls"] = {}
        # advisory: an origination URL without an edge parameter
        env["trunks"][0]["origination_urls"][0]["sip_url"] = "sip:pbx.acme.example.com"
        # mandatory in production: silence at the main menu's first prompt hangs up on the caller
        env["call_flows"]["flows"]["main"]["menus"]["main"]["first_silence"] = "hangup"

    with running_emulator(**prod_emulator_options()) as emu:
        clean = make_prod_project(tmp_path / "clean", emu)
        pack = (
            "--policy-pack",
            "infra/policy",
            "--policy-pack-config",
            POLICY_CONFIG,
        )
        passed = clean.preview(*pack)
        assert "twilio-voice-guardrails" in passed.stdout
        assert "mandatory" not in passed.stdout.lower()

        bad = make_prod_project(tmp_path / "bad", emu, change=violate)
        pack = ("--policy-pack", "infra/policy", "--policy-pack-config", POLICY_CONFIG)
        failed = bad.preview(*pack, check=False)
        text = failed.stdout + failed.stderr
        assert failed.returncode != 0, text
        assert "voice-sip-domain-call-auth" in text
        assert "mandatory" in text.lower()
        # the call flows reach the pack as the state-only CallFlows resource
        assert "voice-prod-calls-end-with-a-person" in text
        assert "call_flows.flows.main.menus.main.first_silence: reprompt" in text
        assert "voice-origination-url-edge" in text
        assert "advisory" in text.lower()

        def advisory_only(env: dict[str, Any]) -> None:
            env["trunks"][0]["origination_urls"][0]["sip_url"] = "sip:pbx.acme.example.com"

        warned = make_prod_project(tmp_path / "warn", emu, change=advisory_only)
        pack = (
            "--policy-pack",
            "infra/policy",
            "--policy-pack-config",
            POLICY_CONFIG,
        )
        result = warned.preview(*pack)
        assert "voice-origination-url-edge" in result.stdout
        assert "advisory" in result.stdout.lower()
