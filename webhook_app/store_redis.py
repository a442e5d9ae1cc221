"""Redis backend of the state store, for several app servers sharing state.

Dedupe uses ``SET key 1 NX EX ttl``: Redis runs it atomically, so exactly one caller gets OK.
A claim and its record are one Lua script (Redis runs a script atomically); if the record
cannot be written the script deletes the key again, so a redelivery is not lost as a duplicate.
The scripts touch several keys; the key prefix ``{voice}:`` is a hash tag, so on Redis Cluster
all of the app's keys share one slot and a script may touch them all.

A queue (call events, recording jobs) is the reliable-queue pattern, each step one Lua script:
a record gets an id (``<queue>:seq``) and its JSON in the hash ``<queue>:items``; the list
``<queue>`` holds the ids waiting, oldest first. ``take`` moves ids from that list to the
sorted set ``<queue>:leases`` (score: when the lease runs out, by the server's clock), with a
token per lease in ``<queue>:tokens`` and the count in ``<queue>:attempts``. Each take first
reaps the leases that ran out: their ids go back to the front of the list, or to the list
``<queue>:parked`` after the last allowed attempt. ``ack`` deletes an item only while its lease
token is the one in the receipt. A list written by an older version (the records' JSON
itself) is read too: such an entry gets its id when it is first taken.

The health check writes a heartbeat key (expiring after a minute) and reads it back.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from typing import Any

import redis

from webhook_app.store import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    CallEvent,
    IvrSession,
    Leased,
    Parked,
    R,
    Record,
    RecordingJob,
    StoreError,
    StoreUnhealthy,
    parse_receipt,
)

_PREFIX = "{voice}:"  # the braces are a Redis Cluster hash tag: one slot for every key
_LISTS: dict[type[Record], str] = {CallEvent: "call_events", RecordingJob: "recording_jobs"}
# Each queue's keys, in the order the scripts take them.
_QUEUE_KEYS = ("", ":items", ":attempts", ":leases", ":tokens", ":parked", ":seq")
_HEARTBEAT_TTL_SECONDS = 60
_REAP_BATCH = 1000  # leases settled per take, so one script never blocks Redis for long

# KEYS: dedupe key, then the queue's keys; ARGV: ttl seconds, encoded record ("" for none).
# Every write is checked: if one fails, what the script did is undone, the key included.
_CLAIM = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if ARGV[2] ~= '' then
  local function failed(reply) return type(reply) == 'table' and reply.err end
  local id = redis.pcall('INCR', KEYS[8])
  if failed(id) then redis.call('DEL', KEYS[1]); return redis.error_reply(id.err) end
  local stored = redis.pcall('HSET', KEYS[3], id, ARGV[2])
  if failed(stored) then redis.call('DEL', KEYS[1]); return redis.error_reply(stored.err) end
  local pushed = redis.pcall('RPUSH', KEYS[2], id)
  if failed(pushed) then
    redis.call('HDEL', KEYS[3], id)
    redis.call('DEL', KEYS[1])
    return redis.error_reply(pushed.err)
  end
end
return 1
"""
# KEYS: the queue's keys; ARGV: limit, lease ms, max attempts, lease token, reap batch.
# Returns id, attempts, record for each item lent.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max_attempts = tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
table.sort(expired, function(a, b) return tonumber(a) < tonumber(b) end)
local back = {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  if tonumber(redis.call('HGET', KEYS[3], id) or '0') >= max_attempts then
    redis.call('RPUSH', KEYS[6], id)
  else
    table.insert(back, id)
  end
end
for i = #back, 1, -1 do redis.call('LPUSH', KEYS[1], back[i]) end
local out = {}
local taken = 0
while taken < tonumber(ARGV[1]) do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then break end
  local id = entry
  if string.sub(entry, 1, 1) == '{' then
    id = tostring(redis.call('INCR', KEYS[7]))
    redis.call('HSET', KEYS[2], id, entry)
  end
  local record = redis.call('HGET', KEYS[2], id)
  if record then
    local attempts = redis.call('HINCRBY', KEYS[3], id, 1)
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[5], id, ARGV[4])
    table.insert(out, id)
    table.insert(out, attempts)
    table.insert(out, record)
    taken = taken + 1
  end
end
return out
"""
# KEYS: the queue's keys; ARGV: id, token, id, token...
_ACK = """
local done = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[5], id) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    done = done + 1
  end
end
return done
"""
# KEYS: the queue's keys. Parked ids wait again, at the back, with no attempts.
_REQUEUE = """
local ids = redis.call('LRANGE', KEYS[6], 0, -1)
for _, id in ipairs(ids) do
  redis.call('HSET', KEYS[3], id, 0)
  redis.call('RPUSH', KEYS[1], id)
