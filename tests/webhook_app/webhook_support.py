"""Helpers the webhook tests import by name (conftest modules are not importable reliably).

With several test folders collected together, `sys.modules["conftest"]` is whichever conftest
pytest loaded last, so `from conftest import ...` would depend on the paths given to pytest.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import Client, TestResponse

from webhook_app.callflow import artifact
from webhook_app.callflow.model import CallFlows
from webhook_app.settings import Settings

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://voice.example.test"

GOLDEN = Path(__file__).parent / "golden"


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: the built-in flow unless ``served`` (or ``call_flows``) says otherwise.

    ``call_flows``: a ``CallFlows`` or its dict (the stack's call_flows section), served as an
    artifact made from it would be (``dial_countries`` alongside, when given).
    """
    call_flows = overrides.pop("call_flows", None)
    countries = overrides.pop("dial_countries", None)
    if call_flows is not None:
        overrides["served"] = served(call_flows, countries)
    fields: dict[str, Any] = {"auth_token": TOKEN, "public_base_url": BASE}
    return Settings(**{**fields, **overrides})


def served(
    call_flows: CallFlows | dict[str, Any], dial_countries: tuple[str, ...] | None = None
) -> artifact.Served:
    """What the app serves for a call_flows section (a model, or the stack's YAML as a dict)."""
    flows = (
        call_flows if isinstance(call_flows, CallFlows) else CallFlows.model_validate(call_flows)
    )
    return artifact.serve(flows, dial_countries)


def built_in_with(**changes: Any) -> dict[str, Any]:
    """The built-in flow's call_flows section as a dict, with top-level ``changes``.

    ``built_in_with(operator=None)`` drops the operator; flows are changed by passing
    ``flows=...`` (see :func:`main_flow_with`).
    """
    data = artifact.DEFAULT_CALL_FLOWS.model_dump(mode="json", exclude_none=True)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def main_flow_with(menu: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """The built-in call_flows with its flow ``main`` (and its menu ``main``) changed."""
    data = built_in_with()
    flow = data["flows"]["main"]
    flow.update(changes)
    if menu:
        flow["menus"]["main"].update(menu)
    return data


def twilio_for(
    store: Any,
    call_flows: CallFlows | dict[str, Any] | None = None,
    *,
    dial_countries: tuple[str, ...] | None = None,
    caller_id: str | None = "+14155550199",
    **deps: Any,
) -> Twilio:
    """A signed-request sender for an app serving ``call_flows`` (None: the built-in flow).

    ``deps`` go to ``create_app`` (``metrics``, ``logger``, ``now`` for schedules...).
    """
    from webhook_app.app import create_app
    from webhook_app.metrics import Metrics

    settings = make_settings(caller_id=caller_id)
    if call_flows is not None:
        settings = make_settings(caller_id=caller_id, served=served(call_flows, dial_countries))
    deps.setdefault("metrics", Metrics())
    return Twilio(Client(create_app(settings, store, **deps)))


@dataclass
class Twilio:
    """Sends requests to the app the way Twilio does: form-encoded and signed."""

    client: Client
    token: str = TOKEN
    base: str = BASE

    def sign(self, url: str, params: dict[str, str] | str) -> str:
        return str(RequestValidator(self.token).compute_signature(url, params))

    def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        base: str | None = None,
    ) -> TestResponse:
        base = base or self.base
        sig = self.sign(base + path, params) if signature is None else signature
        all_headers = {"X-Twilio-Signature": sig, **(headers or {})}
        return self.client.post(
            path,
            base_url=base,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            headers=all_headers,
            buffered=True,  # read and close the response, as a server does
        )


AppFactory = Callable[..., Twilio]


def delete_keys(redis_url: str, prefix: str) -> None:
    """Leave a shared Redis as we found it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


class Clock:
    """A settable clock for stores and TTLs: ``clock.now += 61`` moves time on."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server on a free loopback port, without persistence, once it takes connections.

    Returns the process and its URL; fails the test (the process killed) if it does not start.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [binary, *args, "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    pytest.fail(f"redis-server did not start on port {port}")
