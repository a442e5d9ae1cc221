"""A typed gRPC client for Pulumi's own dynamic-provider host (`python -u -m pulumi.dynamic`).

It launches and talks to the host the way the Pulumi engine does
(pkg/resource/plugin/{plugin,provider_plugin}.go):

* run `<python> -u -m pulumi.dynamic <engine address>` with cwd = the project directory and
  `PULUMI_PROJECT` set (what the `pulumi-resource-pulumi-python` shim does); the host ignores argv;
* read ONE line from its stdout: the 127.0.0.1 port it serves `pulumirpc.ResourceProvider` on;
* `Configure` with the full stack config (namespaced keys, secrets wrapped) before anything else;
  the host answers `acceptSecrets=False`, so later calls carry plain (secret-stripped) values;
* every resource call carries the serialized provider in the `__provider` property.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROVIDER_KEY = "__provider"
UNKNOWN: str = rpc.UNKNOWN
SECRET_SIG: dict[str, str] = {rpc._special_sig_key: rpc._special_secret_sig}
PROVIDER_TYPE = "pulumi:providers:pulumi-python"
_PORT_TIMEOUT_S = 30.0

Props = dict[str, Any]


def serialize_provider(provider: object) -> str:
    """Build the `__provider` property exactly as `pulumi.dynamic.Resource.__init__` does."""
    from pulumi.dynamic.dynamic import serialize_provider as _serialize_provider
    from pulumi.runtime._serialization import _serialize

    blob, _contains_secrets = _serialize(True, _serialize_provider, provider)
    return cast(str, blob)


def to_struct(props: Mapping[str, Any] | None) -> Any:
    struct = struct_pb2.Struct()
    if props:
        struct.update(dict(props))
    return struct


def from_struct(struct: Any) -> Props:
    # keep_unknowns=True so the UNKNOWN sentinel comes back as an Unknown object, not dropped.
    return cast(Props, rpc.deserialize_properties(struct, True))


@dataclass(frozen=True)
class DiffOutcome:
    """The host's answer to `Diff`, in plain Python."""

    changes: bool | None  # None: DIFF_UNKNOWN (the engine then diffs inputs itself)
    replaces: tuple[str, ...]
    delete_before_replace: bool
    diffs: tuple[str, ...]


@dataclass(frozen=True)
class ReadOutcome:
    """The host's answer to `Read`: an empty id means the resource is gone."""

    id: str
    outputs: Props
    inputs: Props | None


class HostError(RuntimeError):
    """The host process could not be started or answered a call with an error."""


class DynamicHost:
    """One running `python -m pulumi.dynamic` process and a channel to it."""

    def __init__(
        self,
        project_dir: Path,
        project: str,
        stack: str,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.project, self.stack = project, stack
        full_env = dict(os.environ)
        full_env["PULUMI_PROJECT"] = project
        full_env.update(env or {})
        # "127.0.0.1:0" stands in for the engine address the engine passes; the host ignores it.
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [python, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"],
            cwd=project_dir,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.port = self._read_port()
        # The host's stderr carries provider tracebacks; drain it so the pipe never blocks.
        self._stderr: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=_PORT_TIMEOUT_S)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def _read_port(self) -> int:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self._proc.kill()
            err = self._proc.stderr.read().decode() if self._proc.stderr else ""
            raise HostError(
                f"the dynamic-provider host did not print its port (got {line!r}); "
                f"is pulumi installed in {sys.executable}? stderr: {err[-2000:]}"
            )
        return int(line)

    def _drain_stderr(self) -> None:
        if self._proc.stderr is None:
            return
        for raw in self._proc.stderr:
            self._stderr.append(raw.decode(errors="replace"))
            del self._stderr[:-200]

    def urn(self, typ: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{typ}::{name}"

    def close(self) -> None:
        try:
            self._channel.close()
        finally:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def __enter__(self) -> DynamicHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- provider-level calls --------------------------------------------------------------------
    def get_plugin_info(self) -> str:
        return cast(str, self._stub.GetPluginInfo(empty_pb2.Empty()).version)

    def configure(self, config: Mapping[str, str], secret_keys: Iterable[str] = ()) -> bool:
        """Send the full stack config; return the host's `acceptSecrets` (False for Python)."""
        secret = set(secret_keys)
        args = {k: ({**SECRET_SIG, "value": v} if k in secret else v) for k, v in config.items()}
        variables = {f"pulumi-python:config:{k}": v for k, v in config.items()}
        response = self._stub.Configure(
            provider_pb2.ConfigureRequest(
                variables=variables,
                args=to_struct(args),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                type=PROVIDER_TYPE,
                name="default",
                urn=self.urn(PROVIDER_TYPE, "default"),
            )
        )
        return bool(response.acceptSecrets)

    # -- resource calls (dicts in, dicts out) ----------------------------------------------------
    def check(self, urn: str, olds: Props, news: Props) -> tuple[Props, list[tuple[str, str]]]:
        response = self._stub.Check(
            provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news))
        )
        return from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(
        self, urn: str, id_: str, old_outputs: Props, new_inputs: Props, old_inputs: Props
    ) -> DiffOutcome:
        response = self._stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn,
                olds=to_struct(old_outputs),
                news=to_struct(new_inputs),
                old_inputs=to_struct(old_inputs),
            )
        )
        changes = {
            provider_pb2.DiffResponse.DIFF_SOME: True,
            provider_pb2.DiffResponse.DIFF_NONE: False,
        }.get(response.changes)
        return DiffOutcome(
            changes=changes,
            replaces=tuple(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
            diffs=tuple(response.diffs),
        )

    def create(self, urn: str, props: Props) -> tuple[str, Props]:
        response = self._stub.Create(
            provider_pb2.CreateRequest(urn=urn, properties=to_struct(props))
        )
        return cast(str, response.id), from_struct(response.properties)

    def read(self, urn: str, id_: str, state: Props, inputs: Props) -> ReadOutcome:
        response = self._stub.Read(
            provider_pb2.ReadRequest(
                id=id_, urn=urn, properties=to_struct(state), inputs=to_struct(inputs)
            )
        )
        new_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return ReadOutcome(response.id, from_struct(response.properties), new_inputs)

    def update(
        self, urn: str, id_: str, old_outputs: Props, new_inputs: Props, old_inputs: Props
    ) -> Props:
        response = self._stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn,
                olds=to_struct(old_outputs),
                news=to_struct(new_inputs),
                old_inputs=to_struct(old_inputs),
            )
        )
        return from_struct(response.properties)

    def delete(self, urn: str, id_: str, old_outputs: Props, old_inputs: Props) -> None:
        self._stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_,
                urn=urn,
                properties=to_struct(old_outputs),
                old_inputs=to_struct(old_inputs),
            )
        )


def rpc_error_message(exc: grpc.RpcError) -> str:
    """The last line of a provider traceback the host sent back (the exception message)."""
    details = str(exc.details() or "") if hasattr(exc, "details") else str(exc)
    lines = [line for line in details.strip().splitlines() if line.strip()]
    return lines[-1] if lines else str(exc)
