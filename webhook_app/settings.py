"""Settings: environment variables for the deployment, the call-flows artifact for the calls.

Environment (names kept so operators' existing env files keep working):
``TWILIO_AUTH_TOKEN`` (required), ``TWILIO_AUTH_TOKEN_SECONDARY`` (while rotating it),
``PUBLIC_BASE_URL``, ``TWILIO_CALLER_ID``, ``PORT``, ``LOG_LEVEL``, ``VOICE_STORE_URL``,
``VOICE_SETTINGS_FILE``, ``VOICE_DEDUPE_TTL_SECONDS``, ``TRUSTED_PROXY_HOPS`` and
``METRICS_TOKEN`` / ``METRICS_PORT`` / ``METRICS_HOST`` (``/metrics`` protection,
``webhook_app/ops.py``).
What calls do (menus, dials, SIP users, voicemail boxes, schedules, recording) comes from the
call-flows artifact named by ``VOICE_SETTINGS_FILE`` (``twilio-voice app-config --stack NAME >
flows.json``, ``webhook_app.callflow.artifact``); without it the built-in flow applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from webhook_app.callflow import artifact
from webhook_app.callflow.artifact import ArtifactError, Served
from webhook_app.callflow.checks import check_call_flows
from webhook_app.e164 import check_e164

ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_AUTH_TOKEN_SECONDARY = "TWILIO_AUTH_TOKEN_SECONDARY"  # noqa: S105 (a variable name)
ENV_SETTINGS_FILE = "VOICE_SETTINGS_FILE"
_OLD_FORMATS = (".yaml", ".yml", ".toml")


class SettingsError(ValueError):
    """The environment or the artifact is invalid; the message says where and how to fix it."""


DEFAULT_STORE_URL = "sqlite:///.voice-state.sqlite3"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """The whole configuration of one app process."""

    auth_token: SecretStr
    # During a rotation (docs/webhook-app.md, "Rotating the auth token"): a request signed
    # with either token is accepted.
    auth_token_secondary: SecretStr | None = None
    public_base_url: str = "http://127.0.0.1:8080"
    caller_id: str | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    store_url: str = DEFAULT_STORE_URL
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # /metrics behind a bearer token, and/or on a listener of its own (webhook_app/ops.py).
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # What the app serves: the artifact's call flows (webhook_app.callflow.artifact).
    served: Served = Field(default_factory=artifact.built_in)
    # How long a callback's dedupe key is kept: a redelivery within it is processed once.
    dedupe_ttl_seconds: int = Field(default=86_400, ge=60)

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with https:// (or http:// for local use)")
        return value.rstrip("/")

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str | None) -> str | None:
        return None if not value else check_e164(value)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. openssl rand -hex 16)")
        return value

    def signing_keys(self) -> tuple[bytes, ...]:
        """The tokens a signature may be made with, UTF-8 encoded: the primary first."""
        tokens = [self.auth_token, self.auth_token_secondary]
        keys = [t.get_secret_value().encode("utf-8") for t in tokens if t is not None]
        return tuple(dict.fromkeys(keys))  # the same token twice would cost a second HMAC


def read_served(path: Path) -> Served:
    """The call-flows artifact at ``path``, checked as infra checks a stack's call flows.

    The old YAML/TOML settings file is refused with how to migrate; a hand-edited artifact
    (its hash no longer matches) and one with a dangling step are refused too.
    """
    if path.suffix.lower() in _OLD_FORMATS:
        raise SettingsError(
            f"{ENV_SETTINGS_FILE}={path}: the YAML/TOML settings file is gone: what calls do is "
            "declared in the stack's call_flows section and the app serves the artifact made "
            "from it: `twilio-voice app-config --stack NAME > flows.json`, then "
            f'{ENV_SETTINGS_FILE}=flows.json (docs/webhook-app.md, "Migrating from the '
            'settings file", maps each old key to its call_flows key)'
        )
    try:
        served = artifact.read(path)
    except ArtifactError as exc:
        raise SettingsError(f"{ENV_SETTINGS_FILE}={exc}") from None
    errors = [
        f
        for f in check_call_flows(served.call_flows, dial_countries=served.dial_countries)
        if not f.warning
    ]
    if errors:
        problems = "; ".join(f"call_flows.{f.path}: {f.message}" for f in errors[:5])
        raise SettingsError(f"{ENV_SETTINGS_FILE}={path}: {problems}")
    return served


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables (and the artifact they name)."""
    token = environ.get(ENV_AUTH_TOKEN, "")
    if not token:
        raise SettingsError(
            f"{ENV_AUTH_TOKEN} is not set: export the account's Auth Token (Console > Account "
            "> API keys & tokens); every Twilio request is validated with it"
        )
    settings_file = environ.get(ENV_SETTINGS_FILE)
    served = read_served(Path(settings_file)) if settings_file else artifact.built_in()
    port = environ.get("PORT", "8080")
    raw: dict[str, object] = {
        "auth_token": token,
        "auth_token_secondary": environ.get(ENV_AUTH_TOKEN_SECONDARY) or None,
        "public_base_url": environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
        "caller_id": environ.get("TWILIO_CALLER_ID") or None,
        "port": port,
        "log_level": environ.get("LOG_LEVEL", "INFO").upper(),
        "store_url": environ.get("VOICE_STORE_URL", DEFAULT_STORE_URL),
        "trusted_proxy_hops": environ.get("TRUSTED_PROXY_HOPS", "0"),
        "metrics_token": environ.get("METRICS_TOKEN") or None,
        "metrics_port": environ.get("METRICS_PORT") or None,
        "metrics_host": environ.get("METRICS_HOST") or "127.0.0.1",
        "served": served,
        "dedupe_ttl_seconds": environ.get("VOICE_DEDUPE_TTL_SECONDS") or 86_400,
    }
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(f"environment: {_describe(exc)}") from exc


_ENV_NAMES = {
    "auth_token": ENV_AUTH_TOKEN,
    "auth_token_secondary": ENV_AUTH_TOKEN_SECONDARY,
    "public_base_url": "PUBLIC_BASE_URL",
    "caller_id": "TWILIO_CALLER_ID",
    "port": "PORT",
    "log_level": "LOG_LEVEL",
    "store_url": "VOICE_STORE_URL",
    "trusted_proxy_hops": "TRUSTED_PROXY_HOPS",
    "metrics_token": "METRICS_TOKEN",
    "metrics_port": "METRICS_PORT",
    "metrics_host": "METRICS_HOST",
    "dedupe_ttl_seconds": "VOICE_DEDUPE_TTL_SECONDS",
}


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as `where: what` lines, without echoing input values (may be secrets)."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"{_ENV_NAMES.get(where, where)}: {err['msg']}")
    return "; ".join(lines)
