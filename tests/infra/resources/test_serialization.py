"""Provider blobs: pickled by reference, free of credentials, loadable in a fresh process."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _serialize

from infra.client import get_api
from infra.resources import PROVIDERS

AC = "AC" + "9" * 32
TOKEN = "tok-0123456789abcdef-secret"


def _blob(provider: Any) -> str:
    blob, _ = _serialize(True, serialize_provider, provider)
    return str(blob)


def test_blobs_hold_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", AC)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    for cls in PROVIDERS.values():
        provider = cls()
        # A used and configured provider still serializes without credentials.
        provider.configure(
            ConfigureRequest(Config({"twilio:accountSid": AC, "twilio:authToken": TOKEN}, "p"))
        )
        assert provider.api().account_sid == AC
        raw = base64.b64decode(_blob(provider))
        assert TOKEN.encode() not in raw
        assert AC.encode() not in raw
        assert len(raw) < 400, cls.__name__  # by reference: module + class name only
    assert get_api({}).account_sid == AC


def test_every_blob_resolves_by_import_in_a_fresh_process(tmp_path: Path) -> None:
    blobs = {name: _blob(cls()) for name, cls in PROVIDERS.items()}
    code = (
        "import base64, json, sys\n"
        "import dill\n"
        "out = {}\n"
        "for name, blob in json.load(sys.stdin).items():\n"
        "    p = dill.loads(base64.b64decode(blob))\n"
        "    out[name] = [type(p).__module__, type(p).__qualname__, p.kind.name]\n"
        "print(json.dumps(out))\n"
    )
    # cwd is an empty folder: resolution must come from the installed `infra` package.
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(blobs),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    loaded = json.loads(result.stdout)
    assert set(loaded) == set(PROVIDERS)
    for name, (module, qualname, kind) in loaded.items():
        assert module.startswith("infra.resources.")
        assert qualname == PROVIDERS[name].__qualname__
        assert kind == name
