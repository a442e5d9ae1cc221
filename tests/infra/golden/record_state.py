"""Record the state-compatibility fixture (tests/infra/golden/data/state-local.json).

    .venv/bin/python tests/infra/golden/record_state.py

Applies the `local` stack with the providers as they are now (the offline harness drives
Pulumi's own dynamic-provider host against an in-process emulator), then keeps, per resource:
the serialized provider blob, the checked inputs, the outputs and the Twilio answers its `read`
fetched. It also keeps `serialize_provider(<Kind>Provider())` of every kind. Secret inputs the
harness masks are put back from the stack file (the `local` stack's passwords are plain text
there). Never re-record this file: it stands for state that users already have.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

import base64  # noqa: E402

import dill  # noqa: E402
import yaml  # noqa: E402
from pulumi.dynamic.dynamic import serialize_provider  # noqa: E402

from emulator.numbers import numbers_in_files  # noqa: E402
from emulator.testing import running_emulator  # noqa: E402
from infra.client import TwilioApi, get_api  # noqa: E402
from infra.offline import apply  # noqa: E402
from infra.offline.stack_config import load_stack_config  # noqa: E402
from infra.offline.state import MASK  # noqa: E402
from infra.resources import PROVIDERS  # noqa: E402

OUT = HERE / "data" / "state-local.json"


class RecordingApi:
    """A TwilioApi that remembers every GET answer (what `read` saw)."""

    def __init__(self, api: TwilioApi) -> None:
        self.api = api
        self.answers: list[dict[str, Any]] = []

    @property
    def account_sid(self) -> str:
        return self.api.account_sid

    def fetch(self, host: str, path: str) -> Any:
        record = self.api.fetch(host, path)
        self.answers.append({"op": "fetch", "host": host, "path": path, "answer": record})
        return record

    def list(self, host: str, path: str, params: Any = None) -> Any:
        records = self.api.list(host, path, params)
        self.answers.append(
            {"op": "list", "host": host, "path": path, "params": params, "answer": records}
        )
        return records


def passwords() -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    spec = doc["config"]["twilio-voice:environment"]
    return {
        c["username"]: c["password"]
        for cl in spec.get("credential_lists", [])
        for c in cl.get("credentials", [])
    }


def main() -> None:
    secrets = passwords()
    numbers = numbers_in_files([ROOT / "Pulumi.local.yaml"])
    with tempfile.TemporaryDirectory() as tmp, running_emulator(numbers=numbers) as emu:
        os.environ.update(emu.env())
        config = load_stack_config(ROOT, "local")
        target = apply.Target(
            project_dir=ROOT,
            config=config,
            state_path=Path(tmp) / "state.json",
            program=apply.load_program(apply.DEFAULT_PROGRAM),
            host_env=emu.env(),
        )
        result = apply.up(target)
        resources = []
        for rec in result.state.resources.values():
            if not rec.type.startswith("pulumi-python:dynamic/"):
                continue
            inputs = dict(rec.inputs)
            for key, value in inputs.items():
                if value == MASK and key == "password":
                    inputs[key] = secrets[inputs["username"]]
            provider = dill.loads(base64.b64decode(rec.provider))  # noqa: S301 - just written
            recorder = RecordingApi(get_api({}, os.environ))
            provider.api_factory = lambda _config, r=recorder: r
            read = provider.read(rec.id, dict(rec.outputs))
            resources.append(
                {
                    "urn": rec.urn,
                    "type": rec.type,
                    "id": rec.id,
                    "provider": rec.provider,
                    "provider_class": f"{type(provider).__module__}:{type(provider).__qualname__}",
                    "inputs": inputs,
                    "outputs": rec.outputs,
                    "read_id": read.id,
                    "read_outputs": read.outs,
                    "answers": recorder.answers,
                }
            )
    blobs = {
        kind: {
            "blob": serialize_provider(cls()),
            "provider_class": f"{cls.__module__}:{cls.__qualname__}",
        }
        for kind, cls in PROVIDERS.items()
    }
    OUT.write_text(
        json.dumps({"blobs": blobs, "resources": resources}, indent=1, sort_keys=True) + "\n"
    )
    print(f"{OUT}: {len(blobs)} provider blobs, {len(resources)} resources")


if __name__ == "__main__":
    main()
