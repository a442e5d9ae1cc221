"""The state store interface (IVR sessions, callback dedupe keys, call events, recording jobs).

Two backends implement it: SQLite (default, one file, WAL; `store_sqlite.py`) and Redis
(`VOICE_STORE_URL=redis://…`, for many app servers behind a load balancer; `store_redis.py`).

The call events and recording jobs are queues with leases: ``take`` lends the oldest items to
one consumer for ``lease_seconds``; ``ack`` with the receipts removes them. An item not
acknowledged in time is lent again (its ``attempts`` grows); after ``max_attempts`` leases ran
out it is parked (a dead letter), listed by ``parked`` until ``requeue_parked``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, Generic, Protocol, TypeVar

DEFAULT_LEASE_SECONDS = 300.0
DEFAULT_MAX_ATTEMPTS = 5


class StoreError(RuntimeError):
    """The store could not be reached or answered badly; the request gets a 503."""


class StoreUnhealthy(StoreError):
    """A health check failed: ``store`` (sqlite, redis) at ``step`` (open, write, read).

    ``reason`` is short and safe to show on ``/healthz`` (no path, host or credentials); the
    message, for the log, has the details.
    """

    def __init__(self, store: str, step: str, reason: str, detail: str = "") -> None:
        super().__init__(detail or f"{store} store: {step}: {reason}")
        self.store, self.step, self.reason = store, step, reason


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


def _decode(cls: type[Any], text: str) -> Any:
    """A record from its JSON; keys this version does not know (a newer writer's) are ignored."""
    data = json.loads(text)
    return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class CallEvent:
    """What Twilio told about a call: a status callback, a fallback request or a dial's end.

    ``source`` says which: ``status`` (a status callback: ``duration`` is its CallDuration),
    ``fallback`` (a voice fallback or trunk disaster-recovery URL was requested), ``dial``
    (a ``<Dial>`` ended: ``duration`` is DialCallDuration, ``sip_response_code`` its
    DialSipResponseCode) or ``conference`` (a conference status callback: ``status`` is its
    StatusCallbackEvent, ``call_sid`` the participant's call, empty for a room event that
    names none; ``conference_sid``, ``sequence_number``, ``participant_label`` and, at
    ``conference-end``, ``reason`` are set). The diagnostics are empty where Twilio sent
    nothing.
    """

    call_sid: str
    status: str
    timestamp: str
    duration: str = ""
    source: str = "status"
    error_code: str = ""
    error_url: str = ""
    sip_response_code: str = ""
    parent_call_sid: str = ""
    dial_call_sid: str = ""
    dial_call_status: str = ""
    conference_sid: str = ""
    sequence_number: str = ""
    participant_label: str = ""
    reason: str = ""

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> CallEvent:
        event: CallEvent = _decode(cls, text)
        return event


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

    @classmethod
    def decode(cls, text: str) -> RecordingJob:
        job: RecordingJob = _decode(cls, text)
        return job


Record = CallEvent | RecordingJob  # what a claimed callback persists
R = TypeVar("R", CallEvent, RecordingJob)  # one kind of queued record


@dataclass(frozen=True)
class Leased(Generic[R]):
    """An item lent to one consumer: ``ack`` its ``receipt`` once it is done with it."""

    receipt: str  # "<item id>.<lease token>": names this lease, not only the item
    attempts: int  # 1 on the first lease, 2 when a lease before ran out...
    item: R

    def encode(self) -> str:
        """The item's JSON fields plus ``receipt`` and ``attempts`` (one JSON line)."""
        line = {**asdict(self.item), "receipt": self.receipt, "attempts": self.attempts}
        return json.dumps(line, separators=(",", ":"))


@dataclass(frozen=True)
class Parked(Generic[R]):
    """An item whose leases ran out ``attempts`` times: it waits for a person."""

    id: str
    attempts: int
    item: R

    def encode(self) -> str:
        line = {**asdict(self.item), "id": self.id, "attempts": self.attempts}
        return json.dumps(line, separators=(",", ":"))


def parse_receipt(receipt: str) -> tuple[int, str]:
    """``"<id>.<token>"`` -> (id, token); StoreError for anything else."""
    item_id, dot, token = receipt.strip().partition(".")
    if not (dot and item_id.isascii() and item_id.isdigit() and token and len(receipt) < 100):
        raise StoreError(f"not a receipt: {receipt[:100]!r} (expected <id>.<token> from a take)")
    return int(item_id), token


class Store(Protocol):
    """What the flows need from persistent state. Every method may raise StoreError."""

    name: str  # "sqlite" or "redis", as /healthz reports it

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
        """The queued call events not yet acknowledged (waiting or leased), oldest first."""

    def recording_jobs(self) -> list[RecordingJob]:
        """The queued recording jobs not yet acknowledged (waiting or leased), oldest first."""

    def take(
        self,
        kind: type[R],
        limit: int,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> list[Leased[R]]:
        """Lend up to ``limit`` oldest waiting items of ``kind`` for ``lease_seconds``.

        Leases that ran out are settled first: their items wait again, or are parked once
        they were lent ``max_attempts`` times. A lent item goes to no other taker until its
        lease runs out, in any process.
        """

    def ack(self, kind: type[R], receipts: Iterable[str]) -> int:
        """Remove the items of these leases; return how many were still held by them.

        A receipt whose lease ran out and whose item was taken again (or parked) counts 0:
        that item is, or will be, delivered again. StoreError for a malformed receipt.
        """

    def parked(self, kind: type[R]) -> list[Parked[R]]:
        """The parked items of ``kind``, oldest first."""

    def requeue_parked(self, kind: type[R]) -> int:
        """Make every parked item of ``kind`` wait again with no attempts; return how many."""

    def check_health(self) -> None:
        """Prove the store can be written and read back; StoreUnhealthy names what failed."""

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
