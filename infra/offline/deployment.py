"""The steps `pulumi up`, `refresh` and `destroy` take for each resource, sent to the host.

For every dynamic resource the program registers, `Deployment.register` makes the calls the
engine's step generator makes (pkg/resource/deploy/step_generator.go): `Check` (old inputs, new
inputs), then `Create` for a new URN, or `Diff` against the recorded outputs and, depending on
the answer, nothing, `Update`, or a replacement (`Create` + `Delete`, or the other way round when
the provider asks for delete-before-replace). Resources the program no longer registers are
deleted afterwards, dependents first. `refresh` calls `Read` with the recorded outputs; `destroy`
calls `Delete` in reverse dependency order. Protected resources are never deleted (as in the
engine, the operation fails and says how to unprotect).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import grpc
from pulumi.runtime import rpc

from infra.offline.hostclient import PROVIDER_KEY, DynamicHost, Props, rpc_error_message
from infra.offline.state import MASK, ResourceRecord, StackState, mask_secrets

DYNAMIC_TYPE_PREFIX = "pulumi-python:dynamic"
CHECKPOINT_INTERVAL_S = 2.0


class Op(StrEnum):
    """What happened to one resource (the words `pulumi up` prints)."""

    CREATE = "create"
    UPDATE = "update"
    SAME = "same"
    REPLACE = "replace"
    DELETE = "delete"
    READ = "read"
    REFRESH_SAME = "refresh-same"
    REFRESH_CHANGED = "refresh-changed"
    REFRESH_GONE = "refresh-gone"


class StepError(RuntimeError):
    """A provider call failed (or a rule refused the step); names the resource and the step."""

    def __init__(self, urn: str, step: str, message: str) -> None:
        super().__init__(f"{step} {urn}: {message}")
        self.urn, self.step = urn, step


@dataclass(frozen=True)
class Registration:
    """One `RegisterResource`/`ReadResource` call of the program, as the harness needs it."""

    urn: str
    type: str
    name: str
    inputs: Props  # as the monitor received them: secret values still wrapped
    custom: bool
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    additional_secret_outputs: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    import_id: str = ""
    read_id: str = ""  # set for `ResourceOptions(id=...)` (ReadResource)


@dataclass(frozen=True)
class StepEvent:
    """One finished step, for observers (progress lines, tests). Values are plaintext."""

    op: Op
    urn: str
    type: str
    id: str
    inputs: Props
    outputs: Props


Observer = Callable[[StepEvent], None]


@dataclass
class Summary:
    """Counts of steps per operation and resource type, plus provider calls made."""

    steps: Counter[tuple[Op, str]] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)

    def count(self, op: Op) -> int:
        return sum(n for (o, _), n in self.steps.items() if o is op)

    def lines(self) -> list[str]:
        per_op: Counter[Op] = Counter()
        for (op, _), n in self.steps.items():
            per_op[op] += n
        out = [f"  {op.value:<16} {n}" for op, n in sorted(per_op.items(), key=lambda i: i[0])]
        calls = ", ".join(f"{name} {n}" for name, n in sorted(self.calls.items()))
        out.append(f"  host calls       {calls or 'none'}")
        return out


def short_type(typ: str) -> str:
    """`pulumi-python:dynamic/twilio:Trunk` -> `Trunk`."""
    return typ.rsplit(":", 1)[-1]


def unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """Strip Pulumi secret wrappers (the engine does, for a host without acceptSecrets)."""
    if rpc.is_rpc_secret(value):
        plain, _ = unwrap_secrets(rpc.unwrap_rpc_secret(value))
        return plain, True
    if isinstance(value, dict):
        found = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key], secret = unwrap_secrets(item)
            found = found or secret
        return out, found
    if isinstance(value, list):
        items = [unwrap_secrets(item) for item in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def split_secrets(inputs: Mapping[str, Any]) -> tuple[Props, set[str]]:
    """Plain inputs and the top-level keys that held (or contained) a secret."""
    plain: Props = {}
    secret: set[str] = set()
    for key, value in inputs.items():
        plain[key], is_secret = unwrap_secrets(value)
        if is_secret:
            secret.add(key)
    return plain, secret


def apply_ignore_changes(news: Props, old_inputs: Props, ignored: Iterable[str]) -> Props:
    """The engine's processIgnoreChanges for top-level keys: keep the recorded input value."""
    out = dict(news)
    for key in ignored:
        if old_inputs.get(key) == MASK:  # a secret is not recorded: the new value has to do
            continue
        if key in old_inputs:
            out[key] = old_inputs[key]
        else:
            out.pop(key, None)
    return out


