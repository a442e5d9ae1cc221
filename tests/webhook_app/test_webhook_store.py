"""Both store backends: sessions with TTL, atomic dedupe (also across processes), jobs."""

from __future__ import annotations

import io
import json
import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, Clock, delete_keys, make_settings
from werkzeug.test import Client

from webhook_app.app import create_app
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.store import CallEvent, IvrSession, RecordingJob, Store, StoreError, open_store
from webhook_app.store_redis import RedisStore
from webhook_app.store_sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store: Store = SqliteStore(str(tmp_path / "s.sqlite3"))
    else:
        store = request.getfixturevalue("redis_store")
    yield store
    store.close()


def test_sessions(any_store: Store) -> None:
    assert any_store.get_session("CA1") is None
    any_store.put_session("CA1", IvrSession("menu", 1), 60)
    assert any_store.get_session("CA1") == IvrSession("menu", 1)
    any_store.put_session("CA1", IvrSession("menu", 2), 60)
    assert any_store.get_session("CA1") == IvrSession("menu", 2)
    any_store.delete_session("CA1")
    assert any_store.get_session("CA1") is None


def test_claim_is_first_caller_only(any_store: Store) -> None:
    assert any_store.claim("CA1:call-completed:t1", 60)
    assert not any_store.claim("CA1:call-completed:t1", 60)
    assert any_store.claim("CA1:call-completed:t2", 60)


def test_a_claim_persists_its_record_once(any_store: Store) -> None:
    event = CallEvent("CA1", "completed", "t1", "42")
    job = RecordingJob("RE1", "", "https://api.twilio.com/r/RE1", "17", "completed", "CF1")
    assert any_store.claim("CA1:call-completed:t1", 60, event)
    assert not any_store.claim("CA1:call-completed:t1", 60, event)  # a duplicate adds nothing
    assert any_store.claim("CF1:recording-completed:RE1:", 60, job)
    assert any_store.call_events() == [event]
    assert any_store.recording_jobs() == [job]
    any_store.check_health()


def test_taking_lends_the_oldest_first_and_acking_removes(any_store: Store) -> None:
    jobs = [RecordingJob(f"RE{i}", "CA1", f"https://x/RE{i}", "1", "completed") for i in range(5)]
    events = [CallEvent("CA1", "completed", f"t{i}") for i in range(3)]
    for i, job in enumerate(jobs):
        any_store.claim(f"job{i}", 60, job)
    for i, event in enumerate(events):
        any_store.claim(f"event{i}", 60, event)
    first = any_store.take(RecordingJob, 2)
    assert [leased.item for leased in first] == jobs[:2]
    assert [leased.attempts for leased in first] == [1, 1]
    assert any_store.recording_jobs() == jobs  # lent, not gone: nothing acknowledged yet
    rest = any_store.take(RecordingJob, 10)
    assert [leased.item for leased in rest] == jobs[2:]
    assert any_store.take(RecordingJob, 10) == []  # all lent
    assert any_store.ack(RecordingJob, [leased.receipt for leased in first]) == 2
    assert any_store.recording_jobs() == jobs[2:]
    assert any_store.ack(RecordingJob, [leased.receipt for leased in first]) == 0  # done already
    assert any_store.ack(RecordingJob, [leased.receipt for leased in rest]) == 3
    assert any_store.recording_jobs() == []
    taken = any_store.take(CallEvent, 10)
    assert [leased.item for leased in taken] == events
    assert any_store.ack(CallEvent, [leased.receipt for leased in taken]) == 3
    assert any_store.call_events() == []
    with pytest.raises(StoreError, match="not a receipt"):
        any_store.ack(CallEvent, ["garbage"])


