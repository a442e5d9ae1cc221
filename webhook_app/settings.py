"""Settings: environment variables for the deployment, a YAML/TOML file for the call flows.

Environment (names kept so operators' existing env files keep working):
``TWILIO_AUTH_TOKEN`` (required), ``TWILIO_AUTH_TOKEN_SECONDARY`` (while rotating it),
``PUBLIC_BASE_URL``, ``TWILIO_CALLER_ID``, ``PORT``, ``LOG_LEVEL``, ``VOICE_STORE_URL``,
``VOICE_SETTINGS_FILE``, ``TRUSTED_PROXY_HOPS`` and ``METRICS_TOKEN`` / ``METRICS_PORT`` /
``METRICS_HOST`` (``/metrics`` protection, ``webhook_app/ops.py``).
The flow settings (menu, operator, SIP users, BYOC routes, disaster recovery) come from the file
named by ``VOICE_SETTINGS_FILE``; without it the embedded defaults below apply.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from webhook_app.e164 import check_e164

ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_AUTH_TOKEN_SECONDARY = "TWILIO_AUTH_TOKEN_SECONDARY"  # noqa: S105 (a variable name)
ENV_SETTINGS_FILE = "VOICE_SETTINGS_FILE"

ActionKind = Literal["dial", "sip", "conference", "voicemail", "operator"]


class SettingsError(ValueError):
    """The environment or the settings file is invalid; the message says where and how to fix."""


DEFAULT_STORE_URL = "sqlite:///.voice-state.sqlite3"
_HINT_SEPARATORS = re.compile(r"[^\w\s']+")  # commas split Twilio's hints; hyphens join words


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MenuOption(_Model):
    """One IVR choice: the DTMF digit, the words that select it by speech, and where it goes."""

    digit: str = Field(pattern=r"^[0-9*#]$")
    label: str
    keywords: tuple[str, ...] = ()
    action: ActionKind
    # `dial`: an E.164 number; `sip`: a user of `sip_users`; other actions ignore it.
    target: str = ""


class Menu(_Model):
    """The IVR menu and its prompts; the defaults are the benchmark's reference TwiML."""

    voice: str = "Polly.Joanna"
    language: str = "en-US"
    input: Literal["dtmf", "speech", "dtmf speech"] = "dtmf"
    timeout: int = Field(default=5, ge=1, le=60)
    speech_timeout: str = Field(default="auto", pattern=r"^(auto|[1-9][0-9]?)$")
    prompt: str = "Press 1 for sales. Press 2 for support."
    # Silence at the first prompt: say `no_input` and hang up (the benchmark's reference
    # answer), or "reprompt" like any other timeout, counting it against max_retries.
    first_silence: Literal["goodbye", "reprompt"] = "goodbye"
    no_input: str = "No input received. Goodbye."
    invalid: str = "Sorry, that is not a valid choice."
    reprompt_no_input: str = "Sorry, I did not hear anything."
    goodbye: str = "Goodbye."
    transferring: str = "Please hold while we connect you to an operator."
    max_retries: int = Field(default=2, ge=0, le=10)
    # Unused since the retry count travels in the <Gather action> URL; still accepted, so
    # settings files that set it stay valid.
    session_ttl_seconds: int = Field(default=3600, ge=60)
    options: tuple[MenuOption, ...] = (
        MenuOption(
            digit="1",
            label="sales",
            keywords=("sales", "buy"),
            action="dial",
            target="+14155550101",
        ),
        MenuOption(digit="2", label="support", keywords=("support", "help"), action="conference"),
        MenuOption(digit="9", label="voicemail", keywords=("message",), action="voicemail"),
    )

    @property
    def hints(self) -> str:
        """Gather ``hints``: the options' labels and keywords as Twilio takes them.

        Comma-separated phrases of space-separated words (``tech-support`` -> ``tech
        support``), each at most 100 characters, at most 500, each once.
        """
        phrases: dict[str, str] = {}
        for option in self.options:
            for text in (option.label, *option.keywords):
                phrase = " ".join(_HINT_SEPARATORS.sub(" ", text).split())[:100].strip()
                if phrase:
                    phrases.setdefault(phrase.casefold(), phrase)
        return ", ".join(list(phrases.values())[:500])

    @field_validator("options")
    @classmethod
    def _unique_digits(cls, options: tuple[MenuOption, ...]) -> tuple[MenuOption, ...]:
        digits = [o.digit for o in options]
        if len(set(digits)) != len(digits):
            raise ValueError(f"menu options repeat a digit: {digits}")
        return options


class SipUser(_Model):
    """A SIP user at ``uri``, with an optional PSTN number to try when it doesn't answer."""

    uri: str = Field(pattern=r"^sips?:[^@\s]+@[^@\s]+$")
    pstn_fallback: str | None = None

    @field_validator("pstn_fallback")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else check_e164(value)


