"""Where Twilio's OpenAPI specs are: TWILIO_OAI_DIR (set by nox), else nox's default cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from contract_validation import SPEC_FILES, Specs

ROOT = Path(__file__).resolve().parents[2]
NOX_DEFAULT = ROOT / ".cache/twilio-oai/node_modules/@twilio/cli-core/src/services/twilio-api"


def _oai_dir() -> Path | None:
    configured = os.environ.get("TWILIO_OAI_DIR")
    candidate = Path(configured) if configured else NOX_DEFAULT
    if all((candidate / name).exists() for name in SPEC_FILES.values()):
        return candidate
    return None


@pytest.fixture(scope="session")
def specs() -> Specs:
    oai = _oai_dir()
    if oai is None:
        message = (
            "Twilio's OpenAPI specs were not found: set TWILIO_OAI_DIR to the folder "
            "src/services/twilio-api of npm @twilio/cli-core@9.0.0 (`nox -s contract` installs it)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Specs(oai)
