"""Golden snapshots of what the program registers and what drift declares, per sample estate.

A snapshot is plain JSON: every registration the program makes under mocks (type, logical name,
parent, dependencies, options, inputs with secrets masked and `__provider` shown as the class it
unpickles to), the stack outputs, and drift's declared items. The estate's engine config is
stored beside it, so the comparison does not move when someone edits a `Pulumi.<stack>.yaml`:
the golden test is about the code.

`python tests/infra/golden/record.py` wrote the files from the code of issue 11's starting
point; re-record only for a deliberate behaviour change, and say so in the commit.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import dill
from program_mocks import EngineConfig, kind_sid, run_program
from pulumi.runtime import rpc, settings

from infra.drift.declared import declared_items
from infra.spec import load_environment

GOLDEN = Path(__file__).resolve().parent / "data"
PROJECT = "twilio-voice"
SPEC_KEY = f"{PROJECT}:environment"


def mask(value: Any) -> str:
    """A secret as a stable fingerprint: equal secrets compare equal, nothing is revealed."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return f"secret:{digest[:16]}"


def provider_class(blob: str) -> str:
    """`module:Class` of a serialized provider, resolved the way Pulumi's provider host does."""
    provider = dill.loads(base64.b64decode(blob))  # noqa: S301 - our own recorded blobs
    return f"{type(provider).__module__}:{type(provider).__qualname__}"


def plain(key: str, value: Any) -> Any:
    """One input as comparable JSON: secrets masked, the provider blob as its class."""
    if rpc.is_rpc_secret(value):
        inner = rpc.unwrap_rpc_secret(value)
        if key == "__provider":
            return {"secret_provider": provider_class(inner)}
        return mask(inner)
    if key == "__provider" and isinstance(value, str):
        return {"provider": provider_class(value)}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(k, v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [plain("", v) for v in value]
    return value


def snapshot(stack: str, config: EngineConfig) -> dict[str, Any]:
    """What the program registers for `config` and what drift declares for the same spec."""
    # A fresh root stack resource: set_mocks keeps the previous run's (and so its stack name).
    settings.ROOT.set(None)
    run = run_program(stack, config, sid=kind_sid)
    registrations = [
        {
            "type": r.typ,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "dependencies": sorted(r.dependencies),
            "protect": r.protect,
            "retain_on_delete": r.retain_on_delete,
            "additional_secret_outputs": sorted(r.additional_secret_outputs),
            "inputs": {
                k: plain(k, v)
                for k, v in sorted(rpc.deserialize_properties(r.struct, keep_unknowns=True).items())
            },
        }
        for r in run.records
    ]
    # The mock monitor sees registrations in the order their inputs resolve, not the order the
    # program made them: compare them as a set, sorted by URN parts.
    registrations.sort(key=lambda r: (r["type"], r["name"]))
    raw = json.loads(config.values[SPEC_KEY])
    env = load_environment(raw, stack=stack, secrets_decrypted=SPEC_KEY in config.secret_keys)
    declared = [
        {
            "kind": item.kind,
            "key": item.key,
            "fields": dict(item.fields),
            "parent": list(item.parent) if item.parent else None,
        }
        for item in declared_items(env)
    ]
    return {
        "registrations": registrations,
        "outputs": plain("", run.outputs),
        "declared": declared,
    }


def path_of(estate: str) -> Path:
    return GOLDEN / f"{estate}.json.gz"


def write(estate: str, stack: str, config: EngineConfig, snap: dict[str, Any]) -> None:
    """One JSON document, one registration / declared item per line (diffable once gunzipped)."""
    head = {
        "estate": estate,
        "stack": stack,
        "config": {"values": config.values, "secret_keys": config.secret_keys},
        "outputs": snap["outputs"],
    }
    lines = [json.dumps(head, sort_keys=True)]
    lines += [json.dumps({"registration": r}, sort_keys=True) for r in snap["registrations"]]
    lines += [json.dumps({"declared": d}, sort_keys=True) for d in snap["declared"]]
    GOLDEN.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same snapshot always gives the same bytes.
    with gzip.GzipFile(path_of(estate), "wb", mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode())


def read(estate: str) -> tuple[str, EngineConfig, dict[str, Any]]:
    """(stack, engine config, snapshot) as recorded."""
    with gzip.open(path_of(estate), "rt", encoding="utf-8") as src:
        docs = [json.loads(line) for line in src if line.strip()]
    head = docs[0]
    config = EngineConfig(
        values=head["config"]["values"], secret_keys=head["config"]["secret_keys"]
    )
    snap = {
        "registrations": [d["registration"] for d in docs[1:] if "registration" in d],
        "outputs": head["outputs"],
        "declared": [d["declared"] for d in docs[1:] if "declared" in d],
    }
    return head["stack"], config, snap


def estates() -> list[str]:
    return sorted(p.name.removesuffix(".json.gz") for p in GOLDEN.glob("*.json.gz"))
