"""How an emulator instance is set up: credentials, limits, traffic recording, where it listens."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "emulator-auth-token"  # noqa: S105 - a published, local-only default
RECORD_ENV = "TWILIO_EMULATOR_RECORD"
ADMIN_TOKEN_ENV = "TWILIO_EMULATOR_ADMIN_TOKEN"  # noqa: S105 - the variable's name
DEFAULT_HOST = "127.0.0.1"
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (`127.0.0.0/8`, `::1`), brackets allowed."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class EmulatorConfig:
    """Credentials the emulator accepts and its request limits.

    `api_keys` maps API key SIDs (`SK...`) to secrets. `record_path` appends every Twilio
    request/response pair as JSON lines (for the OpenAPI contract check). `bind_host` is where
    the server listens: the admin API answers to it and to loopback names only, and beyond
    loopback it needs `admin_token`.
    """

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    api_keys: Mapping[str, str] = field(default_factory=dict)
    admin_token: str | None = None
    max_body_bytes: int = 1 << 20
    record_path: Path | None = None
    bind_host: str = DEFAULT_HOST

    @property
    def beyond_loopback(self) -> bool:
        """Whether the server listens where other machines (or containers) may reach it."""
        return not is_loopback(self.bind_host)

    def admin_host_allowed(self, hostname: str) -> bool:
        """Whether a request's Host (or Origin) name may drive the admin API."""
        name = hostname.strip().lower().strip("[]")
        return is_loopback(name) or name == self.bind_host.strip().lower().strip("[]")

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
            admin_token=env.get(ADMIN_TOKEN_ENV) or None,
            record_path=Path(record) if record else None,
        )


__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_HOST",
    "RECORD_ENV",
    "EmulatorConfig",
    "is_loopback",
]