def _take_all(store_url: str, prefix: str, barrier: object) -> list[str]:
    """One taker process: its own store, small batches (acknowledged) until none is left."""
    store = _open(store_url, prefix)
    taken: list[str] = []
    barrier.wait()  # type: ignore[attr-defined]
    while batch := store.take(RecordingJob, 2):
        taken.extend(leased.item.recording_sid for leased in batch)
        store.ack(RecordingJob, [leased.receipt for leased in batch])
    store.close()
    return taken


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_concurrent_takers_in_processes_never_get_the_same_job(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Separate processes, separate connections: only the store's own atomicity keeps two
    # takers from reading the same rows (threads would share one connection and its lock).
    prefix = f"test-{uuid.uuid4().hex}:"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    else:
        url = request.getfixturevalue("redis_url")
    store = _open(url, prefix)
    for i in range(400):
        store.claim(f"job{i}", 60, RecordingJob(f"RE{i}", "CA1", "https://x", "1", "completed"))
    store.close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(4) as pool:
        barrier = manager.Barrier(4, timeout=BARRIER_TIMEOUT)
        pending = pool.starmap_async(_take_all, [(url, prefix, barrier)] * 4)
        results = pending.get(timeout=RUN_TIMEOUT)
    taken = [sid for batch in results for sid in batch]
    if backend == "redis":
        delete_keys(url, prefix)
    assert sorted(taken) == sorted(f"RE{i}" for i in range(400))  # every job once, none twice


def test_queue_command_lists_takes_and_acks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook_app import queue

    path = tmp_path / "q.sqlite3"
    store = SqliteStore(str(path))
    for i in range(3):
        store.claim(
            f"job{i}", 60, RecordingJob(f"RE{i}", "CA1", f"https://x/RE{i}", "1", "completed")
        )
    store.close()
    monkeypatch.setenv("VOICE_STORE_URL", f"sqlite:///{path}")
    assert queue.main(["recording-jobs"]) == 0
    assert [json.loads(line)["recording_sid"] for line in capsys.readouterr().out.splitlines()] == [
        "RE0",
        "RE1",
        "RE2",
    ]
    assert queue.main(["recording-jobs", "--take", "2"]) == 0
    taken = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(t["recording_sid"], t["attempts"]) for t in taken] == [("RE0", 1), ("RE1", 1)]
    assert queue.main(["recording-jobs", "--ack", taken[0]["receipt"]]) == 0
    assert "acknowledged 1 of 1" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(taken[1]) + "\n"))
    assert queue.main(["recording-jobs", "--ack", "-"]) == 0  # the JSON lines --take printed
    assert "acknowledged 1 of 1" in capsys.readouterr().err
    assert queue.main(["recording-jobs", "--ack", taken[1]["receipt"]]) == 0
    assert "acknowledged 0 of 1 recording-jobs; 1 no longer held" in capsys.readouterr().err
    assert queue.main(["recording-jobs"]) == 0
    assert [json.loads(line)["recording_sid"] for line in capsys.readouterr().out.splitlines()] == [
        "RE2"
    ]
    assert queue.main(["recording-jobs", "--ack", "nonsense"]) == 1
    assert "not a receipt" in capsys.readouterr().err
    monkeypatch.setenv("VOICE_STORE_URL", "sqlite:////no/such/dir/q.sqlite3")
    assert queue.main(["call-events"]) == 1
    assert "check that the directory exists" in capsys.readouterr().err


def test_sqlite_claim_is_undone_when_its_record_cannot_be_written(tmp_path: Path) -> None:
    import sqlite3

    path = str(tmp_path / "s.sqlite3")
    store = SqliteStore(path)
    event = CallEvent("CA1", "completed", "t1", "42")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("ALTER TABLE call_event RENAME TO call_event_moved")  # the write will fail
    with pytest.raises(StoreError, match="call_event"):
        store.claim("CA1:call-completed:t1", 60, event)
    other.execute("ALTER TABLE call_event_moved RENAME TO call_event")
    other.close()
    # The failed claim left no key behind: Twilio's redelivery is processed, not a duplicate.
    assert store.claim("CA1:call-completed:t1", 60, event)
    assert store.call_events() == [event]
    store.close()


def test_redis_claim_is_undone_when_its_record_cannot_be_written(
    redis_store: RedisStore, redis_url: str
) -> None:
    import redis

    raw = redis.Redis.from_url(redis_url)
    list_key = f"{redis_store._p}call_events"
    raw.set(list_key, "not a list")  # RPUSH answers WRONGTYPE
    event = CallEvent("CA1", "completed", "t1", "42")
    with pytest.raises(StoreError, match="WRONGTYPE"):
        redis_store.claim("CA1:call-completed:t1", 60, event)
    assert raw.exists(f"{redis_store._p}dedupe:CA1:call-completed:t1") == 0
    raw.delete(list_key)
    raw.close()
    assert redis_store.claim("CA1:call-completed:t1", 60, event)
    assert redis_store.call_events() == [event]


