"""Load a raw environment mapping into an `Environment`, or raise `SpecError` with every issue."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from infra.spec.context import LOCAL_STACK, SpecContext
from infra.spec.issues import SpecError, SpecIssue, errors
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
    if errors(issues):
        raise SpecError(stack, issues)
    return env


def spec_warnings(env: Environment, stack: str) -> list[SpecIssue]:
    """The warnings of a valid spec (unreachable menus, flows nothing enters): shown, not fatal."""
    return [i for i in check_environment(env, local=stack == LOCAL_STACK) if i.warning]


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
    if kind in ("too_short", "too_long"):
        return SpecIssue(path, _length_message(kind, path, ctx))
    if kind in _BOUNDS:
        word, key = _BOUNDS[kind]
        return SpecIssue(
            path, f"{err.get('input')!r} is out of range: it must be {word} {ctx.get(key)}"
        )
    if kind.startswith("date_"):
        return SpecIssue(
            path, f"{err.get('input')!r} is not a date: write YYYY-MM-DD (e.g. 2026-12-25)"
        )
    if kind == "string_pattern_mismatch":
        return SpecIssue(path, _pattern_message(path, err.get("input")))
    if kind == "plaintext_secret":
        return SpecIssue(
            path,
            f"{err['msg']}; encrypt it with `pulumi config set --secret --path "
            f"'twilio-voice:environment.{path}' <password>`",
        )
    return SpecIssue(path, err["msg"])


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _length_message(kind: str, path: str, ctx: dict[str, Any]) -> str:
    actual = ctx.get("actual_length")
    if kind == "too_long":
        limit = ctx.get("max_length")
        why = " (Twilio rings at most 10 numbers at once)" if path.endswith("numbers") else ""
        return f"lists {actual} entries; at most {limit} are allowed here{why}: remove some"
    least = ctx.get("min_length")
    if least == 1:
        return "is empty: it needs at least one entry; add one"
    return f"needs at least {least} entries; add more"


def _pattern_message(path: str, value: object) -> str:
    if path.endswith(".digit"):
        return f"{value!r} is not a key of a phone's keypad: use one of 0-9, * or #"
    if path.endswith(".uri"):
        return f"{value!r} is not a SIP URI of a user: write sip:<user>@<host>"
    if path.endswith("speech_timeout"):
        return f"{value!r} is not auto or a number of seconds (1-99)"
    return f"{value!r} does not have the expected form"


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
        elif typing.get_origin(current) is dict:
            # A mapping keyed by names (call_flows.flows.main): the part is a key.
            current = typing.get_args(current)[1]
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
