"""The provider engine every Twilio resource kind shares: lifecycle, retries glue, pickling.

`TwilioProvider` implements check/diff/create/read/update/delete over a kind's declarations
(`infra.resources.kind`) with the project's rules: idempotent creates (look up by unique key,
adopt), empty id on 404 in read, 404 is done in delete, complete outputs from update,
fingerprints for write-only fields, and the stack-to-account guard. `TwilioResource` is the
typed Pulumi resource. The pure part (field tables, form params, diff rules) that drift
detection also uses lives in `infra.resources.kind`; a kind module overrides provider hooks
here only for I/O (how it is looked up, created, deleted).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Generic

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
from pydantic import ValidationError

from infra.client import CONFIG_KEYS, Record, TwilioApi, get_api
from infra.errors import AccountMismatchError, NotFoundError, ProviderError, TwilioApiError
from infra.resources import fingerprint
from infra.resources.kind import (
    PROVIDER_KEY,
    A,
    Kind,
    comparable,
    diff_props,
    format_path,
    to_form,
    without_provider,
)

# SIDs that a create in this process adopted (looked up by unique key instead of creating). The
# dynamic-provider host is one process per deployment, so this is "adopted during this update".
_ADOPTED_THIS_RUN: set[str] = set()


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

    # -- I/O hooks a kind may override (its pure special cases go to its `Kind`) --

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
        params = self.kind.update_form(args)
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
        params = {k: v for k, v in self.kind.create_form(args).items() if v != ""}
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
        params = self.kind.update_form(args)
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
        outs.update(self.kind.normalise(record))
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