def test_sqlite_ttls_expire(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(str(tmp_path / "s.sqlite3"), clock=clock)
    store.put_session("CA1", IvrSession("menu"), 60)
    assert store.claim("k", 60)
    clock.now += 61
    assert store.get_session("CA1") is None
    assert store.claim("k", 60)  # the old key expired: a new delivery is new


def test_sqlite_maintenance_purges_expired_rows_and_checkpoints(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock()
    path = str(tmp_path / "s.sqlite3")
    store = SqliteStore(path, clock=clock)
    store.put_session("CA-old", IvrSession("menu"), 60)
    store.claim("old", 60)
    clock.now += 61
    store.put_session("CA-new", IvrSession("menu"), 60)
    conn = sqlite3.connect(path, isolation_level=None)
    store.maintenance_pass(conn, purge=True)
    assert conn.execute("SELECT call_sid FROM ivr_session").fetchall() == [("CA-new",)]
    assert conn.execute("SELECT count(*) FROM dedupe").fetchone() == (0,)
    busy, wal_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0
    assert wal_frames == checkpointed  # nothing left to copy into the database
    conn.close()
    store.close()


def test_redis_ttls_are_set(redis_store: RedisStore, redis_url: str) -> None:
    import redis

    redis_store.put_session("CA1", IvrSession("menu"), 60)
    redis_store.claim("k", 86_400)
    raw = redis.Redis.from_url(redis_url)
    prefix = redis_store._p
    assert 0 < raw.ttl(f"{prefix}ivr:CA1") <= 60
    assert 86_000 < raw.ttl(f"{prefix}dedupe:k") <= 86_400
    raw.close()


def test_open_store_rejects_unknown_urls() -> None:
    with pytest.raises(StoreError, match="sqlite:///"):
        open_store("postgres://db/voice")


def test_unreachable_redis_is_a_store_error() -> None:
    store = open_store("redis://127.0.0.1:1/0")
    with pytest.raises(StoreError, match="Redis store"):
        store.check_health()


def test_unwritable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="writable"):
        SqliteStore(str(tmp_path / "missing-dir" / "s.sqlite3"))


# --- exactly once across processes -----------------------------------------------------------

DELIVERIES = 50
PROCESSES = 8
BARRIER_TIMEOUT = 60.0  # seconds for eight spawned interpreters to import the app
RUN_TIMEOUT = 180.0
STATUS_PARAMS = {
    "AccountSid": "AC" + "0" * 32,
    "CallSid": "CA" + "7" * 32,
    "CallStatus": "completed",
    "Timestamp": "Tue, 24 Nov 2026 10:00:00 +0000",
    "CallDuration": "42",
}


def _open(store_url: str, prefix: str) -> Store:
    if store_url.startswith("redis://"):
        return RedisStore.from_url(store_url, prefix=prefix)
    return open_store(store_url)


def _deliver(store_url: str, prefix: str, count: int, barrier: object) -> list[int]:
    """One 'app server' process: build the app, wait for the others, deliver `count` times."""
    app = create_app(
        make_settings(),
        _open(store_url, prefix),
        metrics=Metrics(),
        logger=configure_logging("CRITICAL"),
    )
    client = Client(app)
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/voice/status", STATUS_PARAMS)
    barrier.wait()  # type: ignore[attr-defined]
    statuses = []
    for _ in range(count):
        response = client.post(
            "/voice/status",
            base_url=BASE,
            data=urlencode(STATUS_PARAMS),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
            buffered=True,
        )
        statuses.append(response.status_code)
    return statuses


def _run_in_processes(store_url: str, prefix: str = "") -> list[int]:
    # spawn, not fork: a forked child inherits locks that another thread of this test process
    # (a store's maintenance thread, a logging handler) may hold at that instant, and hangs.
    ctx = multiprocessing.get_context("spawn")
    counts = [
        DELIVERIES // PROCESSES + (1 if i < DELIVERIES % PROCESSES else 0) for i in range(PROCESSES)
    ]
    # Timeouts turn a stuck worker (one that died before the barrier, a lock never released)
    # into a failure naming the step, instead of a CI run that hangs until it is killed.
    with ctx.Manager() as manager:
        barrier = manager.Barrier(PROCESSES, timeout=BARRIER_TIMEOUT)
        with ctx.Pool(PROCESSES) as pool:
            pending = pool.starmap_async(
                _deliver, [(store_url, prefix, n, barrier) for n in counts]
            )
            results = pending.get(timeout=RUN_TIMEOUT)
    return [status for statuses in results for status in statuses]


@pytest.mark.slow
def test_status_callback_processed_once_across_processes_sqlite(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    SqliteStore(path).close()  # create the schema before the race
    statuses = _run_in_processes(f"sqlite:///{path}")
    assert statuses == [204] * DELIVERIES
    assert [e.call_sid for e in SqliteStore(path).call_events()] == [STATUS_PARAMS["CallSid"]]


@pytest.mark.slow
def test_status_callback_processed_once_across_processes_redis(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}:"
    statuses = _run_in_processes(redis_url, prefix)
    assert statuses == [204] * DELIVERIES
    events = RedisStore.from_url(redis_url, prefix=prefix).call_events()
    delete_keys(redis_url, prefix)
    assert [e.call_sid for e in events] == [STATUS_PARAMS["CallSid"]]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    # WAL lets the app's processes read while one writes; rollback journals serialize them.
    import sqlite3

    path = str(tmp_path / "wal.sqlite3")
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_redis_keys_share_one_cluster_slot_by_default(redis_url: str) -> None:
    # The claim script touches a dedupe key and a list: on Redis Cluster both must hash alike,
    # which the `{voice}` hash tag at the front of every default key ensures.
    import redis

    store = RedisStore.from_url(redis_url)
    client = redis.Redis.from_url(redis_url)
    key = uuid.uuid4().hex
    try:
        assert store.claim(key, 60)
        assert client.exists(f"{{voice}}:dedupe:{key}") == 1
    finally:
        client.delete(f"{{voice}}:dedupe:{key}")
        store.close()
        client.close()
