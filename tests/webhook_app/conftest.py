"""Fixtures for the webhook app: settings, stores, an app built from the factory, signed posts."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webhook_support import AppFactory, Twilio, delete_keys, make_settings, start_redis
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.settings import Settings
from webhook_app.store_redis import RedisStore
from webhook_app.store_sqlite import SqliteStore


@pytest.fixture
def settings() -> Settings:
    return make_settings(caller_id="+14155550199")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "state.sqlite3"))
    yield s
    s.close()


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
    proc, url = start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield url
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


@pytest.fixture
def quiet_logger() -> Any:
    return configure_logging("CRITICAL")
