"""The offline harness's state file: what `pulumi up` would checkpoint, as plain JSON.

One entry per resource: URN, type, id, checked inputs, outputs, the serialized provider (so
`refresh` and `destroy` can run without the program, as the engine does from its state) and the
URNs it depends on. Secret plaintext is never written: a top-level input that was a Pulumi
secret, and an output of the same name, is replaced by `MASK`. Outputs a provider marks secret
itself (`additional_secret_outputs`, here the salted scrypt fingerprints of credential passwords)
are kept, because the provider's `Diff` compares the new password against them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
MASK = "[secret]"
NOTE = (
    "Written by infra.offline, a stand-in for `pulumi up` that drives Pulumi's own "
    "dynamic-provider host; it is not Pulumi state and `pulumi` cannot read it."
)

Props = dict[str, Any]


@dataclass
class ResourceRecord:
    """One resource as recorded after its last successful step."""

    urn: str
    type: str
    name: str
    id: str
    inputs: Props
    outputs: Props
    provider: str
    dependencies: list[str] = field(default_factory=list)
    secret_keys: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    external: bool = False  # read with `opts.id` (a "get"): never created or deleted here


@dataclass
class StackState:
    """All recorded resources of one stack, in the order they were created."""

    project: str
    stack: str
    resources: dict[str, ResourceRecord] = field(default_factory=dict)

    def to_json(self) -> str:
        """One resource per line: cheap to write for thousands of resources, still diffable."""
        head = {
            "version": FORMAT_VERSION,
            "note": NOTE,
            "project": self.project,
            "stack": self.stack,
        }
        lines = [json.dumps(vars(r), sort_keys=True, default=str) for r in self.resources.values()]
        body = json.dumps(head, indent=1)[:-2]
        return body + ',\n "resources": [\n' + ",\n".join(lines) + "\n ]\n}\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> StackState:
        try:
            body = json.loads(text)
            if body.get("version") != FORMAT_VERSION:
                raise ValueError(f"unsupported format version {body.get('version')!r}")
            records = [ResourceRecord(**r) for r in body["resources"]]
            state = cls(project=body["project"], stack=body["stack"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(
                f"{source}: not an infra.offline state file ({exc}); move it away to start over"
            ) from exc
        state.resources = {r.urn: r for r in records}
        return state


class StateError(RuntimeError):
    """The state file is unreadable or belongs to another project/stack."""


def mask_secrets(props: Mapping[str, Any], secret_keys: Iterable[str]) -> Props:
    """A copy of `props` with every secret top-level value replaced by `MASK`."""
    secret = set(secret_keys)
    return {k: (MASK if k in secret and v is not None else v) for k, v in props.items()}


def load_state(path: Path, project: str, stack: str) -> StackState:
    """Read `path`, or start empty; refuse a file recorded for another project or stack."""
    if not path.exists():
        return StackState(project=project, stack=stack)
    state = StackState.from_json(path.read_text(encoding="utf-8"), str(path))
    if (state.project, state.stack) != (project, stack):
        raise StateError(
            f"{path} holds stack {state.project}/{state.stack}, not {project}/{stack}; "
            "pass --state with this stack's own file"
        )
    return state


def save_state(path: Path, state: StackState) -> None:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(state.to_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
