"""What a Twilio resource kind declares, and the pure rules derived from it.

A kind declares a frozen pydantic args model, a field table (`Field`: PascalCase form name, diff
mode, clearing behaviour), the REST paths and its unique key (`Kind`). From that this module
derives what drift detection and the provider engine (`infra.resources.base`) share: form
params, the normalised live record, and the diff. No I/O here. A kind whose mapping is not the
table's default passes its own pure functions to `Kind` (`params`, `update_params`,
`normaliser`); that is the one place for a kind's pure special cases.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticUndefined

from infra.errors import ProviderError
from infra.resources import fingerprint
from infra.resources.types import AccountSid

PROVIDER_KEY = "__provider"

Mode = Literal["update", "replace", "local", "write_only"]


class ArgsBase(BaseModel):
    """Inputs common to every kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The account the environment spec declares; create refuses other credentials.
    expected_account_sid: AccountSid | None = None


A = TypeVar("A", bound=ArgsBase)


@dataclass(frozen=True)
class Field:
    """One input of a kind and how it reaches Twilio and the diff.

    mode: `update` (changed in place), `replace` (a change recreates the resource), `local`
    (kept in state only, never sent), `write_only` (sent, never returned by Twilio: compared via
    `<name>_hash`). `clear=True`: removing the input sends "" so Twilio clears the value;
    `clear=False`: Twilio cannot clear it, so an unset input is neither sent nor diffed.
    `output=False`: the live record does not carry it (path parameters), state keeps it.
    """

    name: str
    param: str | None = None
    mode: Mode = "update"
    clear: bool = True
    output: bool = True


EXPECTED_ACCOUNT = Field("expected_account_sid", mode="local")


@dataclass(frozen=True)
class Kind(Generic[A]):
    """Everything declarative about one Twilio resource kind."""

    name: str
    args: type[A]
    fields: tuple[Field, ...]
    host: str
    list_path: str
    instance_path: str
    # Lookup for adoption: match these fields of a listed record against the args...
    key: tuple[str, ...] = ()
    # ...optionally narrowing the list with these query parameters (name -> field).
    list_filters: tuple[tuple[str, str], ...] = ()
    # Mappings/associations: the instance path already is the key, so GET it instead.
    lookup_by_get: str | None = None
    # Fields naming the resource in error messages, first non-empty wins.
    name_fields: tuple[str, ...] = ("friendly_name",)
    # Outputs derived from secrets; the Resource adds them to additional_secret_outputs.
    secret_outputs: tuple[str, ...] = ()
    extra_outputs: tuple[str, ...] = ("sid", "account_sid")
    # The kind module's pure mappings, when it has its own (default: derived from `fields`).
    params: Callable[[Any], dict[str, str]] | None = None
    update_params: Callable[[Any], dict[str, str]] | None = None
    normaliser: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        names = {f.name for f in self.fields}
        if "expected_account_sid" not in names:
            object.__setattr__(self, "fields", (*self.fields, EXPECTED_ACCOUNT))

    @property
    def replaces(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.mode == "replace")

    @property
    def updates(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.mode == "update")

    @property
    def write_only(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.mode == "write_only")

    @property
    def local(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.mode == "local")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Every output: the inputs (minus write-only values) plus hashes and read-only fields."""
        names = [f.name for f in self.fields if f.mode != "write_only"]
        names += [f"{name}_hash" for name in sorted(self.write_only)]
        names += [n for n in self.extra_outputs if n not in names]
        return tuple(names)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def default(self, name: str) -> Any:
        info = self.args.model_fields.get(name)
        if info is None or info.default is PydanticUndefined:
            return None
        return info.default

    def create_form(self, args: Any) -> dict[str, str]:
        """Create params: the kind's own mapping, else the field table's."""
        return self.params(args) if self.params is not None else form_params(args, self.fields)

    def update_form(self, args: Any) -> dict[str, str]:
        """Update params: replace-only fields are create-time parameters."""
        if self.update_params is not None:
            return self.update_params(args)
        return form_params(args, self.fields, update=True)

    def normalise(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A live record as comparable outputs: the kind's own normaliser, else the table's."""
        if self.normaliser is not None:
            return self.normaliser(record)
        return normalise_fields(record, self.fields, self.extra_outputs)

    def display(self, values: Mapping[str, Any], fallback: str = "") -> str:
        for name in self.name_fields:
            value = values.get(name)
            if value and not isinstance(value, Unknown):
                return f"{self.name} {value}"
        return f"{self.name} {fallback}".rstrip()


def to_form(value: Any) -> str:
    """A Python value as Twilio's form encoding wants it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_params(
    args: BaseModel, fields: tuple[Field, ...], *, update: bool = False
) -> dict[str, str]:
    """PascalCase form params for `args`: unset clearable fields become "" so Twilio clears them.

    With `update=True` replace-only fields are left out (they are create-time parameters).
    """
    params: dict[str, str] = {}
    for f in fields:
        if f.param is None or f.mode == "local" or (update and f.mode == "replace"):
            continue
        value = getattr(args, f.name)
        if value is None:
            if f.clear and f.mode != "write_only":
                params[f.param] = ""
            continue
        params[f.param] = to_form(value)
    return params


def comparable(value: Any) -> Any:
    """Normalise a value so state (floats from the host, "" vs null) compares with inputs."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "":
        return None
    return value


def normalise_fields(
    record: Mapping[str, Any],
    fields: tuple[Field, ...],
    extra: tuple[str, ...] = ("sid", "account_sid"),
) -> dict[str, Any]:
    """The comparable outputs of a live Twilio record: declared fields plus read-only extras."""
    outs: dict[str, Any] = {}
    for f in fields:
        if f.output and f.mode not in ("local", "write_only"):
            outs[f.name] = comparable(record.get(f.name))
    for name in extra:
        if name in record:
            outs[name] = comparable(record.get(name))
    return outs


def diff_props(
    kind: Kind[Any], olds: Mapping[str, Any], news: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(changed fields, fields forcing replacement) between old outputs and new inputs.

    Unknown new values (preview) count as changes but never as replacements: a parent SID is
    unknown in preview whenever the parent is merely updated (dynamic providers cannot preview
    outputs), and `pulumi up` re-diffs with known values, replacing only if the SID really
    changed. Unset inputs compare as the model default;
    unset non-clearable fields are not compared. Write-only fields compare against the
    fingerprint `<name>_hash` kept in the old outputs. `__provider` is never compared.
    """
    changed: list[str] = []
    unknown: set[str] = set()
    for f in kind.fields:
        new = news.get(f.name)
        if isinstance(new, Unknown):
            changed.append(f.name)
            unknown.add(f.name)
            continue
        if f.mode == "write_only":
            old_hash = olds.get(f"{f.name}_hash")
            if new is None and old_hash is None:
                continue
            if new is None or not fingerprint.matches(str(new), old_hash):
                changed.append(f.name)
            continue
        if new is None:
            new = kind.default(f.name)
            if new is None and not f.clear:
                continue
        if comparable(olds.get(f.name)) != comparable(new):
            changed.append(f.name)
    replaces = [name for name in changed if name in kind.replaces and name not in unknown]
    return changed, replaces


def format_path(template: str, values: Mapping[str, Any]) -> str:
    """Fill `{name}` placeholders of a REST path; a missing value is a clear error."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise ProviderError(f"cannot build {template}: missing {', '.join(missing)}")
    return template.format(**{n: values[n] for n in names})


def without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}
