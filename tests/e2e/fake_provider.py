"""A file-backed dynamic provider for testing the offline harness itself (no Twilio, no emulator).

"Resources" are JSON files under the directory named by the stack config `fake:store`, so the
harness's calls have observable effects across host processes. A Parent refuses deletion while a
Child still points at it, which makes wrong destroy order fail loudly.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import uuid
from pathlib import Path
from typing import Any

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

# pulumi 3.272's serialize_provider re-wraps pickle._Pickler._batch_setitems on every call and
# never restores it (RecursionError after ~970 dynamic resources); put back what was there.
_PICKLER_ATTRS = ("_batch_setitems", "save_dict")
_SERIALIZE_LOCK = threading.Lock()

FIELDS = ("name", "size", "zone", "parent_sid", "password_fingerprint")


def _fingerprint(password: str | None) -> str | None:
    return hashlib.sha256(password.encode()).hexdigest()[:12] if password else None


class FakeProvider(ResourceProvider):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def configure(self, req: ConfigureRequest) -> None:
        self.store = Path(req.config.get("fake:store") or "")

    def _path(self, sid: str) -> Path:
        return self.store / f"{sid}.json"

    def _outs(self, sid: str, props: dict[str, Any]) -> dict[str, Any]:
        outs = {k: v for k, v in props.items() if k not in ("__provider", "password")}
        outs["password_fingerprint"] = _fingerprint(props.get("password"))
        outs["sid"] = sid
        outs["kind"] = self.kind
        return outs

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [] if news.get("name") else [CheckFailure("name", "name is required")]
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        wanted = self._outs(id_, news)
        changed = [k for k in FIELDS if olds.get(k) != wanted.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "zone"])

    def create(self, props: dict[str, Any]) -> CreateResult:
        sid = self.kind[:2].upper() + uuid.uuid4().hex[:12]
        outs = self._outs(sid, props)
        self._path(sid).write_text(json.dumps(outs))
        return CreateResult(sid, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            live = json.loads(self._path(id_).read_text())
        except FileNotFoundError:
            return ReadResult(None, {})
        return ReadResult(id_, live)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = self._outs(id_, news)
        self._path(id_).write_text(json.dumps(outs))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        for other in self.store.glob("*.json"):
            try:
                record = json.loads(other.read_text())
            except (FileNotFoundError, ValueError):  # deleted/being written concurrently
                continue
            if record.get("parent_sid") == id_:
                raise RuntimeError(f"{id_} still has child {other.stem}")
        self._path(id_).unlink(missing_ok=True)


class _Restoring(Resource):
    def __init__(
        self,
        provider: ResourceProvider,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        with _SERIALIZE_LOCK:
            before = {attr: getattr(pickle._Pickler, attr) for attr in _PICKLER_ATTRS}
            try:
                super().__init__(provider, name, props, opts)
            finally:
                for attr, value in before.items():
                    setattr(pickle._Pickler, attr, value)


class Parent(_Restoring, module="fake", name="Parent"):
    sid: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(FakeProvider("parent"), name, {**props, "sid": None}, opts)


class Child(_Restoring, module="fake", name="Child"):
    sid: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(FakeProvider("child"), name, {**props, "sid": None}, opts)


def program_for(spec: dict[str, Any]) -> Any:
    """A Pulumi program declaring `spec` = {parent name: {"size", "zone", "children": [...]}}."""

    def program() -> None:
        for pname, p in spec.items():
            opts = pulumi.ResourceOptions(protect=bool(p.get("protect")))
            props = {
                "name": p.get("label", pname),
                "size": p.get("size", 1),
                "zone": p.get("zone", "a"),
            }
            if p.get("password"):
                props["password"] = pulumi.Output.secret(p["password"])
            parent = Parent(pname, props, opts)
            for cname in p.get("children", []):
                Child(cname, {"name": cname, "parent_sid": parent.sid})
            pulumi.export(f"{pname}_sid", parent.sid)

    return program
