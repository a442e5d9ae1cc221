"""Run the Pulumi program under `pulumi.runtime.set_mocks` with a stack's real config.

Shared by the program, policy and drift tests. The config is fed the way the engine feeds the
Python language host: one JSON string per top-level key, every `secure:` leaf decrypted (here:
replaced by a distinct plaintext placeholder) and the key listed as secret. A recording monitor
keeps what the mock monitor drops (parent, dependencies, protect, additional secret outputs, the
raw inputs) so the tests can assert edges and replay registrations to the policy analyzer.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "twilio-voice"
STACKS = ("local", "dev", "prod")
DYNAMIC_PREFIX = "pulumi-python:dynamic/twilio:"
COMPONENT_TYPE = "twilio-voice:index:VoiceEnvironment"


@dataclass
class EngineConfig:
    """What the language host receives for one stack."""

    values: dict[str, str]
    secret_keys: list[str]
    # plaintext stand-ins for every `secure:` leaf, plus plain credentials found in config
    secrets: list[str] = field(default_factory=list)


def _decrypt(value: Any, counter: Iterator[int], found: list[str]) -> tuple[Any, bool]:
    """Replace `{secure: ...}` leaves by placeholders; report whether any leaf was secure."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            plain = f"Placeholder-Secret-{next(counter):02d}-Aa9x"
            found.append(plain)
            return plain, True
        pairs = [(k, _decrypt(v, counter, found)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, any(s for _, (_, s) in pairs)
    if isinstance(value, list):
        items = [_decrypt(v, counter, found) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def engine_config(stack: str, spec: dict[str, Any] | None = None) -> EngineConfig:
    """Read `Pulumi.<stack>.yaml` and turn it into the language host's config.

    `spec` replaces the stack's `twilio-voice:environment` (a test's variant of the example).
    """
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = dict(doc.get("config") or {})
    if spec is not None:
        config[f"{PROJECT}:environment"] = spec
    counter = itertools.count()
    cfg = EngineConfig(values={}, secret_keys=[])
    for key, raw in config.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        value, secure = _decrypt(raw, counter, cfg.secrets)
        if isinstance(value, dict | list):
            cfg.values[full] = json.dumps(value)
        elif isinstance(value, bool):
            cfg.values[full] = "true" if value else "false"
        else:
            cfg.values[full] = str(value)
        if secure:
            cfg.secret_keys.append(full)
    # Credential passwords in plain text (allowed on `local`) must not leak either.
    env = json.loads(cfg.values.get(f"{PROJECT}:environment", "{}"))
    for cred_list in env.get("credential_lists") or []:
        for cred in cred_list.get("credentials") or []:
            if isinstance(cred.get("password"), str):
                cfg.secrets.append(cred["password"])
    token = cfg.values.get("twilio:authToken")
    if token:
        cfg.secrets.append(token)
    return cfg


@dataclass
class Registered:
    """One RegisterResource call as the engine would see it."""

    typ: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    additional_secret_outputs: list[str]
    # the inputs exactly as sent (secrets in their envelope), for analyzer requests
    struct: struct_pb2.Struct = field(default_factory=struct_pb2.Struct)

    @property
    def kind(self) -> str:
        return self.typ.removeprefix(DYNAMIC_PREFIX)

    def plain(self, key: str) -> Any:
        return rpc.unwrap_rpc_secret(self.inputs.get(key))

    def is_secret(self, key: str) -> bool:
        return bool(rpc.is_rpc_secret(self.inputs.get(key)))


def name_sid(typ: str, name: str) -> str:
    """`mock-sid:<logical name>`: readable in assertions."""
    return f"mock-sid:{name}"


def kind_sid(typ: str, name: str) -> str:
    """`mock-sid:<kind>:<name>`: unique even where names repeat across kinds."""
    return f"mock-sid:{typ.rsplit(':', 1)[-1]}:{name}"


class _Mocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs, with a fake SID from `sid(type, logical name)`."""

    def __init__(self, sid: Callable[[str, str], str]) -> None:
        self.sid = sid

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        sid = self.sid(args.typ, args.name)
        outs["sid"] = sid
        return sid, outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class RecordingMonitor(MockMonitor):  # type: ignore[misc]
    """The mock monitor, also recording parent, dependencies and options of every resource."""

    def __init__(self, sid: Callable[[str, str], str] = name_sid) -> None:
        super().__init__(_Mocks(sid))
        self.records: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            struct = struct_pb2.Struct()
            struct.CopyFrom(request.object)
            self.records.append(
                Registered(
                    typ=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=list(request.dependencies),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    struct=struct,
                )
            )
        return response


@dataclass
class ProgramRun:
    """Everything one mocked run of the program registered."""

    stack: str
    config: EngineConfig
    records: list[Registered]
    outputs: dict[str, Any]

    def of_kind(self, kind: str) -> list[Registered]:
        return [r for r in self.records if r.kind == kind]

    def by_name(self, name: str) -> Registered:
        matches = [r for r in self.records if r.name == name]
        assert len(matches) == 1, f"{len(matches)} resources named {name!r}"
        return matches[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.records if r.urn == urn)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.kind] = out.get(r.kind, 0) + 1
        return out


def run_program(
    stack: str, config: EngineConfig | None = None, sid: Callable[[str, str], str] = name_sid
) -> ProgramRun:
    """Run `infra.program.main()` under mocks with the stack's config; collect what it did."""
    from infra import program

    monitor = RecordingMonitor(sid)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
    )
    cfg = config or engine_config(stack)
    pulumi.runtime.set_all_config(cfg.values, cfg.secret_keys)
    captured: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[misc]
    def _run() -> Any:
        outputs = program.main()
        return pulumi.Output.all(**outputs).apply(lambda v: captured.update(v))

    try:
        _run()
    finally:
        pulumi.runtime.set_all_config({}, [])
    return ProgramRun(stack, cfg, monitor.records, captured)