def _public(props: Mapping[str, Any]) -> Props:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


class Deployment:
    """One `up`, `refresh` or `destroy` of a stack through one running host."""

    def __init__(
        self,
        host: DynamicHost,
        state: StackState,
        checkpoint: Callable[[StackState], None] | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.host, self.state = host, state
        self._observer = observer
        self.summary = Summary()
        self._checkpoint = checkpoint
        self._next_checkpoint = time.monotonic() + CHECKPOINT_INTERVAL_S
        self._checkpoint_lock = threading.Lock()
        self._lock = threading.RLock()
        self._registered: set[str] = set()
        self._replaced: list[ResourceRecord] = []
        self._failed: StepError | None = None

    # -- bookkeeping ----------------------------------------------------------------------------
    def _call(self, name: str, urn: str, fn: Callable[[], Any]) -> Any:
        with self._lock:
            self.summary.calls[name] += 1
        try:
            return fn()
        except grpc.RpcError as exc:
            raise StepError(urn, name, rpc_error_message(exc)) from None

    def _record(self, op: Op, record: ResourceRecord | None, typ: str, urn: str) -> None:
        with self._lock:
            self.summary.steps[(op, short_type(typ))] += 1
            if record is None:
                self.state.resources.pop(urn, None)
            else:
                self.state.resources[urn] = record
        if time.monotonic() >= self._next_checkpoint:
            self._write_checkpoint(wait=False)

    def _write_checkpoint(self, wait: bool) -> None:
        """Write a snapshot outside the step lock; one writer at a time, busy writers skip.

        The next periodic write waits at least 20x as long as this one took, so checkpointing
        a large state never costs more than ~5% of the run.
        """
        if self._checkpoint is None or not self._checkpoint_lock.acquire(blocking=wait):
            return
        try:
            with self._lock:
                snapshot = StackState(
                    self.state.project, self.state.stack, dict(self.state.resources)
                )
            started = time.monotonic()
            self._checkpoint(snapshot)
            spent = time.monotonic() - started
            self._next_checkpoint = time.monotonic() + max(CHECKPOINT_INTERVAL_S, 20 * spent)
        finally:
            self._checkpoint_lock.release()

    def _notify(self, event: StepEvent) -> None:
        if self._observer is not None:
            self._observer(event)

    def flush(self) -> None:
        """Write the state now (the caller does this at the end, success or not)."""
        self._write_checkpoint(wait=True)

    @property
    def first_error(self) -> StepError | None:
        """The step failure that stopped the run (later steps only report being skipped)."""
        return self._failed

    def _fail(self, error: StepError) -> StepError:
        with self._lock:
            if self._failed is None:
                self._failed = error
        return error

    # -- up -------------------------------------------------------------------------------------
    def register(self, reg: Registration) -> tuple[str, Props]:
        """Bring one registered resource to its declared inputs; return (id, outputs)."""
        if not reg.type.startswith(DYNAMIC_TYPE_PREFIX):
            raise self._fail(
                StepError(
                    reg.urn, "register", "only pulumi-python dynamic resources can be applied"
                )
            )
        with self._lock:
            if reg.urn in self._registered:
                raise self._fail(StepError(reg.urn, "register", "duplicate resource URN"))
            self._registered.add(reg.urn)
            if self._failed is not None:
                raise StepError(
                    reg.urn, "register", f"skipped: an earlier step failed ({self._failed})"
                )
        try:
            if reg.read_id:
                return self._read_external(reg)
            if reg.import_id:
                raise StepError(
                    reg.urn,
                    "import",
                    "dynamic providers cannot import (pulumi/pulumi#16175); declare the resource "
                    "and let its provider adopt it by its unique key instead",
                )
            return self._apply(reg)
        except StepError as exc:
            raise self._fail(exc) from None

    def _apply(self, reg: Registration) -> tuple[str, Props]:
        news, secret_keys = split_secrets(reg.inputs)
        secret_keys.discard(PROVIDER_KEY)
        old = self.state.resources.get(reg.urn)
        old_inputs = {**old.inputs, PROVIDER_KEY: old.provider} if old else {}
        if old is not None:
            news = apply_ignore_changes(news, old.inputs, reg.ignore_changes)
        checked, failures = self._call(
            "Check", reg.urn, lambda: self.host.check(reg.urn, old_inputs, news)
        )
        if failures:
            problems = "; ".join(f"{prop or '<resource>'}: {reason}" for prop, reason in failures)
            raise StepError(reg.urn, "Check", problems)

        if old is None:
            id_, outs = self._call("Create", reg.urn, lambda: self.host.create(reg.urn, checked))
            op = Op.CREATE
        else:
            old_outs = {**old.outputs, PROVIDER_KEY: old.provider}
            diff = self._call(
                "Diff",
                reg.urn,
                lambda: self.host.diff(reg.urn, old.id, old_outs, checked, old_inputs),
            )
            changes = diff.changes
            if changes is None:  # DIFF_UNKNOWN: the engine compares old and new inputs itself
                changes = _public(old.inputs) != mask_secrets(_public(checked), secret_keys)
            if not changes:
                id_, outs, op = old.id, old_outs, Op.SAME
            elif diff.replaces:
                id_, outs = self._replace(reg, old, checked, diff.delete_before_replace)
                op = Op.REPLACE
            else:
                id_ = old.id
                outs = self._call(
                    "Update",
                    reg.urn,
                    lambda: self.host.update(reg.urn, old.id, old_outs, checked, old_inputs),
                )
                op = Op.UPDATE
        if not id_:
            raise StepError(reg.urn, op.value, "the provider returned an empty id")

        # The engine's annotateSecrets: an output named like a secret input stays secret.
        out_secret = (secret_keys & set(outs)) | set(reg.additional_secret_outputs)
        # Masked in the state file: secret inputs and outputs echoing them (plaintext the program
        # supplied). Provider-derived secret outputs (the credential fingerprints) are kept: the
        # provider's Diff compares against them, and a salted scrypt hash is not the secret.
        masked_outs = secret_keys & set(outs)
        record = ResourceRecord(
            urn=reg.urn,
            type=reg.type,
            name=reg.name,
            id=id_,
            inputs=mask_secrets(_public(checked), secret_keys),
            outputs=mask_secrets(_public(outs), masked_outs),
            provider=str(outs.get(PROVIDER_KEY) or checked[PROVIDER_KEY]),
            dependencies=sorted(set(reg.dependencies) - {reg.urn, ""}),
            secret_keys=sorted(secret_keys | masked_outs),
            protect=reg.protect,
            retain_on_delete=reg.retain_on_delete,
        )
        self._record(op, record, reg.type, reg.urn)
        self._notify(StepEvent(op, reg.urn, reg.type, id_, checked, outs))
        program_outs = {
            k: (rpc.wrap_rpc_secret(v) if k in out_secret else v) for k, v in outs.items()
        }
        return id_, program_outs

    def _replace(
        self, reg: Registration, old: ResourceRecord, checked: Props, provider_dbr: bool
    ) -> tuple[str, Props]:
        if old.protect:
            raise StepError(
                reg.urn, "replace", "the change needs a replacement but the resource is protected"
            )
        if provider_dbr or reg.delete_before_replace:
            self._delete(old)
            return self._call("Create", reg.urn, lambda: self.host.create(reg.urn, checked))  # type: ignore[no-any-return]
        created = self._call("Create", reg.urn, lambda: self.host.create(reg.urn, checked))
        with self._lock:  # the engine deletes replaced resources at the end of the deployment
            self._replaced.append(old)
        return created  # type: ignore[no-any-return]

    def _read_external(self, reg: Registration) -> tuple[str, Props]:
        props, _ = split_secrets(reg.inputs)
        outcome = self._call(
            "Read", reg.urn, lambda: self.host.read(reg.urn, reg.read_id, props, props)
        )
        if not outcome.id:
            raise StepError(reg.urn, "Read", f"resource {reg.read_id} does not exist")
        record = ResourceRecord(
            urn=reg.urn,
            type=reg.type,
            name=reg.name,
            id=outcome.id,
            inputs={},
            outputs=_public(outcome.outputs),
            provider=str(props.get(PROVIDER_KEY, "")),
            external=True,
        )
        self._record(Op.READ, record, reg.type, reg.urn)
        return outcome.id, outcome.outputs

    def finish_up(self, workers: int) -> None:
        """After the program ran: delete what it no longer declares, and replaced resources."""
        for old in self._replaced:
            self._delete(old, forget=False)
        gone = [r for urn, r in self.state.resources.items() if urn not in self._registered]
        self._delete_all(gone, workers)

    # -- delete / destroy -----------------------------------------------------------------------
    def _delete(self, record: ResourceRecord, forget: bool = True) -> None:
        if record.protect:
            raise StepError(
                record.urn,
                "Delete",
                "refusing to delete a protected resource; run `python -m infra.offline unprotect` "
                "(the offline `pulumi state unprotect`) first, or keep it declared",
            )
        if not record.external and not record.retain_on_delete:
            outs = {**record.outputs, PROVIDER_KEY: record.provider}
            ins = {**record.inputs, PROVIDER_KEY: record.provider}
            self._call(
                "Delete", record.urn, lambda: self.host.delete(record.urn, record.id, outs, ins)
            )
        self._notify(
            StepEvent(Op.DELETE, record.urn, record.type, record.id, record.inputs, record.outputs)
        )
        if forget:
            self._record(Op.DELETE, None, record.type, record.urn)
        else:  # a replaced resource: its URN already holds the replacement
            with self._lock:
                self.summary.steps[(Op.DELETE, short_type(record.type))] += 1

    def _delete_all(self, records: list[ResourceRecord], workers: int) -> None:
        protected = [r for r in records if r.protect]
        if protected:
            names = ", ".join(f"{short_type(r.type)} {r.name}" for r in protected[:5])
            more = f" and {len(protected) - 5} more" if len(protected) > 5 else ""
            raise StepError(
                protected[0].urn,
                "Delete",
                f"refusing to delete {len(protected)} protected resource(s): {names}{more}. "
                f"Run `python -m infra.offline unprotect --stack {self.state.stack}` (the offline "
                "`pulumi state unprotect --all`) first",
            )
        errors = run_dependents_first(records, self._delete, workers)
        if errors:
            raise errors[0]

    def destroy(self, workers: int) -> None:
        """Delete every recorded resource, dependents first."""
        self._delete_all(list(self.state.resources.values()), workers)

    # -- refresh --------------------------------------------------------------------------------
    def refresh(self, workers: int) -> dict[str, list[str]]:
        """`Read` every resource; return changed output keys per URN (gone ones: `["<gone>"]`)."""
        changes: dict[str, list[str]] = {}

        def one(record: ResourceRecord) -> None:
            outs = {**record.outputs, PROVIDER_KEY: record.provider}
            ins = {**record.inputs, PROVIDER_KEY: record.provider}
            outcome = self._call(
                "Read", record.urn, lambda: self.host.read(record.urn, record.id, outs, ins)
            )
            if not outcome.id:
                self._record(Op.REFRESH_GONE, None, record.type, record.urn)
                self._notify(StepEvent(Op.REFRESH_GONE, record.urn, record.type, "", {}, {}))
                with self._lock:
                    changes[record.urn] = ["<gone>"]
                return
            new_outs = mask_secrets(_public(outcome.outputs), record.secret_keys)
            changed = sorted(
                k
                for k in set(new_outs) | set(record.outputs)
                if new_outs.get(k) != record.outputs.get(k)
            )
            new_inputs = record.inputs
            if outcome.inputs is not None:
                new_inputs = mask_secrets(_public(outcome.inputs), record.secret_keys)
            updated = ResourceRecord(
                **{
                    **record.__dict__,
                    "id": outcome.id,
                    "outputs": new_outs,
                    "inputs": new_inputs,
                    "provider": str(outcome.outputs.get(PROVIDER_KEY) or record.provider),
                }
            )
            op = Op.REFRESH_CHANGED if changed else Op.REFRESH_SAME
            self._record(op, updated, record.type, record.urn)
            self._notify(
                StepEvent(op, record.urn, record.type, outcome.id, new_inputs, outcome.outputs)
            )
            if changed:
                with self._lock:
                    changes[record.urn] = changed

        errors = run_dependents_first(
            list(self.state.resources.values()), one, workers, ordered=False
        )
        if errors:
            raise errors[0]
        return changes


def run_dependents_first(
    records: Iterable[ResourceRecord],
    work: Callable[[ResourceRecord], None],
    workers: int,
    ordered: bool = True,
) -> list[BaseException]:
    """Run `work` on every record in parallel, each only after all records depending on it.

    After the first failure nothing new starts (running work finishes), like the engine.
    """
    by_urn = {r.urn: r for r in records}
    deps = {
        u: [d for d in r.dependencies if d in by_urn and d != u] if ordered else []
        for u, r in by_urn.items()
    }
    waiting: Counter[str] = Counter()
    for targets in deps.values():
        waiting.update(targets)
    # Most recently created first among the ready ones, as a tie-breaker the user can follow.
    ready = [u for u in by_urn if waiting[u] == 0]
    errors: list[BaseException] = []
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="offline") as pool:
        while ready or running:
            while ready and not errors:
                urn = ready.pop()
                running[pool.submit(work, by_urn[urn])] = urn
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                urn = running.pop(future)
                exc = future.exception()
                if exc is not None:
                    errors.append(exc)
                    continue
                for dep in deps[urn]:
                    waiting[dep] -= 1
                    if waiting[dep] == 0:
                        ready.append(dep)
    return errors
