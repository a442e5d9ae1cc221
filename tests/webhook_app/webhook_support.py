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

from webhook_app.settings import FlowSettings, Settings

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://voice.example.test"

GOLDEN = Path(__file__).parent / "golden"


def make_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {"auth_token": TOKEN, "public_base_url": BASE, "flows": FlowSettings()}
    return Settings(**{**fields, **overrides})


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
