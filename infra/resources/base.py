"""The machinery every Twilio resource kind shares; a kind module is mostly declarations.

A kind declares a frozen pydantic args model, a field table (`Field`: PascalCase form name,
diff mode, clearing behaviour), the REST paths and its unique key. From that this module
derives the pure pieces drift detection reuses (`form_params`, `normalise_fields`,
`diff_props`) and a `TwilioProvider` implementing check/diff/create/read/update/delete with
the project's rules: idempotent creates (look up by unique key, adopt), empty id on 404 in
read, 404 is done in delete, complete outputs from update, fingerprints for write-only
fields, and the stack-to-account guard.
"""

from __future__ import annotations

import os
import pickle
import string
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticUndefined

from infra.client import CONFIG_KEYS, Record, TwilioApi, get_api
from infra.errors import AccountMismatchError, NotFoundError, ProviderError, TwilioApiError
from infra.resources import fingerprint
from infra.resources.types import AccountSid

PROVIDER_KEY = "__provider"

Mode = Literal["update", "replace", "local", "write_only"]


# SIDs that a create in this process adopted (looked up by unique key instead of creating). The
# dynamic-provider host is one process per deployment, so this is "adopted during this update".
_ADOPTED_THIS_RUN: set[str] = set()


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

    def display(self, values: Mapping[str, Any], fallback: str = "") -> str:
        for name in self.name_fields:
            value = values.get(name)
            if value and not isinstance(value, Unknown):
                return f"{self.name} {value}"
        return f"{self.name} {fallback}".rstrip()


# --- pure helpers shared with drift detection ------------------------------------------------


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


# --- the provider ----------------------------------------------------------------------------


def _default_api(config: Mapping[str, Any]) -> TwilioApi:
    return get_api(config, os.environ)


