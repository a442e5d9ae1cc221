"""Load a raw environment mapping into an `Environment`, or raise `SpecError` with every issue."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from infra.spec.context import SpecContext
from infra.spec.issues import SpecError, SpecIssue
from infra.spec.models import Environment
from infra.spec.rules import check_environment


def load_environment(raw: Mapping[str, Any], stack: str, *, secrets_decrypted: bool) -> Environment:
    """Validate `raw` (the value of `twilio-voice:environment`) for `stack`.

    `secrets_decrypted`: the Pulumi program passes True when the config key is secret and it
    received decrypted plaintext, so plaintext passwords count as Pulumi secrets. `validate`
    passes False: it reads the stack file, where secrets are `{secure: ...}` ciphertext.
    Shape and value errors are reported first; cross-reference rules run once the shape is valid.
    """
    if not isinstance(raw, Mapping):
        raise SpecError(
            stack,
            [SpecIssue("", f"expected a mapping of spec keys, got {type(raw).__name__}")],
        )
    context = SpecContext(stack=stack, secrets_decrypted=secrets_decrypted)
    try:
        env = Environment.model_validate(raw, context=context)
    except ValidationError as exc:
        issues = [issue_from_error(err) for err in exc.errors()]
        # `from None`: the pydantic error would carry input values (secrets) into tracebacks.
        raise SpecError(stack, issues, shape=True) from None
    issues = check_environment(env, local=context.is_local)
    if issues:
        raise SpecError(stack, issues)
    return env


def format_path(loc: tuple[int | str, ...]) -> str:
    """`('sip_domains', 1, 'auth')` -> `sip_domains[1].auth`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def issue_from_error(err: ErrorDetails) -> SpecIssue:
    """One pydantic error as a `SpecIssue` with a message that says how to fix it."""
    loc = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    path = format_path(loc)
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return SpecIssue(path, f"unknown key '{loc[-1]}'{hint}; remove it or fix its spelling")
    if kind == "missing":
        return SpecIssue(path, f"required key '{loc[-1]}' is missing; add it")
    if kind in ("tuple_type", "list_type"):
        return SpecIssue(path, "expected a list (YAML '- item' entries)")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return SpecIssue(path, "expected a mapping of keys (YAML 'key: value' entries)")
    if kind == "literal_error":
        return SpecIssue(
            path, f"'{err.get('input')}' is not allowed; use one of: {ctx.get('expected', '')}"
        )
    if kind in ("bool_type", "bool_parsing"):
        return SpecIssue(path, "expected true or false")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return SpecIssue(path, "expected a whole number")
    if kind in ("string_type",):
        return SpecIssue(path, "expected a string (quote it in YAML)")
    if kind == "too_short" and path.endswith("targets"):
        return SpecIssue(path, "a connection policy needs at least one target; add one")
    if kind == "plaintext_secret":
        return SpecIssue(
            path,
            f"{err['msg']}; encrypt it with `pulumi config set --secret --path "
            f"'twilio-voice:environment.{path}' <password>`",
        )
    return SpecIssue(path, err["msg"])


def allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at `loc` accepts (for 'unknown key' messages); empty if unknown."""
    current: Any = Environment
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = [a for a in typing.get_args(current) if a is not Ellipsis]
            if not args:
                return []
            current = args[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """`X | None` -> `X`."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp
