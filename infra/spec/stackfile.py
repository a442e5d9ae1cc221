"""Read `Pulumi.<stack>.yaml` directly (no Pulumi CLI): secure values stay encrypted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from infra.spec.context import LOCAL_STACK
from infra.spec.issues import SpecError, SpecIssue
from infra.spec.lines import Locator, line_locator
from infra.spec.load import load_environment
from infra.spec.models import Environment
from infra.spec.safeyaml import describe_yaml_error, load_stack_yaml

DEFAULT_PROJECT = "twilio-voice"
ENVIRONMENT_KEY = "environment"
_STACK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StackFileError(Exception):
    """The stack file cannot be read: missing, not YAML, or without the environment key."""


def config_key(project: str = DEFAULT_PROJECT) -> str:
    """The structured config key holding the spec, e.g. `twilio-voice:environment`."""
    return f"{project}:{ENVIRONMENT_KEY}"


def project_name(project_dir: Path) -> str:
    """The project name from `Pulumi.yaml` (the config key namespace)."""
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        raise StackFileError(
            f"{path}: no Pulumi.yaml here; pass --project-dir pointing at the project root"
        )
    data = read_yaml_file(path)
    name = data.get("name") if isinstance(data, Mapping) else None
    if not isinstance(name, str) or not name:
        raise StackFileError(f"{path}: has no project 'name:'")
    return name


def stack_file(project_dir: Path, stack: str) -> Path:
    if not _STACK_RE.fullmatch(stack):
        raise StackFileError(
            f"invalid stack name {stack!r}: use letters, digits, '-', '_' or '.' (e.g. prod)"
        )
    return project_dir / f"Pulumi.{stack}.yaml"


def read_stack_config(project_dir: Path, stack: str) -> tuple[Mapping[str, Any], str]:
    """The `config:` mapping of `Pulumi.<stack>.yaml` and the spec's config key in it."""
    key = config_key(project_name(project_dir))
    path = stack_file(project_dir, stack)
    if not path.is_file():
        raise StackFileError(
            f"{path}: stack file not found; create it (see docs/environment-spec.md) or check "
            f"the stack name"
        )
    data = read_yaml_file(path)
    config = data.get("config") if isinstance(data, Mapping) else None
    if not isinstance(config, Mapping):
        raise StackFileError(f"{path}: no 'config:' mapping; add config: {{{key}: ...}}")
    raw = config.get(key)
    if raw is None:
        raise StackFileError(f"{path}: config key '{key}' is missing; declare the spec there")
    if not isinstance(raw, Mapping):
        raise StackFileError(
            f"{path}: config key '{key}' must be a mapping (the structured spec), "
            f"got {type(raw).__name__}"
        )
    return config, key


def read_stack_environment(project_dir: Path, stack: str) -> Mapping[str, Any]:
    """The raw value of `<project>:environment` in `Pulumi.<stack>.yaml`."""
    config, key = read_stack_config(project_dir, stack)
    raw: Mapping[str, Any] = config[key]
    return raw


def load_stack_file(project_dir: Path, stack: str) -> Environment:
    """Validate a stack file as `validate` and `drift` see it (secrets not decrypted).

    Also checks the Twilio provider keys next to the spec: `twilio:authToken` and
    `twilio:apiSecret` are secrets; `twilio:accountSid`, `apiKey` and `edge` agree with the spec.
    """
    config, key = read_stack_config(project_dir, stack)
    provider_issues = provider_config_issues(config, config[key], stack)
    try:
        env = load_environment(config[key], stack, secrets_decrypted=False)
    except SpecError as exc:
        raise SpecError(stack, [*provider_issues, *exc.issues], shape=exc.shape) from None
    if provider_issues:
        raise SpecError(stack, provider_issues)
    return env


def stack_file_locator(project_dir: Path, stack: str) -> Locator:
    """Config path -> line in `Pulumi.<stack>.yaml` (None when unknown or unreadable)."""
    try:
        text = stack_file(project_dir, stack).read_text(encoding="utf-8")
        key = config_key(project_name(project_dir))
    except (OSError, UnicodeDecodeError, StackFileError):
        return lambda path: None
    return line_locator(text, key)


# Provider config key -> the spec value it must agree with (path inside the environment).
_PROVIDER_MIRRORS: dict[str, tuple[str, ...]] = {
    "twilio:accountSid": ("credentials", "account_sid"),
    "twilio:apiKey": ("credentials", "api_key_sid"),
    # Not twilio:region: the REST API region and the inbound processing region may differ.
    "twilio:edge": ("edge",),
}
PROVIDER_SECRET_KEYS: tuple[str, ...] = ("twilio:authToken", "twilio:apiSecret")


def provider_config_issues(
    config: Mapping[str, Any], environment: Any, stack: str
) -> list[SpecIssue]:
    """Problems with the `twilio:*` provider keys of a stack file (read without decrypting)."""
    issues: list[SpecIssue] = []
    if stack != LOCAL_STACK:
        for key in PROVIDER_SECRET_KEYS:
            value = config.get(key)
            if value is not None and not (isinstance(value, Mapping) and "secure" in value):
                issues.append(
                    SpecIssue(
                        key,
                        f"{key} is plain text; outside the `local` stack it must be a Pulumi "
                        f"secret: `pulumi config set --secret {key} <value>`",
                    )
                )
    for key, spec_path in _PROVIDER_MIRRORS.items():
        value = config.get(key)
        declared: Any = environment
        for part in spec_path:
            declared = declared.get(part) if isinstance(declared, Mapping) else None
        if value is not None and declared is not None and value != declared:
            where = ".".join(spec_path)
            issues.append(
                SpecIssue(
                    key,
                    f"{key} is '{value}' but the spec's {where} is '{declared}'; make them "
                    f"agree (or drop {key} and let the spec decide)",
                )
            )
    return issues


def read_yaml_file(path: Path) -> Any:
    """The data of a YAML file of the project, read by the one stack-file loader.

    `infra.spec.safeyaml` limits aliasing, nesting and integer size (stack files come from pull
    requests); any problem is a one-line `StackFileError` naming the file, line and column.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{path}: cannot read: {exc}") from None
    try:
        return load_stack_yaml(text)
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: {describe_yaml_error(exc)}") from None
