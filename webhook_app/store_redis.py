"""Redis backend of the state store, for several app servers sharing state.

Dedupe uses ``SET key 1 NX EX ttl``: Redis runs it atomically, so exactly one caller gets OK.
A claim and its record are one Lua script (Redis runs a script atomically); if the record
cannot be written the script deletes the key again, so a redelivery is not lost as a duplicate.
The script touches the dedupe key and a list; the key prefix ``{voice}:`` is a hash tag, so on
Redis Cluster all of the app's keys share one slot and the script may touch both.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from webhook_app.store import CallEvent, IvrSession, Record, RecordingJob, StoreError

_PREFIX = "{voice}:"  # the braces are a Redis Cluster hash tag: one slot for every key
_LISTS: dict[type[Record], str] = {CallEvent: "call_events", RecordingJob: "recording_jobs"}
# KEYS: dedupe key, list; ARGV: ttl seconds, encoded record ("" for none).
_CLAIM = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  local pushed = redis.pcall('RPUSH', KEYS[2], ARGV[2])
  if type(pushed) == 'table' and pushed.err then
    redis.call('DEL', KEYS[1])
    return redis.error_reply(pushed.err)
  end
end
return 1
"""


class RedisStore:
    """Store on a Redis server (``VOICE_STORE_URL=redis://host:6379/0``)."""

    def __init__(self, client: redis.Redis, prefix: str = _PREFIX) -> None:
        self._r = client
        self._p = prefix  # lets several apps (or test runs) share one Redis database
        self._claim = client.register_script(_CLAIM)  # EVALSHA, loaded on first use

    @classmethod
    def from_url(cls, url: str, prefix: str = _PREFIX) -> RedisStore:
        """Connect lazily; the first command reports an unreachable server as StoreError."""
        try:
            client = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
            )
        except ValueError as exc:
            raise StoreError(f"VOICE_STORE_URL: not a Redis URL ({exc})") from exc
        return cls(client, prefix)

    def _do(self, command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._r, command)(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreError(f"Redis store: {type(exc).__name__}: {exc}") from exc

    def get_session(self, call_sid: str) -> IvrSession | None:
        text = self._do("get", f"{self._p}ivr:{call_sid}")
        return None if text is None else IvrSession.decode(str(text))

    def put_session(self, call_sid: str, session: IvrSession, ttl_seconds: int) -> None:
        self._do("set", f"{self._p}ivr:{call_sid}", session.encode(), ex=ttl_seconds)

    def delete_session(self, call_sid: str) -> None:
        self._do("delete", f"{self._p}ivr:{call_sid}")

    def claim(self, key: str, ttl_seconds: int, record: Record | None = None) -> bool:
        keys = [f"{self._p}dedupe:{key}", self._list(type(record)) if record else f"{self._p}none"]
        args: list[str | int] = [ttl_seconds, record.encode() if record is not None else ""]
        try:
            return bool(self._claim(keys=keys, args=args))
        except redis.RedisError as exc:
            raise StoreError(f"Redis store: {type(exc).__name__}: {exc}") from exc

    def call_events(self) -> list[CallEvent]:
        return [
            CallEvent(**json.loads(r)) for r in self._do("lrange", self._list(CallEvent), 0, -1)
        ]

    def recording_jobs(self) -> list[RecordingJob]:
        rows = self._do("lrange", self._list(RecordingJob), 0, -1)
        return [RecordingJob(**json.loads(r)) for r in rows]

    def take_call_events(self, limit: int) -> list[CallEvent]:
        rows = self._do("lpop", self._list(CallEvent), limit) or []  # atomic in Redis
        return [CallEvent(**json.loads(r)) for r in rows]

    def take_recording_jobs(self, limit: int) -> list[RecordingJob]:
        rows = self._do("lpop", self._list(RecordingJob), limit) or []
        return [RecordingJob(**json.loads(r)) for r in rows]

    def _list(self, kind: type[Record]) -> str:
        return f"{self._p}{_LISTS[kind]}"

    def ping(self) -> None:
        self._do("ping")

    def close(self) -> None:
        self._r.close()
