"""Run the Pulumi program under `pulumi.runtime.set_mocks`, forwarding registrations to the host.

The program runs unchanged. Each `RegisterResource` it sends reaches `HostMocks.new_resource`
only once all the resource's inputs resolved (the SDK awaits them first), and the REAL id and
outputs returned by the host flow back into the program's Outputs, so creation order is the
program's own dependency order. The SDK sends registrations from its default executor, which is
replaced by a pool of `workers` threads: independent resources are applied concurrently, as the
engine does.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import pickle
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func

from infra.offline.deployment import Deployment, Registration, StepError

STACK_TYPE = "pulumi:pulumi:Stack"
SETTLE_TIMEOUT_S = 10.0

_current = threading.local()


class EngineUrnMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, with engine-style URNs and access to the raw request."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a type with its parent's full type chain, except for the stack.
        if parent:
            qualified = parent.split("::")[2]
            if qualified != STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{settings.get_stack()}::{settings.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        _current.request, _current.read = request, False
        try:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        finally:
            _current.request = None

    def ReadResource(self, request: Any) -> Any:
        _current.request, _current.read = request, True
        try:
            return super().ReadResource(request)  # type: ignore[no-untyped-call]
        finally:
            _current.request = None


class HostMocks(pulumi_mocks.Mocks):
    """Mocks whose `new_resource` applies each dynamic resource through the host."""

    def __init__(self, deployment: Deployment, monitor_urn: Callable[[str, str, str], str]) -> None:
        self.deployment = deployment
        self._urn = monitor_urn

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        request = getattr(_current, "request", None)
        if request is None:
            raise RuntimeError("new_resource called outside a monitor request")
        urn = self._urn(request.parent, request.type, request.name)
        if not getattr(_current, "read", False) and not request.custom:
            return "", dict(args.inputs)  # component resource: nothing to apply
        reg = Registration(
            urn=urn,
            type=args.typ,
            name=args.name,
            inputs=dict(args.inputs),
            custom=True,
            # The engine deletes children before their parent, like any other dependent.
            dependencies=(*getattr(request, "dependencies", ()), request.parent),
            protect=bool(getattr(request, "protect", False)),
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            delete_before_replace=bool(getattr(request, "deleteBeforeReplace", False)),
            additional_secret_outputs=tuple(getattr(request, "additionalSecretOutputs", ())),
            ignore_changes=tuple(getattr(request, "ignoreChanges", ())),
            import_id=str(getattr(request, "importId", "") or ""),
            read_id=str(args.resource_id or "") if getattr(_current, "read", False) else "",
        )
        return self.deployment.register(reg)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise StepError(args.token, "Invoke", "the offline harness serves no provider functions")


def pristine_pickler() -> None:
    """Undo the pickler patches earlier programs in this process left behind.

    pulumi 3.272's `serialize_provider` wraps `pickle._Pickler._batch_setitems` once more on
    every dynamic resource and never unwraps it. A real `pulumi up` starts a fresh process, so
    each run begins with the stock pickler; running several programs in one process (tests,
    `up` then `up`) must too, or the wrappers pile up until RecursionError. (The patched
    `save_dict` does not chain, so it can stay.) Within ONE run the program must cope itself.
    """
    batch: Any = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while getattr(batch, "__module__", "pickle") != "pickle" and batch.__closure__:
        batch = next(c.cell_contents for c in batch.__closure__ if callable(c.cell_contents))
    pickle._Pickler._batch_setitems = batch  # type: ignore[attr-defined]


def run_program(
    program: Callable[[], object],
    deployment: Deployment,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: frozenset[str],
    workers: int,
) -> dict[str, Any]:
    """Run `program` once against the host; return its stack outputs (secrets masked)."""

    thread_loops: list[asyncio.AbstractEventLoop] = []

    def thread_loop() -> None:
        # The mock monitor needs an event loop in each executor thread; own them so they are
        # closed here rather than half-closed by the garbage collector at exit.
        thread_loops.append(asyncio.new_event_loop())
        asyncio.set_event_loop(thread_loops[-1])

    def run() -> dict[str, Any]:
        try:  # the caller's loop (e.g. a test process's) is put back afterwards
            previous: asyncio.AbstractEventLoop | None = (
                asyncio.get_event_loop_policy().get_event_loop()
            )
        except RuntimeError:
            previous = None
        loop = asyncio.new_event_loop()
        executor = ThreadPoolExecutor(
            workers, thread_name_prefix="register", initializer=thread_loop
        )
        loop.set_default_executor(executor)
        asyncio.set_event_loop(loop)
        try:
            settings.ROOT.set(None)  # a fresh root Stack for this run
            pristine_pickler()
            mocks = HostMocks(deployment, lambda p, t, n: monitor.make_urn(p, t, n))
            monitor = EngineUrnMonitor(mocks)
            pulumi.runtime.set_mocks(
                mocks, project=project, stack=stack, preview=False, monitor=monitor
            )
            pulumi.runtime.set_all_config(dict(config), sorted(secret_keys))
            # Like `pulumi.runtime.test`: forget Output tasks a failed earlier run left behind
            # (they belong to its closed event loop).
            settings.SETTINGS.rpc_manager.clear()
            settings.SETTINGS.outputs.clear()
            loop.run_until_complete(run_pulumi_func(lambda: _discard(program())))
            return loop.run_until_complete(_stack_outputs())
        finally:
            _settle(loop)
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            # Setting None would mark the loop as explicitly unset, and every later
            # get_event_loop() on this thread (the next program run, a test) would raise.
            asyncio.set_event_loop(previous if previous is not None else asyncio.new_event_loop())
            for other in thread_loops:
                other.close()

    # The SDK keeps its settings in context variables: run in a copy so nothing leaks out.
    return contextvars.copy_context().run(run)


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """After a failed run: finish what the SDK left pending, and let go of it now.

    A failed registration leaves RPC tasks nobody awaits and Output futures holding the error.
    Left to the garbage collector they would be finalized at some random later moment (in a
    test process: in the middle of another test), each logging "exception never retrieved".
    """
    leftovers = [
        *settings.SETTINGS.rpc_manager.rpcs,
        *settings.SETTINGS.outputs,
        *asyncio.all_tasks(loop),
    ]
    if leftovers:
        futures = [asyncio.ensure_future(f, loop=loop) for f in leftovers]
        _, pending = loop.run_until_complete(asyncio.wait(futures, timeout=SETTLE_TIMEOUT_S))
        for future in pending:  # waiting on something that will never come: give up on it
            future.cancel()
        loop.run_until_complete(asyncio.gather(*futures, return_exceptions=True))
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    loop.set_exception_handler(_quiet_unretrieved)
    gc.collect()


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Output futures of resources whose registration failed: the failure is already reported.
    if "never retrieved" not in str(context.get("message", "")):
        loop.default_exception_handler(context)


def _discard(_value: object) -> None:
    """The program's return value is not a stack output (exports are)."""


async def _stack_outputs() -> dict[str, Any]:
    root = settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for name, value in getattr(root, "outputs", {}).items():
        out = pulumi.Output.from_input(value)
        resolved = await out.future()
        outputs[name] = "[secret]" if await out.is_secret() else rpc.unwrap_rpc_secret(resolved)
    return outputs
