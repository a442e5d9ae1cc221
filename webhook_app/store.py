"""The state store interface (IVR sessions, callback dedupe keys, call events, recording jobs).

Two backends implement it: SQLite (default, one file, WAL; `store_sqlite.py`) and Redis
(`VOICE_STORE_URL=redis://…`, for many app servers behind a load balancer; `store_redis.py`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Protocol


class StoreError(RuntimeError):
    """The store could not be reached or answered badly; the request gets a 503."""


@dataclass(frozen=True)
class IvrSession:
    """Where one call is in the IVR: its state and how many retries it has used."""

    state: str
    retries: int = 0

    def encode(self) -> str:
        return f"{self.state}:{self.retries}"

    @classmethod
    def decode(cls, text: str) -> IvrSession:
        state, _, retries = text.partition(":")
        return cls(state, int(retries or 0))


@dataclass(frozen=True)
class CallEvent:
    """A processed call status callback."""

    call_sid: str
    status: str
    timestamp: str
    duration: str = ""

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass(frozen=True)
class RecordingJob:
    """A finished recording waiting for later processing (download, transcription, retention)."""

    recording_sid: str
    call_sid: str  # empty for a conference recording that names no call
    url: str
    duration: str
    status: str
    conference_sid: str = ""

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


Record = CallEvent | RecordingJob  # what a claimed callback persists


class Store(Protocol):
    """What the flows need from persistent state. Every method may raise StoreError."""

    def get_session(self, call_sid: str) -> IvrSession | None:
        """The IVR session of a call, or None if there is none (or it expired)."""

    def put_session(self, call_sid: str, session: IvrSession, ttl_seconds: int) -> None:
        """Create or replace the IVR session of a call, expiring after ``ttl_seconds``."""

    def delete_session(self, call_sid: str) -> None:
        """Forget the IVR session of a call."""

    def claim(self, key: str, ttl_seconds: int, record: Record | None = None) -> bool:
        """Atomically mark ``key`` seen; True only for the first caller, in any process.

        The first caller's ``record`` (a call event or a recording job) is persisted in the
        same atomic step: if that fails, the key is not claimed either, so the callback's
        redelivery is processed rather than dropped as a duplicate.
        """

    def call_events(self) -> list[CallEvent]:
        """All persisted call events, oldest first."""

    def recording_jobs(self) -> list[RecordingJob]:
        """All queued recording jobs, oldest first."""

    def take_call_events(self, limit: int) -> list[CallEvent]:
        """Remove and return up to ``limit`` oldest call events; each goes to one taker only."""

    def take_recording_jobs(self, limit: int) -> list[RecordingJob]:
        """Remove and return up to ``limit`` oldest recording jobs; each goes to one taker only."""

    def ping(self) -> None:
        """Raise StoreError unless the store answers."""

    def close(self) -> None:
        """Release connections."""


def open_store(url: str) -> Store:
    """The backend for ``VOICE_STORE_URL``: ``sqlite:///path`` or ``redis://host:port/db``."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from webhook_app.store_redis import RedisStore

        return RedisStore.from_url(url)
    if url.startswith("sqlite:///"):
        from webhook_app.store_sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///"))
    raise StoreError(
        f"VOICE_STORE_URL: unsupported URL scheme in {url.split(':', 1)[0]!r}; use "
        "sqlite:///path/to/state.sqlite3 or redis://host:6379/0"
    )
