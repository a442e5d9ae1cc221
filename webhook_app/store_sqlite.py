"""SQLite backend of the state store: one file in WAL mode, one connection per process.

The key-value tables are ``WITHOUT ROWID``: one b-tree instead of a table plus its key index,
so a session write dirties one page, not two.

Dedupe is atomic across processes because ``INSERT OR IGNORE`` on a primary key is decided by
SQLite under its write lock; the row count tells whether this caller inserted the key.

Checkpoints (which fsync) and the purge of expired rows run on a maintenance thread with its
own connection, never inside a request: SQLite's automatic checkpoint would otherwise make
every ~1000th write wait for the disk, which shows in the p99 latency.

The queues (call events, recording jobs) carry a lease per row: ``lease_token`` and
``lease_expires`` while lent to a consumer, ``attempts`` leases so far, ``parked_at`` once
parked. Taking and acknowledging are write transactions, so two processes never hold one row.

The health check opens the file anew (an open connection goes on reading its cached pages
and writing to a deleted file), writes a heartbeat row and reads it back through the
connection the requests use.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

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

_LEASE_COLUMNS = (
    ("lease_token", "TEXT"),
    ("lease_expires", "REAL"),
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("parked_at", "REAL"),
)
_LEASE_DDL = ", ".join(f"{name} {decl}" for name, decl in _LEASE_COLUMNS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ivr_session (
    call_sid TEXT PRIMARY KEY, session TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_event (id INTEGER PRIMARY KEY, event TEXT NOT NULL, {_LEASE_DDL});
CREATE TABLE IF NOT EXISTS recording_job (id INTEGER PRIMARY KEY, job TEXT NOT NULL, {_LEASE_DDL});
CREATE TABLE IF NOT EXISTS heartbeat (
    key TEXT PRIMARY KEY, nonce TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
"""
# The queue table and its JSON column of each kind of record (ours, never input).
_TABLES: dict[type[Record], tuple[str, str]] = {
    CallEvent: ("call_event", "event"),
    RecordingJob: ("recording_job", "job"),
}
_CHECKPOINT_SECONDS = 1.0
_PURGE_SECONDS = 60.0
_HEALTH_TIMEOUT_SECONDS = 2.0  # a write lock held longer than this is itself a failure
_HEARTBEAT_TTL_SECONDS = 60.0