class TwilioProvider(ResourceProvider, Generic[A]):
    """Generic CRUD over one Twilio kind; subclasses declare `kind` and override hooks.

    Holds no credentials: `configure()` keeps the `twilio:*` config keys (the host calls it
    after unpickling), and the client is resolved per call through `api_factory`.
    """

    kind: ClassVar[Kind[Any]]
    api_factory: Callable[[Mapping[str, Any]], TwilioApi] = staticmethod(_default_api)

    def configure(self, req: ConfigureRequest) -> None:
        self._config = {key: req.config.get(key) for key in CONFIG_KEYS.values()}

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle configured credentials, even if a configured instance is serialized.
        return {k: v for k, v in self.__dict__.items() if k != "_config"}

    # -- plumbing --

    def api(self) -> TwilioApi:
        return self.api_factory(getattr(self, "_config", {}))

    def parse(self, props: Mapping[str, Any]) -> A:
        """The validated args; errors name the field, never echo a value (it may be a secret)."""
        values = {
            k: v
            for k, v in without_provider(props).items()
            if k in self.kind.input_names and v is not None
        }
        try:
            args: A = self.kind.args.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or self.kind.name}: {err['msg']}"
                for err in exc.errors()
            )
            raise ProviderError(f"{self.kind.name}: invalid inputs: {problems}") from None
        return args

    def label(self, values: Mapping[str, Any], fallback: str = "") -> str:
        return self.kind.display(values, fallback)

    def secrets(self, values: Mapping[str, Any]) -> list[str]:
        return [str(values[n]) for n in self.kind.write_only if values.get(n)]

    @contextmanager
    def errors(self, values: Mapping[str, Any], fallback: str = "") -> Iterator[None]:
        """Name the resource in Twilio errors and scrub secret inputs out of them."""
        try:
            yield
        except TwilioApiError as exc:
            raise exc.for_resource(self.label(values, fallback), self.secrets(values)) from None

    def guard_recorded(self, api: TwilioApi, props: Mapping[str, Any], sid: str = "") -> None:
        """Refuse to touch a resource recorded under another account than the configured one."""
        recorded = props.get("account_sid") or props.get("expected_account_sid")
        if recorded and not isinstance(recorded, Unknown) and recorded != api.account_sid:
            raise AccountMismatchError(
                f"{self.label(props, sid)} belongs to Twilio account {recorded}, but the "
                f"configured credentials are for account {api.account_sid}. Select this "
                "stack's credentials (twilio:accountSid + twilio:authToken in "
                "Pulumi.<stack>.yaml, or TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN) and run again; "
                "a stack never moves between accounts."
            )

    def guard_expected(self, api: TwilioApi, args: A) -> None:
        expected = args.expected_account_sid
        if expected and expected != api.account_sid:
            raise AccountMismatchError(
                f"{self.label(args.model_dump())}: the environment spec declares account "
                f"{expected}, but the configured credentials are for account {api.account_sid}. "
                "Use the credentials of the declared account (twilio:accountSid/twilio:authToken "
                "or TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN),"
                " or fix credentials.account_sid in the spec."
            )

    def path_values(
        self, api: TwilioApi, values: Mapping[str, Any], sid: str | None = None
    ) -> dict[str, Any]:
        merged = dict(values)
        merged["account_sid"] = api.account_sid
        if sid is not None:
            merged["sid"] = sid
        return merged

    def list_path(self, api: TwilioApi, args: A) -> str:
        return format_path(self.kind.list_path, self.path_values(api, args.model_dump()))

    def instance_path(self, api: TwilioApi, values: Mapping[str, Any], sid: str) -> str:
        return format_path(self.kind.instance_path, self.path_values(api, values, sid))

    # -- hooks a kind may override --

    def create_params(self, args: A) -> dict[str, str]:
        if self.kind.params is not None:
            return self.kind.params(args)
        return form_params(args, self.kind.fields)

    def update_params(self, args: A) -> dict[str, str]:
        if self.kind.update_params is not None:
            return self.kind.update_params(args)
        return form_params(args, self.kind.fields, update=True)

    def normalise(self, record: Mapping[str, Any]) -> dict[str, Any]:
        if self.kind.normaliser is not None:
            return self.kind.normaliser(record)
        return normalise_fields(record, self.kind.fields, self.kind.extra_outputs)

    def matches(self, args: A, record: Mapping[str, Any]) -> bool:
        """Whether a listed record is the one `args` describes (the unique key)."""
        if not self.kind.key:
            return False
        return all(
            comparable(record.get(name)) == comparable(getattr(args, name))
            for name in self.kind.key
        )

    def lookup(self, api: TwilioApi, args: A) -> Record | None:
        """The existing resource with this unique key, if any (for adoption)."""
        if self.kind.lookup_by_get:
            sid = getattr(args, self.kind.lookup_by_get)
            try:
                return api.fetch(self.kind.host, self.instance_path(api, args.model_dump(), sid))
            except NotFoundError:
                return None
        if not self.kind.key or any(getattr(args, name) is None for name in self.kind.key):
            return None
        filters = {
            param: to_form(getattr(args, name))
            for param, name in self.kind.list_filters
            if getattr(args, name) is not None
        }
        for record in api.list(self.kind.host, self.list_path(api, args), filters):
            if self.matches(args, record):
                return record
        return None

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["sid"])

    def adopt(self, api: TwilioApi, args: A, record: Record) -> Record:
        """Bring an existing resource to the declared configuration."""
        params = self.update_params(args)
        if not params:
            return record
        return api.update(
            self.kind.host,
            self.instance_path(api, args.model_dump(), self.record_id(record)),
            params,
        )

    def after_create(self, api: TwilioApi, args: A, record: Record) -> Record:
        """Extra calls a fresh or adopted resource needs (e.g. a trunk's recording)."""
        return record

    def create_record(self, api: TwilioApi, args: A) -> Record:
        found = self.lookup(api, args)
        if found is not None:
            _ADOPTED_THIS_RUN.add(self.record_id(found))
            return self.after_create(api, args, self.adopt(api, args, found))
        # A new resource starts empty: the "" that clears a field on update is noise on create.
        params = {k: v for k, v in self.create_params(args).items() if v != ""}
        record, adopted = api.create(
            self.kind.host, self.list_path(api, args), params, lambda: self.lookup(api, args)
        )
        if adopted:
            _ADOPTED_THIS_RUN.add(self.record_id(record))
            record = self.adopt(api, args, record)
        try:
            return self.after_create(api, args, record)
        except Exception:
            if not adopted:
                # Create must be transactional: the engine records nothing for a failed create.
                api.delete(
                    self.kind.host,
                    self.instance_path(api, args.model_dump(), self.record_id(record)),
                )
            raise

    def fetch_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> Record:
        return api.fetch(self.kind.host, self.instance_path(api, props, sid))

    def update_record(self, api: TwilioApi, sid: str, args: A, olds: Mapping[str, Any]) -> Record:
        params = self.update_params(args)
        path = self.instance_path(api, args.model_dump(), sid)
        if not params:
            return api.fetch(self.kind.host, path)
        return api.update(self.kind.host, path, params)

    def delete_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> None:
        api.delete(self.kind.host, self.instance_path(api, props, sid))

    # -- outputs --

    def outputs(
        self,
        api: TwilioApi,
        record: Mapping[str, Any],
        base: Mapping[str, Any],
        hashes: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Complete outputs: state-only inputs from `base`, live values from `record`."""
        outs: dict[str, Any] = {}
        for f in self.kind.fields:
            if f.mode == "local" or (not f.output and f.mode != "write_only"):
                outs[f.name] = comparable(base.get(f.name))
        for name in self.kind.write_only:
            outs[f"{name}_hash"] = hashes.get(f"{name}_hash")
        outs.update(self.normalise(record))
        if not outs.get("account_sid"):
            outs["account_sid"] = api.account_sid
        return outs

    def hashes(self, args: A, olds: Mapping[str, Any] | None) -> dict[str, Any]:
        """Fingerprints of write-only inputs, reusing the old one while the secret is unchanged."""
        out: dict[str, Any] = {}
        for name in self.kind.write_only:
            value = getattr(args, name)
            old = (olds or {}).get(f"{name}_hash")
            if value is None:
                out[f"{name}_hash"] = None
            elif old and fingerprint.matches(str(value), old):
                out[f"{name}_hash"] = old
            else:
                out[f"{name}_hash"] = fingerprint.fingerprint(str(value))
        return out

    def inputs_from_outputs(self, outs: Mapping[str, Any]) -> dict[str, Any]:
        return {
            f.name: outs[f.name]
            for f in self.kind.fields
            if f.mode != "write_only" and outs.get(f.name) is not None
        }

    # -- ResourceProvider --

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        props = without_provider(news)
        unknown = {k for k, v in props.items() if isinstance(v, Unknown)}
        known = {k: v for k, v in props.items() if k not in unknown and v is not None}
        try:
            model = self.kind.args.model_validate(known)
        except ValidationError as exc:
            failures = []
            for err in exc.errors():
                loc = [str(p) for p in err["loc"]]
                if unknown and (not loc or loc[0] in unknown):
                    continue  # may be satisfied once the value is known
                failures.append(CheckFailure(".".join(loc) or self.kind.name, err["msg"]))
            return CheckResult(news, failures)
        if unknown:
            return CheckResult(news, [])
        checked: dict[str, Any] = model.model_dump(exclude_none=True)
        if PROVIDER_KEY in news:
            checked[PROVIDER_KEY] = news[PROVIDER_KEY]
        return CheckResult(checked, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed, replaces = diff_props(self.kind, olds, news)
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            # Unique keys are looked up on create, so the old resource must go first.
            delete_before_replace=True if replaces else None,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        args = self.parse(props)
        api = self.api()
        self.guard_expected(api, args)
        values = args.model_dump()
        with self.errors(values):
            record = self.create_record(api, args)
        outs = self.outputs(api, record, values, self.hashes(args, None))
        return CreateResult(self.record_id(record), outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = without_provider(props)
        api = self.api()
        self.guard_recorded(api, props, id_)
        try:
            with self.errors(props, id_):
                record = self.fetch_record(api, id_, props)
        except NotFoundError:
            return ReadResult("", {})
        outs = self.outputs(api, record, props, props)
        return ReadResult(self.record_id(record), outs, self.inputs_from_outputs(outs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        args = self.parse(news)
        api = self.api()
        self.guard_recorded(api, olds, id_)
        self.guard_expected(api, args)
        values = args.model_dump()
        with self.errors(values, id_):
            record = self.update_record(api, id_, args, olds)
        return UpdateResult(self.outputs(api, record, values, self.hashes(args, olds)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if id_ in _ADOPTED_THIS_RUN:
            # A resource created in this run adopted this record: the spec entry was renamed
            # (new logical name, same unique key), and the engine deletes the old name after
            # creating the new one. The record now belongs to the new resource: keep it.
            return
        props = without_provider(props)
        api = self.api()
        self.guard_recorded(api, props, id_)
        try:
            with self.errors(props, id_):
                self.delete_record(api, id_, props)
        except NotFoundError:
            return


# --- the Pulumi resource ---------------------------------------------------------------------


# pulumi 3.272's `serialize_provider` (run inside `Resource.__init__`) patches
# `pickle._Pickler._batch_setitems` and `save_dict` to sort dicts and never restores them, so
# every dynamic resource wraps the previous wrapper once more: serialization gets slower with each
# resource and a program with ~970 of them dies with RecursionError. Putting back what was there
# before each registration keeps it O(1) and leaves anyone else's patch alone. The lock keeps
# concurrent registrations (from apply callbacks on executor threads) from restoring while another
# one is mid-serialization.
_PICKLER_LOCK = threading.Lock()
_PICKLER_METHODS = ("_batch_setitems", "save_dict")


@contextmanager
def _stock_pickler() -> Iterator[None]:
    """Run a registration, then put pickle's dict-saving methods back as they were before it."""
    with _PICKLER_LOCK:
        before = {name: getattr(pickle._Pickler, name) for name in _PICKLER_METHODS}
        try:
            yield
        finally:
            for name, method in before.items():
                setattr(pickle._Pickler, name, method)


class TwilioResource(Resource):
    """Base of the typed resources: declares every output, rejects unknown input names."""

    provider_class: ClassVar[type[TwilioProvider[Any]]]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: pulumi.Input[Any] | None,
    ) -> None:
        kind = self.provider_class.kind
        unknown = sorted(set(inputs) - set(kind.input_names))
        if unknown:
            raise TypeError(
                f"{kind.name} {resource_name}: unknown input(s) {', '.join(unknown)}; "
                f"known: {', '.join(kind.input_names)}"
            )
        props: dict[str, Any] = {name: None for name in kind.output_names}
        props.update({k: v for k, v in inputs.items() if v is not None})
        if kind.secret_outputs:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=list(kind.secret_outputs))
            )
        with _stock_pickler():
            super().__init__(self.provider_class(), resource_name, props, opts)