class FlowSettings(_Model):
    """Everything the settings file may hold (all optional)."""

    operator_number: str | None = "+14155550100"
    dial_timeout: int = Field(default=20, ge=5, le=600)
    menu: Menu = Menu()
    sip_users: dict[str, SipUser] = {
        "alice": SipUser(uri="sip:alice@pbx.example.com", pstn_fallback="+14155550102")
    }
    # BYOC: called number -> SIP URI or E.164 number; unknown numbers get the IVR.
    byoc_routes: dict[str, str] = {}
    disaster_recovery_number: str | None = None
    # ISO region whose dialling rules apply to SIP users and BYOC numbers written without "+"
    # ("US": 4155550100, 14155550100, 011442071838750). Unset: only +E.164 is dialled.
    dial_region: str | None = None
    # ISO codes of the countries a SIP user may dial out to; unset: every country. Premium-rate,
    # shared-cost and non-geographic numbers are refused either way (webhook_app/dialing.py),
    # with dial_refused_message spoken.
    dial_countries: tuple[str, ...] | None = None
    dial_refused_message: str = "Sorry, calls to that number are not allowed. Goodbye."
    no_answer_message: str = "Nobody is available to take your call. Please try again later."
    fallback_message: str = "We are sorry, we are having technical difficulties."
    voicemail_prompt: str = "Please leave a message after the tone."
    voicemail_max_seconds: int = Field(default=120, ge=5, le=3600)
    voicemail_thanks: str = "Thank you. Goodbye."
    # outbound_call answered by a machine: this message is left (a <Say>), or the recording at
    # voicemail_drop_url is played instead when set; then the call hangs up.
    voicemail_drop_message: str = (
        "Hello, this is a message from our team. Please call us back. Thank you. Goodbye."
    )
    voicemail_drop_url: str | None = None
    dedupe_ttl_seconds: int = Field(default=86_400, ge=60)

    @model_validator(mode="after")
    def _menu_targets(self) -> FlowSettings:
        for option in self.menu.options:
            where = f"menu.options[digit {option.digit}]"
            if option.action == "dial":
                try:
                    check_e164(option.target)
                except ValueError as exc:
                    raise ValueError(f"{where}: action dial needs target: {exc}") from None
            if option.action == "sip" and option.target not in self.sip_users:
                raise ValueError(
                    f"{where}: action sip needs target to be one of sip_users "
                    f"({', '.join(sorted(self.sip_users)) or 'none defined'})"
                )
        return self

    @field_validator("voicemail_drop_url")
    @classmethod
    def _drop_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} must be an https:// URL of a recording Twilio can fetch")
        return value or None

    @field_validator("operator_number", "disaster_recovery_number", "dial_region", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        # TOML has no null: "" switches these off there (YAML may use null or "").
        return None if value == "" else value

    @field_validator("operator_number", "disaster_recovery_number")
    @classmethod
    def _optional_e164(cls, value: str | None) -> str | None:
        return None if value is None else check_e164(value)

    @field_validator("dial_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"{value!r} is not a known region; use an ISO 3166 code such as US or GB"
            )
        return value.upper()

    @field_validator("dial_countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        codes = []
        for code in value:
            if code.upper() not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(
                    f"{code!r} is not a country with a numbering plan; use ISO 3166 codes such "
                    "as US, CA or GB"
                )
            codes.append(code.upper())
        return tuple(dict.fromkeys(codes))

    @field_validator("byoc_routes")
    @classmethod
    def _routes(cls, routes: dict[str, str]) -> dict[str, str]:
        for number, target in routes.items():
            check_e164(number)
            if not target.startswith(("sip:", "sips:")):
                check_e164(target)
        return routes


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
    flows: FlowSettings = FlowSettings()

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


def read_flow_settings(path: Path) -> FlowSettings:
    """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) flow settings file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"{ENV_SETTINGS_FILE}={path}: cannot read it ({exc.strerror}); fix the path"
        ) from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: not valid {path.suffix[1:] or 'YAML'}: {exc}") from exc
    try:
        return FlowSettings.model_validate(data or {})
    except ValidationError as exc:
        raise SettingsError(f"{path}: {_describe(exc)}") from exc


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables (and the settings file they name)."""
    token = environ.get(ENV_AUTH_TOKEN, "")
    if not token:
        raise SettingsError(
            f"{ENV_AUTH_TOKEN} is not set: export the account's Auth Token (Console > Account "
            "> API keys & tokens); every Twilio request is validated with it"
        )
    settings_file = environ.get(ENV_SETTINGS_FILE)
    flows = read_flow_settings(Path(settings_file)) if settings_file else FlowSettings()
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
        "flows": flows,
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
}


def _describe(exc: ValidationError) -> str:
    """Pydantic errors as `where: what` lines, without echoing input values (may be secrets)."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        lines.append(f"{_ENV_NAMES.get(where, where)}: {err['msg']}")
    return "; ".join(lines)
