"""Read `Pulumi.<stack>.yaml` directly (no Pulumi CLI): secure values stay encrypted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from infra.spec.load import load_environment
from infra.spec.models import Environment

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
    data = _read_yaml(path)
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


def read_stack_environment(project_dir: Path, stack: str) -> Mapping[str, Any]:
    """The raw value of `<project>:environment` in `Pulumi.<stack>.yaml`."""
    key = config_key(project_name(project_dir))
    path = stack_file(project_dir, stack)
    if not path.is_file():
        raise StackFileError(
            f"{path}: stack file not found; create it (see docs/environment-spec.md) or check "
            f"the stack name"
        )
    data = _read_yaml(path)
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
    return raw


def load_stack_file(project_dir: Path, stack: str) -> Environment:
    """Validate a stack file as `validate` and `drift` see it (secrets not decrypted)."""
    raw = read_stack_environment(project_dir, stack)
    return load_environment(raw, stack, secrets_decrypted=False)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise StackFileError(f"{path}: invalid YAML{where}: {problem}") from None
