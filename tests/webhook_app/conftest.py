"""Fixtures for the webhook app: settings, stores, an app built from the factory, signed posts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import Client, TestResponse

from webhook_app.app import create_app
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.settings import FlowSettings, Settings
from webhook_app.store_redis import RedisStore
from webhook_app.store_sqlite import SqliteStore

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://voice.example.test"

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's Twilio settings by accident."""
    for name in list(os.environ):
        if name.startswith(("TWILIO_", "VOICE_SETTINGS", "PUBLIC_BASE_URL")):
            monkeypatch.delenv(name)


def make_settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {"auth_token": TOKEN, "public_base_url": BASE, "flows": FlowSettings()}
    return Settings(**{**fields, **overrides})


@pytest.fixture
def settings() -> Settings:
    return make_settings(caller_id="+14155550199")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "state.sqlite3"))
    yield s
    s.close()


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


@pytest.fixture
def make_twilio(store: SqliteStore) -> AppFactory:
    """Build an app from the factory with the given settings; return a Twilio-like sender."""

    def build(settings: Settings | None = None, **deps: Any) -> Twilio:
        deps.setdefault("metrics", Metrics())
        app = create_app(settings or make_settings(caller_id="+14155550199"), store, **deps)
        return Twilio(Client(app))

    return build


@pytest.fixture
def twilio(make_twilio: AppFactory) -> Twilio:
    return make_twilio()


@pytest.fixture
def call_params() -> dict[str, str]:
    return {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "From": "+12125550199",
        "To": "+14155550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


# --- Redis: CI's server, or our own redis-server, or (outside CI) a skip ----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``VOICE_TEST_REDIS_URL`` (set by .ci/run), else a redis-server started here.

    In CI (``CI=true``) a missing Redis fails the tests instead of skipping them.
    """
    url = os.environ.get("VOICE_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        message = (
            "no VOICE_TEST_REDIS_URL and no redis-server on PATH (apt-get install redis-server)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not start on port {port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStore]:
    """A Redis store with its own key prefix, so parallel tests share the server safely."""
    prefix = f"test-{uuid.uuid4().hex}:"
    s = RedisStore.from_url(redis_url, prefix=prefix)
    yield s
    s.close()
    delete_keys(redis_url, prefix)


def delete_keys(redis_url: str, prefix: str) -> None:
    """Leave a shared Redis as we found it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def quiet_logger() -> Any:
    return configure_logging("CRITICAL")