class SqliteStore:
    """The default store; fine for one app server (any number of worker processes)."""

    name = "sqlite"  # what /healthz calls it

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
            for table, _ in _TABLES.values():
                _add_lease_columns(conn, table)
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
            # mode=rw: if the file went away, do not create an empty one in its place.
            conn = sqlite3.connect(
                _existing(self._path), uri=True, timeout=10.0, isolation_level=None
            )
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
            conn.execute("DELETE FROM heartbeat WHERE expires_at <= ?", (now,))

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
        return [CallEvent.decode(text) for text in self._list(CallEvent)]

    def recording_jobs(self) -> list[RecordingJob]:
        return [RecordingJob.decode(text) for text in self._list(RecordingJob)]

    def _list(self, kind: type[Record]) -> list[str]:
        table, column = _TABLES[kind]
        rows = self._run(
            f"SELECT {column} FROM {table} WHERE parked_at IS NULL ORDER BY id"  # noqa: S608
        ).fetchall()
        return [text for (text,) in rows]

    def take(
        self,
        kind: type[R],
        limit: int,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> list[Leased[R]]:
        table, column = _TABLES[kind]
        token = secrets.token_hex(8)
        now = self._clock()
        # One write transaction: two takers in two processes cannot lease the same rows.
        with self._transaction() as conn:
            # Leases that ran out after the last allowed attempt: park those items.
            conn.execute(
                f"UPDATE {table} SET parked_at = ?, lease_token = NULL, lease_expires = NULL "  # noqa: S608
                "WHERE parked_at IS NULL AND lease_expires <= ? AND attempts >= ?",
                (now, now, max_attempts),
            )
            rows = conn.execute(
                f"SELECT id, {column}, attempts FROM {table} WHERE parked_at IS NULL "  # noqa: S608
                "AND (lease_expires IS NULL OR lease_expires <= ?) ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany(
                f"UPDATE {table} SET lease_token = ?, lease_expires = ?, "  # noqa: S608
                "attempts = attempts + 1 WHERE id = ?",
                [(token, now + lease_seconds, row_id) for row_id, _, _ in rows],
            )
        return [
            Leased(f"{row_id}.{token}", attempts + 1, kind.decode(text))
            for row_id, text, attempts in rows
        ]

    def ack(self, kind: type[R], receipts: Iterable[str]) -> int:
        table, _ = _TABLES[kind]
        leases = [parse_receipt(receipt) for receipt in receipts]
        done = 0
        with self._transaction() as conn:
            for row_id, token in leases:
                done += conn.execute(
                    f"DELETE FROM {table} WHERE id = ? AND lease_token = ? "  # noqa: S608
                    "AND parked_at IS NULL",
                    (row_id, token),
                ).rowcount
        return done

    def parked(self, kind: type[R]) -> list[Parked[R]]:
        table, column = _TABLES[kind]
        rows = self._run(
            f"SELECT id, {column}, attempts FROM {table} "  # noqa: S608
            "WHERE parked_at IS NOT NULL ORDER BY id"
        ).fetchall()
        return [Parked(str(row_id), attempts, kind.decode(text)) for row_id, text, attempts in rows]

    def requeue_parked(self, kind: type[R]) -> int:
        table, _ = _TABLES[kind]
        with self._transaction() as conn:
            return conn.execute(
                f"UPDATE {table} SET parked_at = NULL, attempts = 0 "  # noqa: S608
                "WHERE parked_at IS NOT NULL"
            ).rowcount

    def check_health(self) -> None:
        """Open the file anew, write a heartbeat, read it back through the requests' connection.

        Steps: ``open`` (the file is missing, unreadable or not a database), ``write`` (it
        cannot be written: read-only, full disk, locked for longer than 2 s), ``read`` (the
        requests' connection does not see the heartbeat: its file was replaced or deleted).
        """
        key, nonce, now = (
            f"{socket.gethostname()}:{os.getpid()}",
            secrets.token_hex(8),
            self._clock(),
        )
        try:  # mode=rw: never create a missing file, which would hide that it went away
            probe = sqlite3.connect(
                _existing(self._path),
                uri=True,
                timeout=_HEALTH_TIMEOUT_SECONDS,
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise self._unhealthy("open", exc) from exc
        try:
            try:
                probe.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            except sqlite3.Error as exc:
                raise self._unhealthy("open", exc) from exc
            probe.execute("PRAGMA synchronous=NORMAL")  # as the requests write: no fsync per commit
            # SQLite may hand this connection a descriptor the process opened before a chmod or
            # a read-only remount: ask the kernel whether the files may still be written.
            unwritable = _unwritable(self._path)
            if unwritable:
                raise StoreUnhealthy(
                    "sqlite",
                    "write",
                    "the database file or its -wal/-shm is not writable (permissions, or a "
                    "read-only filesystem)",
                    f"SQLite store {self._path!r}: write: {unwritable} is not writable",
                )
            try:
                probe.execute(
                    "INSERT OR REPLACE INTO heartbeat (key, nonce, expires_at) VALUES (?, ?, ?)",
                    (key, nonce, now + _HEARTBEAT_TTL_SECONDS),
                )
            except sqlite3.Error as exc:
                raise self._unhealthy("write", exc) from exc
        finally:
            probe.close()
        try:
            with self._lock:
                row = (
                    self._connect()
                    .execute("SELECT nonce FROM heartbeat WHERE key = ?", (key,))
                    .fetchone()
                )
        except (sqlite3.Error, StoreError) as exc:
            raise self._unhealthy("read", exc) from exc
        if row is None or row[0] != nonce:
            raise StoreUnhealthy(
                "sqlite",
                "read",
                "the open database is not the file on disk (replaced or deleted?); restart",
                f"SQLite store {self._path!r}: read: the heartbeat written to the file is not "
                "seen by the open connection: the file was replaced or deleted; restart",
            )

    def _unhealthy(self, step: str, exc: Exception) -> StoreUnhealthy:
        reason = str(exc.__cause__ or exc) if isinstance(exc, StoreError) else str(exc)
        return StoreUnhealthy("sqlite", step, reason, f"SQLite store {self._path!r}: {step}: {exc}")

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _existing(path: str) -> str:
    """The URI that opens ``path`` only if it exists (never creating an empty database)."""
    return f"file:{quote(str(Path(path).absolute()))}?mode=rw"


def _unwritable(path: str) -> str | None:
    """The first of the database file, its -wal and its -shm this process may not write."""
    for name in (path, path + "-wal", path + "-shm"):
        if not os.access(name, os.W_OK) and (name == path or os.path.exists(name)):
            return name
    return None


def _add_lease_columns(conn: sqlite3.Connection, table: str) -> None:
    """Give a queue table of an older version its lease columns (existing rows: waiting)."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, decl in _LEASE_COLUMNS:
        if name not in have:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
