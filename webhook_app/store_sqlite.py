"""SQLite backend of the state store: one file in WAL mode, one connection per process.

The key-value tables are ``WITHOUT ROWID``: one b-tree instead of a table plus its key index,
so a session write dirties one page, not two.

Dedupe is atomic across processes because ``INSERT OR IGNORE`` on a primary key is decided by
SQLite under its write lock; the row count tells whether this caller inserted the key.

Checkpoints (which fsync) and the purge of expired rows run on a maintenance thread with its
own connection, never inside a request: SQLite's automatic checkpoint would otherwise make
every ~1000th write wait for the disk, which shows in the p99 latency.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from webhook_app.store import CallEvent, IvrSession, Record, RecordingJob, StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ivr_session (
    call_sid TEXT PRIMARY KEY, session TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_event (id INTEGER PRIMARY KEY, event TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recording_job (id INTEGER PRIMARY KEY, job TEXT NOT NULL);
"""
# The queue table and its JSON column of each kind of record (ours, never input).
_TABLES: dict[type[Record], tuple[str, str]] = {
    CallEvent: ("call_event", "event"),
    RecordingJob: ("recording_job", "job"),
}
_CHECKPOINT_SECONDS = 1.0
_PURGE_SECONDS = 60.0


class SqliteStore:
    """The default store; fine for one app server (any number of worker processes)."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._connect()  # fail fast on a bad path; workers reconnect after fork

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            conn = sqlite3.connect(
                self._path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the maintenance thread checkpoints
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(
                f"SQLite store {self._path!r}: {exc}; check that the directory exists and is "
                "writable, or set VOICE_STORE_URL"
            ) from exc
        self._conn, self._pid = conn, os.getpid()
        self._stop = threading.Event()
        threading.Thread(target=self._maintain, name="sqlite-maintenance", daemon=True).start()
        return conn

    def _maintain(self) -> None:
        """Checkpoint the WAL every second and purge expired rows every minute."""
        stop = self._stop
        try:
            conn = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
        except sqlite3.Error:
            return  # the request connection reports the problem
        last_purge = time.monotonic()
        while not stop.wait(_CHECKPOINT_SECONDS):
            purge = time.monotonic() - last_purge >= _PURGE_SECONDS
            try:
                self.maintenance_pass(conn, purge=purge)
            except sqlite3.Error:
                continue  # busy or locked: try again next round
            if purge:
                last_purge = time.monotonic()
        conn.close()

    def maintenance_pass(self, conn: sqlite3.Connection, *, purge: bool) -> None:
        """One round of maintenance on ``conn``: checkpoint, and optionally purge expired rows."""
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if purge:
            now = self._clock()
            conn.execute("DELETE FROM ivr_session WHERE expires_at <= ?", (now,))
            conn.execute("DELETE FROM dedupe WHERE expires_at <= ?", (now,))

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, used by one thread at a time; errors are StoreErrors."""
        with self._lock:
            try:
                yield self._connect()
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self._path!r}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taken at once: no other process can slip in between)."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        # The same as one statement in `_connection()`, written out: it is the hot path, and
        # a generator-based context manager costs more than the statement's Python side.
        with self._lock:
            try:
                return self._connect().execute(sql, args)
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self._path!r}: {exc}") from exc

    def get_session(self, call_sid: str) -> IvrSession | None:
        row = self._run(
            "SELECT session FROM ivr_session WHERE call_sid = ? AND expires_at > ?",
            (call_sid, self._clock()),
        ).fetchone()
        return None if row is None else IvrSession.decode(row[0])

    def put_session(self, call_sid: str, session: IvrSession, ttl_seconds: int) -> None:
        self._run(
            "INSERT OR REPLACE INTO ivr_session (call_sid, session, expires_at) VALUES (?, ?, ?)",
            (call_sid, session.encode(), self._clock() + ttl_seconds),
        )

    def delete_session(self, call_sid: str) -> None:
        self._run("DELETE FROM ivr_session WHERE call_sid = ?", (call_sid,))

    def claim(self, key: str, ttl_seconds: int, record: Record | None = None) -> bool:
        now = self._clock()
        # One transaction: the claim and its record are committed together.
        with self._transaction() as conn:
            # An expired key may be claimed again.
            conn.execute("DELETE FROM dedupe WHERE key = ? AND expires_at <= ?", (key, now))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO dedupe (key, expires_at) VALUES (?, ?)",
                (key, now + ttl_seconds),
            )
            claimed = cursor.rowcount == 1
            if claimed and record is not None:
                table, column = _TABLES[type(record)]
                conn.execute(f"INSERT INTO {table} ({column}) VALUES (?)", (record.encode(),))  # noqa: S608
        return claimed

    def call_events(self) -> list[CallEvent]:
        return [CallEvent(**_json(text)) for text in self._list(CallEvent)]

    def recording_jobs(self) -> list[RecordingJob]:
        return [RecordingJob(**_json(text)) for text in self._list(RecordingJob)]

    def take_call_events(self, limit: int) -> list[CallEvent]:
        return [CallEvent(**_json(text)) for text in self._take(CallEvent, limit)]

    def take_recording_jobs(self, limit: int) -> list[RecordingJob]:
        return [RecordingJob(**_json(text)) for text in self._take(RecordingJob, limit)]

    def _list(self, kind: type[Record]) -> list[str]:
        table, column = _TABLES[kind]
        rows = self._run(f"SELECT {column} FROM {table} ORDER BY id").fetchall()  # noqa: S608
        return [text for (text,) in rows]

    def _take(self, kind: type[Record], limit: int) -> list[str]:
        table, column = _TABLES[kind]
        # One transaction: two takers in two processes cannot both read the same rows.
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT id, {column} FROM {table} ORDER BY id LIMIT ?",  # noqa: S608
                (limit,),
            ).fetchall()
            if rows:
                conn.execute(f"DELETE FROM {table} WHERE id <= ?", (rows[-1][0],))  # noqa: S608
        return [text for _, text in rows]

    def ping(self) -> None:
        self._run("SELECT 1").fetchone()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _json(text: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(text)
    return data
