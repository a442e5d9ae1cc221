"""The stack config as the engine hands it to programs and providers, read from the YAML file.

Per top-level key: strings stay strings, structured values become JSON text, and a key is
secret when any leaf under it is `{secure: ...}` (pkg config semantics). Encrypted leaves need
the Pulumi CLI to decrypt; the caller may pass `decrypt` (path, ciphertext) -> plaintext, e.g. a
test substituting known passwords. Without it, an encrypted value is an error naming its path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.spec.stackfile import StackFileError, project_name, read_yaml_file, stack_file

Decrypt = Callable[[str, str], str]


@dataclass(frozen=True)
class StackConfig:
    """Project, stack and the engine-shaped config (full keys -> strings)."""

    project: str
    stack: str
    values: Mapping[str, str]
    secret_keys: frozenset[str]


class EncryptedConfigError(StackFileError):
    """The stack file has `{secure: ...}` values and no way to decrypt them was given."""


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def resolve(value: Any, path: str, decrypt: Decrypt | None, stack: str) -> tuple[Any, bool]:
    """Replace `{secure: ...}` leaves by plaintext; report whether any leaf was secure."""
    if _is_secure(value):
        if decrypt is None:
            raise EncryptedConfigError(
                f"{stack}: {path} is encrypted ({{secure: ...}}); infra.offline cannot decrypt "
                "Pulumi secrets. Use `pulumi up` for this stack, or the `local` stack offline"
            )
        return decrypt(path, str(value["secure"])), True
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        found = False
        for key, item in value.items():
            out[str(key)], secret = resolve(item, f"{path}.{key}", decrypt, stack)
            found = found or secret
        return out, found
    if isinstance(value, list):
        items = [resolve(item, f"{path}[{i}]", decrypt, stack) for i, item in enumerate(value)]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def to_config_string(value: Any) -> str:
    """How the engine passes one top-level value: strings verbatim, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def engine_config(
    raw: Mapping[str, Any], project: str, stack: str, decrypt: Decrypt | None = None
) -> StackConfig:
    """Turn a stack file's `config:` mapping into what the engine sends (keys namespaced)."""
    values: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in raw.items():
        full = key if ":" in key else f"{project}:{key}"
        plain, is_secret = resolve(value, full, decrypt, stack)
        values[full] = to_config_string(plain)
        if is_secret:
            secret.add(full)
    return StackConfig(project, stack, values, frozenset(secret))


def load_stack_config(project_dir: Path, stack: str, decrypt: Decrypt | None = None) -> StackConfig:
    """Read `Pulumi.yaml` + `Pulumi.<stack>.yaml` from `project_dir`."""
    project = project_name(project_dir)
    path = stack_file(project_dir, stack)
    if not path.is_file():
        raise StackFileError(f"{path}: stack file not found; check the stack name")
    data = read_yaml_file(path) or {}
    if not isinstance(data, Mapping):
        raise StackFileError(f"{path}: expected a mapping with a 'config:' key")
    raw = data.get("config") or {}
    if not isinstance(raw, Mapping):
        raise StackFileError(f"{path}: 'config:' must be a mapping")
    return engine_config(raw, project, stack, decrypt)
