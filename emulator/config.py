"""How an emulator instance is set up: credentials, limits, traffic recording."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "emulator-auth-token"  # noqa: S105 - a published, local-only default
RECORD_ENV = "TWILIO_EMULATOR_RECORD"


@dataclass(frozen=True)
class EmulatorConfig:
    """Credentials the emulator accepts and its request limits.

    `api_keys` maps API key SIDs (`SK...`) to secrets. `record_path` appends every Twilio
    request/response pair as JSON lines (for the OpenAPI contract check).
    """

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    api_keys: Mapping[str, str] = field(default_factory=dict)
    admin_token: str | None = None
    max_body_bytes: int = 1 << 20
    record_path: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmulatorConfig:
        """Read TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / TWILIO_API_KEY+SECRET, with defaults."""
        env = os.environ if environ is None else environ
        keys = {}
        if env.get("TWILIO_API_KEY") and env.get("TWILIO_API_SECRET"):
            keys[env["TWILIO_API_KEY"]] = env["TWILIO_API_SECRET"]
        record = env.get(RECORD_ENV)
        return cls(
            account_sid=env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
            auth_token=env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
            api_keys=keys,
            admin_token=env.get("TWILIO_EMULATOR_ADMIN_TOKEN") or None,
            record_path=Path(record) if record else None,
        )


__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "RECORD_ENV", "EmulatorConfig"]
