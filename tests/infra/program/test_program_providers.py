"""The serialized providers (`__provider`, base64 dill) the program puts into state."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("pulumi-mocks")

ProgramRun = Any  # conftest.ProgramRun


def blobs(run: ProgramRun) -> dict[str, str]:
    """Distinct provider blobs by resource kind."""
    out: dict[str, str] = {}
    for record in run.records:
        if record.custom:
            out.setdefault(record.kind, record.plain("__provider"))
            assert record.plain("__provider") == out[record.kind], (
                f"{record.name}: its provider differs from other {record.kind} resources "
                "(something per-resource or per-run got pickled into it)"
            )
    return out


def test_provider_is_registered_as_secret(run: ProgramRun) -> None:
    for record in run.records:
        if record.custom:
            assert record.is_secret("__provider"), record.name


def test_provider_blobs_hold_no_credentials(run: ProgramRun) -> None:
    secrets = [s.encode() for s in run.config.secrets]
    assert secrets, "no secrets in the stack config: this test would prove nothing"
    for kind, blob in blobs(run).items():
        raw = base64.b64decode(blob)
        for secret in secrets:
            assert secret not in raw, f"{kind}: a credential is pickled into __provider"
        assert b"twilio.rest" not in raw, f"{kind}: a Twilio client is pickled into __provider"


def test_provider_blobs_resolve_by_import_in_a_fresh_process(
    run_stack: Callable[[str], ProgramRun], tmp_path: Path
) -> None:
    # one fresh interpreter for the blobs of all stacks (importing pulumi + twilio takes seconds)
    kinds = {
        f"{stack}:{kind}": blob
        for stack in ("local", "dev", "prod")
        for kind, blob in blobs(run_stack(stack)).items()
    }
    (tmp_path / "blobs.json").write_text(json.dumps(kinds))
    # A fresh interpreter, outside the project dir: only the installed `infra` package can
    # resolve the classes, as in the engine's dynamic-provider host.
    code = (
        "import base64, json, sys, dill\n"
        "blobs = json.load(open(sys.argv[1]))\n"
        "out = {}\n"
        "for kind, blob in blobs.items():\n"
        "    p = dill.loads(base64.b64decode(blob))\n"
        "    out[kind] = type(p).__module__ + '.' + type(p).__qualname__\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "blobs.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    classes = json.loads(result.stdout)
    assert set(classes) == set(kinds)
    for kind, qualname in classes.items():
        assert qualname.startswith("infra."), f"{kind}: provider {qualname} is not in `infra`"
        assert "__main__" not in qualname


def test_provider_blobs_are_pickled_by_reference(run: ProgramRun) -> None:
    for kind, blob in blobs(run).items():
        raw = base64.b64decode(blob)
        # by value, dill embeds the class's code objects (several KB); by reference it names it
        assert b"_create_code" not in raw, kind
        assert b"_create_function" not in raw, kind
        assert len(raw) < 1024, f"{kind}: {len(raw)} bytes, looks pickled by value"