end
redis.call('DEL', KEYS[6])
return #ids
"""


class RedisStore:
    """Store on a Redis server (``VOICE_STORE_URL=redis://host:6379/0``)."""

    name = "redis"  # what /healthz calls it

    def __init__(self, client: redis.Redis, prefix: str = _PREFIX) -> None:
        self._r = client
        self._p = prefix  # lets several apps (or test runs) share one Redis database
        # EVALSHA, each script loaded on first use.
        self._claim = client.register_script(_CLAIM)
        self._take = client.register_script(_TAKE)
        self._ack = client.register_script(_ACK)
        self._requeue = client.register_script(_REQUEUE)

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
        queue = self._queue(type(record)) if record is not None else [f"{self._p}none"] * 7
        args: list[str | int] = [ttl_seconds, record.encode() if record is not None else ""]
        return bool(self._script(self._claim, [f"{self._p}dedupe:{key}", *queue], args))

    def _script(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise StoreError(f"Redis store: {type(exc).__name__}: {exc}") from exc

    def call_events(self) -> list[CallEvent]:
        return [CallEvent.decode(text) for text in self._list_waiting_or_leased(CallEvent)]

    def recording_jobs(self) -> list[RecordingJob]:
        return [RecordingJob.decode(text) for text in self._list_waiting_or_leased(RecordingJob)]

    def _queue(self, kind: type[Record]) -> list[str]:
        base = f"{self._p}{_LISTS[kind]}"
        return [base + suffix for suffix in _QUEUE_KEYS]

    def _list_waiting_or_leased(self, kind: type[Record]) -> list[str]:
        waiting, items, _, _, _, parked, _ = self._queue(kind)
        try:  # MULTI/EXEC: one consistent view of the list, the records and the parked ids
            with self._r.pipeline(transaction=True) as pipe:
                pipe.lrange(waiting, 0, -1)
                pipe.hgetall(items)
                pipe.lrange(parked, 0, -1)
                entries, records, parked_ids = pipe.execute()
        except redis.RedisError as exc:
            raise StoreError(f"Redis store: {type(exc).__name__}: {exc}") from exc
        older = [entry for entry in entries if entry.startswith("{")]  # an older version's
        skip = set(parked_ids)
        ids = sorted(int(i) for i in records if i not in skip)
        return older + [records[str(i)] for i in ids]

    def take(
        self,
        kind: type[R],
        limit: int,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> list[Leased[R]]:
        token = secrets.token_hex(8)
        lease_ms = max(1, round(lease_seconds * 1000))
        args = [limit, lease_ms, max_attempts, token, _REAP_BATCH]
        out = self._script(self._take, self._queue(kind), args)
        return [
            Leased(f"{out[i]}.{token}", int(out[i + 1]), kind.decode(out[i + 2]))
            for i in range(0, len(out), 3)
        ]

    def ack(self, kind: type[R], receipts: Iterable[str]) -> int:
        args: list[str | int] = []
        for receipt in receipts:
            item_id, token = parse_receipt(receipt)
            args += [item_id, token]
        if not args:
            return 0
        return int(self._script(self._ack, self._queue(kind), args))

    def parked(self, kind: type[R]) -> list[Parked[R]]:
        _, items, attempts, _, _, parked, _ = self._queue(kind)
        ids = self._do("lrange", parked, 0, -1)
        if not ids:
            return []
        records = self._do("hmget", items, ids)
        tries = self._do("hmget", attempts, ids)
        return [
            Parked(i, int(n or 0), kind.decode(text))
            for i, text, n in zip(ids, records, tries, strict=True)
            if text is not None
        ]

    def requeue_parked(self, kind: type[R]) -> int:
        return int(self._script(self._requeue, self._queue(kind), []))

    def check_health(self) -> None:
        """Write a heartbeat key and read it back (steps ``write``, ``read``).

        A server that cannot be reached fails at ``write`` with reason ``ConnectionError``;
        a read-only replica or a full ``maxmemory`` with its Redis error (``READONLY``, ``OOM``).
        """
        key = f"{self._p}health:{socket.gethostname()}:{os.getpid()}"
        nonce = secrets.token_hex(8)
        for step in ("write", "read"):
            try:
                if step == "write":
                    self._r.set(key, nonce, ex=_HEARTBEAT_TTL_SECONDS)
                    continue
                seen = self._r.get(key)
            except redis.RedisError as exc:
                raise _unhealthy(step, exc) from exc
        if seen != nonce:
            raise StoreUnhealthy(
                "redis",
                "read",
                "the heartbeat just written was not read back (eviction, failover?)",
            )

    def close(self) -> None:
        self._r.close()


def _unhealthy(step: str, exc: redis.RedisError) -> StoreUnhealthy:
    """For /healthz: the error's class, and Redis's own reply when it refused (READONLY, OOM).

    A connection error's message names the host and port: only the log gets it.
    """
    reason = type(exc).__name__
    if isinstance(exc, redis.ResponseError):
        reason = f"{reason}: {str(exc)[:120]}"
    return StoreUnhealthy(
        "redis", step, reason, f"Redis store: {step}: {type(exc).__name__}: {exc}"
    )
