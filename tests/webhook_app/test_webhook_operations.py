"""Operating the app: honest health, call diagnostics, leased queues, protected metrics."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from webhook_support import BASE, Twilio, delete_keys, make_settings, start_redis
from werkzeug.test import Client

from webhook_app import store_sqlite
from webhook_app.app import create_app
from webhook_app.callflow.artifact import built_in
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.store import CallEvent, RecordingJob, Store, open_store
from webhook_app.store_redis import RedisStore
from webhook_app.store_sqlite import SqliteStore

TESTS = Path(__file__).parent
REPO = TESTS.parent.parent


def _health(store: Store) -> tuple[int, dict[str, Any]]:
    app = create_app(
        make_settings(), store, metrics=Metrics(), logger=configure_logging("CRITICAL")
    )
    response = Client(app).get("/healthz", base_url=BASE)
    body: dict[str, Any] = dict(response.json)  # type: ignore[arg-type]
    # Both answers (200 and 503) name the call flows served: here the built-in flow.
    assert body.pop("call_flows") == built_in().hash
    assert body.pop("call_flows_source") == "built-in"
    return response.status_code, body


# --- /healthz: the store proves it can be written and read back -------------------------------


def test_healthz_is_ok_for_a_working_sqlite_store(store: SqliteStore) -> None:
    assert _health(store) == (200, {"status": "ok", "store": "sqlite"})


def test_healthz_fails_when_the_sqlite_file_was_deleted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    assert store.claim("k", 60, CallEvent("CA1", "completed", "t1"))
    path.unlink()  # the open connection goes on writing to the deleted file
    assert store.claim("k2", 60)  # ... so requests still "work", and lose their data
    status, body = _health(store)
    assert status == 503
    assert body["store"] == "sqlite"
    assert body["step"] == "open"
    assert "unable to open" in body["reason"]
    assert str(tmp_path) not in json.dumps(body)  # no path on an unauthenticated page
    store.close()


def test_healthz_fails_when_the_sqlite_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    assert store.claim("k", 60, CallEvent("CA1", "completed", "t1"))
    checkpoint = sqlite3.connect(path, isolation_level=None)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint.close()
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(random.Random(1).randbytes(size))
    status, body = _health(store)
    assert (status, body["store"], body["step"]) == (503, "sqlite", "open")
    assert "not a database" in body["reason"]
    store.close()


def test_healthz_fails_when_the_sqlite_file_was_replaced(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    store.check_health()
    shutil.copy(path, tmp_path / "copy.sqlite3")
    os.replace(tmp_path / "copy.sqlite3", path)  # a restore over the open database
    status, body = _health(store)
    assert (status, body["step"]) == (503, "read")
    store.close()


def test_healthz_fails_when_the_sqlite_file_stays_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_sqlite, "_HEALTH_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a stuck writer: nothing else can write
    status, body = _health(store)
    holder.execute("ROLLBACK")
    holder.close()
    assert (status, body["step"], body["reason"]) == (503, "write", "database is locked")
    assert _health(store)[0] == 200
    store.close()


def test_healthz_fails_when_the_sqlite_file_becomes_read_only(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    assert _health(store)[0] == 200
    if os.geteuid() != 0:
        path.chmod(0o444)
        undo = ["chmod", "644", str(path)]
    else:  # root writes a mode 444 file anyway, not an immutable one
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("running as root without chattr(1): cannot make the file read-only")
        made = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {made.stderr.decode()[-200:]}")
        undo = [chattr, "-i", str(path)]
    try:
        status, body = _health(store)
    finally:
        subprocess.run(undo, check=True)
    assert (status, body["step"]) == (503, "write")
    assert "not writable" in body["reason"]
    store.close()


def test_healthz_is_ok_for_a_working_redis_store(redis_store: RedisStore) -> None:
    assert _health(redis_store) == (200, {"status": "ok", "store": "redis"})


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own, to stop or turn into a replica."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server on PATH (apt-get install redis-server)")
    proc, url = start_redis(binary, tmp_path)
    yield proc, url
    proc.kill()
    proc.wait(timeout=10)


def test_healthz_fails_when_redis_goes_down(
    private_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, url = private_redis
    store = RedisStore.from_url(url)
    assert _health(store)[0] == 200
    proc.kill()
    proc.wait(timeout=10)
    status, body = _health(store)
    assert (status, body["store"], body["step"]) == (503, "redis", "write")
    assert body["reason"] == "ConnectionError"  # the host and port stay in the log


def test_healthz_fails_when_redis_refuses_writes(
    private_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    _, url = private_redis
    store = RedisStore.from_url(url)
    admin = redis.Redis.from_url(url)
    admin.replicaof("127.0.0.1", 1)  # a replica answers READONLY
    status, body = _health(store)
    admin.replicaof("NO", "ONE")
    admin.close()
    assert (status, body["step"]) == (503, "write")
    assert body["reason"].startswith("ReadOnlyError: ")


def test_healthz_logs_the_failure_with_its_details(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    path.unlink()
    stream = io.StringIO()
    app = create_app(
        make_settings(), store, metrics=Metrics(), logger=configure_logging("INFO", stream)
    )
    assert Client(app).get("/healthz", base_url=BASE).status_code == 503
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "health check" in x]
    assert (line["level"], line["store"], line["step"]) == ("ERROR", "sqlite", "open")
    assert str(path) in line["error"]  # the log, unlike the page, says which file
    store.close()


# --- queues: leases, acknowledgements, parking ------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(store URL, key prefix) of a fresh store on each backend."""
    prefix = f"test-{uuid.uuid4().hex}:"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
        SqliteStore(url.removeprefix("sqlite:///")).close()  # the schema, before any race
        yield url, prefix
        return
    url = request.getfixturevalue("redis_url")
    yield url, prefix
    delete_keys(url, prefix)


def _open(url: str, prefix: str) -> Store:
    return RedisStore.from_url(url, prefix=prefix) if url.startswith("redis") else open_store(url)


def _jobs(store: Store, count: int) -> list[RecordingJob]:
    jobs = [
        RecordingJob(f"RE{i}", "CA1", f"https://x/RE{i}", "1", "completed") for i in range(count)
    ]
    for i, job in enumerate(jobs):
        assert store.claim(f"job{i}", 60, job)
    return jobs


def test_an_unacknowledged_item_comes_back_after_its_lease(backend: tuple[str, str]) -> None:
    store = _open(*backend)
    jobs = _jobs(store, 3)
    [first] = store.take(RecordingJob, 1, lease_seconds=0.3)
    assert first.item == jobs[0]
    assert [leased.item for leased in store.take(RecordingJob, 5, lease_seconds=0.3)] == jobs[1:]
    assert store.take(RecordingJob, 5) == []  # all lent
    time.sleep(0.45)
    again = store.take(RecordingJob, 5, lease_seconds=30)
    assert [(leased.item, leased.attempts) for leased in again] == [(j, 2) for j in jobs]
    assert store.ack(RecordingJob, [first.receipt]) == 0  # its lease ran out, lent again
    assert store.ack(RecordingJob, [leased.receipt for leased in again]) == 3
    assert store.recording_jobs() == []
    store.close()


def test_a_poison_item_is_parked_after_max_attempts(backend: tuple[str, str]) -> None:
    store = _open(*backend)
    [job] = _jobs(store, 1)
    for attempt in (1, 2, 3):
        [leased] = store.take(RecordingJob, 1, lease_seconds=0.1, max_attempts=3)
        assert leased.attempts == attempt
        time.sleep(0.15)  # the consumer fails: no ack
    assert store.take(RecordingJob, 1, lease_seconds=0.1, max_attempts=3) == []
    [parked] = store.parked(RecordingJob)
    assert (parked.item, parked.attempts) == (job, 3)
    assert store.recording_jobs() == []  # parked items are not waiting
    assert store.requeue_parked(RecordingJob) == 1
    assert store.parked(RecordingJob) == []
    [leased] = store.take(RecordingJob, 1)
    assert (leased.item, leased.attempts) == (job, 1)
    assert store.ack(RecordingJob, [leased.receipt]) == 1
    store.close()


_KILLED_CONSUMER = """
import sys, time
sys.path[:0] = sys.argv[3:5]
from webhook_app.store import RecordingJob
from webhook_app.store_redis import RedisStore
from webhook_app.store import open_store

url, prefix = sys.argv[1], sys.argv[2]
store = RedisStore.from_url(url, prefix=prefix) if url.startswith("redis") else open_store(url)
taken = store.take(RecordingJob, 3, lease_seconds=1.0)
print(" ".join(leased.item.recording_sid for leased in taken), flush=True)
time.sleep(600)  # "processing", until SIGKILL
"""


def test_a_consumer_killed_after_taking_loses_nothing(backend: tuple[str, str]) -> None:
    url, prefix = backend
    store = _open(url, prefix)
    jobs = _jobs(store, 5)
    consumer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CONSUMER, url, prefix, str(REPO), str(TESTS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert consumer.stdout is not None
    taken = consumer.stdout.readline().split()
    consumer.send_signal(signal.SIGKILL)
    consumer.wait(timeout=10)
    assert taken == ["RE0", "RE1", "RE2"]
    others = store.take(RecordingJob, 10, lease_seconds=30)
    assert [leased.item for leased in others] == jobs[3:]  # the lent ones stay lent a while
    time.sleep(1.2)
    back = store.take(RecordingJob, 10, lease_seconds=30)
    assert [(leased.item, leased.attempts) for leased in back] == [(j, 2) for j in jobs[:3]]
    assert store.ack(RecordingJob, [leased.receipt for leased in others + back]) == 5
    assert store.recording_jobs() == []
    store.close()


BARRIER_TIMEOUT = 60.0
RUN_TIMEOUT = 180.0
ITEMS = 120
CONSUMERS = 4


def _consume(url: str, prefix: str, seed: int, barrier: Any) -> tuple[list[str], int]:
    """A slow, unlucky consumer: some items take longer than their lease before the ack."""
    store = _open(url, prefix)
    rng = random.Random(seed)
    finished: list[str] = []
    redelivered = 0
    barrier.wait()
    while True:
        batch = store.take(RecordingJob, 2, lease_seconds=0.05, max_attempts=1000)
        if not batch:
            if not store.recording_jobs():
                break
            time.sleep(0.01)  # the rest is lent to others: wait for their acks or leases
            continue
        for leased in batch:
            redelivered += leased.attempts > 1
            time.sleep(rng.choice((0.0, 0.0, 0.01, 0.08)))  # 0.08 s: past the lease
            if store.ack(RecordingJob, [leased.receipt]) == 1:
                finished.append(leased.item.recording_sid)
    store.close()
    return finished, redelivered


@pytest.mark.slow
def test_two_consumers_never_both_finish_the_same_item(backend: tuple[str, str]) -> None:
    url, prefix = backend
    store = _open(url, prefix)
    _jobs(store, ITEMS)
    store.close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(CONSUMERS) as pool:
        barrier = manager.Barrier(CONSUMERS, timeout=BARRIER_TIMEOUT)
        args = [(url, prefix, seed, barrier) for seed in range(CONSUMERS)]
        results = pool.starmap_async(_consume, args).get(timeout=RUN_TIMEOUT)
    finished = [sid for done, _ in results for sid in done]
    assert sorted(finished) == sorted(f"RE{i}" for i in range(ITEMS))  # each once, none twice
    assert sum(redelivered for _, redelivered in results) > 0  # leases did run out meanwhile


def test_queue_written_by_the_previous_version_is_taken(tmp_path: Path, redis_url: str) -> None:
    # SQLite: a table without the lease columns.
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("CREATE TABLE recording_job (id INTEGER PRIMARY KEY, job TEXT NOT NULL)")
    job = RecordingJob("RE1", "CA1", "https://x/RE1", "1", "completed")
    old.execute("INSERT INTO recording_job (job) VALUES (?)", (job.encode(),))
    old.close()
    # Redis: a list of the records' JSON.
    prefix = f"test-{uuid.uuid4().hex}:"
    raw = redis.Redis.from_url(redis_url)
    raw.rpush(f"{prefix}recording_jobs", job.encode())
    raw.close()
    for store in (SqliteStore(str(path)), RedisStore.from_url(redis_url, prefix=prefix)):
        assert store.recording_jobs() == [job]
        [leased] = store.take(RecordingJob, 5)
        assert leased.item == job
        assert store.ack(RecordingJob, [leased.receipt]) == 1
        assert store.recording_jobs() == []
        store.close()
    delete_keys(redis_url, prefix)


def test_queue_command_shows_and_requeues_parked_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook_app import queue

    path = tmp_path / "q.sqlite3"
    store = SqliteStore(str(path))
    _jobs(store, 1)
    monkeypatch.setenv("VOICE_STORE_URL", f"sqlite:///{path}")
    assert (
        queue.main(["recording-jobs", "--take", "1", "--lease", "0.05", "--max-attempts", "1"]) == 0
    )
    time.sleep(0.1)
    assert queue.main(["recording-jobs", "--take", "1", "--max-attempts", "1"]) == 0
    capsys.readouterr()
    assert queue.main(["recording-jobs", "--parked"]) == 0
    out, err = capsys.readouterr()
    [parked] = [json.loads(line) for line in out.splitlines()]
    assert (parked["recording_sid"], parked["attempts"]) == ("RE0", 1)
    assert "1 parked recording-jobs" in err
    assert queue.main(["recording-jobs", "--requeue-parked"]) == 0
    assert queue.main(["recording-jobs"]) == 0
    assert "RE0" in capsys.readouterr().out
    store.close()


# --- call diagnostics: kept, logged, counted ----------------------------------------------------

CALL = "CA" + "1" * 32
PARENT = "CA" + "2" * 32
DIALED = "CA" + "3" * 32


def _diagnostics_app(store: Store, stream: io.StringIO) -> tuple[Twilio, Metrics]:
    metrics = Metrics()
    app = create_app(
        make_settings(caller_id="+14155550199"),
        store,
        metrics=metrics,
        logger=configure_logging("INFO", stream),
    )
    return Twilio(Client(app)), metrics


def test_status_callback_diagnostics_are_kept_logged_and_counted(
    store: SqliteStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    twilio, metrics = _diagnostics_app(store, stream)
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": CALL,
        "CallStatus": "failed",
        "Timestamp": "Tue, 24 Nov 2026 10:00:00 +0000",
        "CallDuration": "0",
        "ErrorCode": "32011",
        "ErrorUrl": "sip:alice@pbx.example.com",
        "SipResponseCode": "503",
        "ParentCallSid": PARENT,
    }
    assert twilio.post("/voice/status", params).status_code == 204
    assert twilio.post("/voice/status", params).status_code == 204  # a redelivery
    [event] = store.call_events()
    assert event == CallEvent(
        CALL,
        "failed",
        params["Timestamp"],
        "0",
        source="status",
        error_code="32011",
        error_url="sip:alice@pbx.example.com",
        sip_response_code="503",
        parent_call_sid=PARENT,
    )
    text = metrics.render().decode()
    assert (
        'voice_call_failures_total{error_code="32011",flow="call_status",status="failed"} 1.0'
        in text
    )  # once: the redelivery is a duplicate
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["error_code"] == "32011"
    assert line["sip_response_code"] == "503"
    assert line["parent_call_sid"] == PARENT
    assert line["call_duration"] == "0"
    # python -m webhook_app.queue shows them
    from webhook_app import queue

    monkeypatch.setenv("VOICE_STORE_URL", f"sqlite:///{store._path}")
    capsys.readouterr()
    assert queue.main(["call-events"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["error_code"], shown["sip_response_code"], shown["parent_call_sid"]) == (
        "32011",
        "503",
        PARENT,
    )


def test_fallback_diagnostics_are_kept_logged_and_counted(store: SqliteStore) -> None:
    stream = io.StringIO()
    twilio, metrics = _diagnostics_app(store, stream)
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": CALL,
        "CallStatus": "in-progress",
        "From": "+12125550199",
        "To": "+14155550100",
        "ErrorCode": "11200",
        "ErrorUrl": "https://voice.example.test/voice/inbound",
    }
    response = twilio.post("/voice/fallback", params)
    assert response.status_code == 200
    assert b"<Dial" in response.data
    twilio.post("/voice/trunk/disaster-recovery", {**params, "ErrorCode": "not-a-code"})
    twilio.post("/voice/trunk/disaster-recovery", {**params, "ErrorCode": "1234567890"})
    twilio.post("/voice/fallback", {k: v for k, v in params.items() if k != "ErrorCode"})
    text = metrics.render().decode()
    assert 'voice_fallbacks_total{error_code="11200",flow="voice_fallback"} 1.0' in text
    assert 'voice_fallbacks_total{error_code="none",flow="voice_fallback"} 1.0' in text
    assert 'voice_fallbacks_total{error_code="other",flow="trunk_disaster_recovery"} 2.0' in text
    events = store.call_events()
    assert [(e.source, e.error_code) for e in events] == [
        ("fallback", "11200"),
        ("fallback", "not-a-code"),
        ("fallback", "1234567890"),
        ("fallback", ""),
    ]
    assert events[0].error_url == params["ErrorUrl"]
    first = json.loads(stream.getvalue().splitlines()[0])
    assert (first["error_code"], first["error_url"]) == ("11200", params["ErrorUrl"])


def test_dial_action_diagnostics_are_kept_logged_and_counted(store: SqliteStore) -> None:
    stream = io.StringIO()
    twilio, metrics = _diagnostics_app(store, stream)
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": CALL,
        "CallStatus": "in-progress",
        "DialCallSid": DIALED,
        "DialCallStatus": "busy",
        "DialCallDuration": "0",
        "DialSipResponseCode": "486",
    }
    assert twilio.post("/voice/dial/status?then=message", params).status_code == 200
    [event] = store.call_events()
    assert (event.source, event.dial_call_sid, event.dial_call_status) == ("dial", DIALED, "busy")
    assert (event.sip_response_code, event.duration) == ("486", "0")
    text = metrics.render().decode()
    assert (
        'voice_call_failures_total{error_code="none",flow="dial_status",status="busy"} 1.0' in text
    )
    line = json.loads(stream.getvalue().splitlines()[0])
    assert (line["dial_call_sid"], line["dial_call_status"]) == (DIALED, "busy")
    assert line["dial_sip_response_code"] == "486"


def test_diagnostics_stay_off_the_ivr_hot_path(store: SqliteStore) -> None:
    stream = io.StringIO()
    twilio, _ = _diagnostics_app(store, stream)
    params = {"CallSid": CALL, "From": "+12125550199", "To": "+14155550100", "ErrorCode": "1"}
    assert twilio.post("/voice/inbound", params).status_code == 200
    line = json.loads(stream.getvalue())
    assert "error_code" not in line
    assert store.call_events() == []


def test_fallback_is_served_when_the_store_is_down(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(str(path))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA busy_timeout = 0")
    store._connect().execute("PRAGMA busy_timeout = 0")  # fail at once instead of in 10 s
    holder.execute("BEGIN EXCLUSIVE")
    stream = io.StringIO()
    twilio, metrics = _diagnostics_app(store, stream)
    response = twilio.post("/voice/fallback", {"CallSid": CALL, "ErrorCode": "11200"})
    holder.execute("ROLLBACK")
    holder.close()
    assert response.status_code == 200
    assert b"<Dial" in response.data
    text = metrics.render().decode()
    assert (
        'voice_flow_outcomes_total{flow="voice_fallback",outcome="store_unavailable"} 1.0' in text
    )
    assert 'voice_fallbacks_total{error_code="11200",flow="voice_fallback"} 1.0' in text
    store.close()


# --- /metrics protection: a bearer token, a listener of its own ---------------------------------

METRICS_TOKEN = "metrics-token-0123456789abcdef"


def _metrics_client(store: Store, **settings: Any) -> Client:
    app = create_app(
        make_settings(**settings), store, metrics=Metrics(), logger=configure_logging("CRITICAL")
    )
    return Client(app)


def test_metrics_token_is_required_when_set(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)  # webhook_app.ops calls it from here
    client = _metrics_client(store, metrics_token=METRICS_TOKEN)
    missing = client.get("/metrics", base_url=BASE)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    for header in (f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", METRICS_TOKEN, "Bearer"):
        response = client.get("/metrics", base_url=BASE, headers={"Authorization": header})
        assert response.status_code == 401, header
    ok = client.get("/metrics", base_url=BASE, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200
    assert b"voice_webhook_requests_total" in ok.data
    assert (METRICS_TOKEN.encode(), METRICS_TOKEN.encode()) in compared  # constant time
    assert client.get("/healthz", base_url=BASE).status_code == 200  # for load balancers


def test_metrics_are_open_without_a_token(store: SqliteStore) -> None:
    assert _metrics_client(store).get("/metrics", base_url=BASE).status_code == 200


def test_metrics_port_serves_metrics_and_health_on_a_listener_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error
    import urllib.request

    from webhook_app.app import serving_app
    from webhook_app.settings import load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "TWILIO_AUTH_TOKEN": "test-auth-token-0123456789abcdef",
        "PUBLIC_BASE_URL": BASE,
        "VOICE_STORE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
        "METRICS_PORT": str(port),
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": "CRITICAL",
    }
    monkeypatch.setattr("gc.freeze", lambda: None)  # leave the test process's heap alone
    app = serving_app(load_settings(env))
    assert Client(app).get("/metrics", base_url=BASE).status_code == 404  # not on the webhooks

    def get(path: str, token: str | None = None) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert get("/healthz") == 200
    assert get("/metrics") == 401
    assert get("/metrics", METRICS_TOKEN) == 200
    assert get("/voice/inbound") == 404


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN: Value error, must be at least 16"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"METRICS_PORT": "nine"}, "METRICS_PORT"),
    ],
)
def test_metrics_settings_are_checked(env: dict[str, str], message: str) -> None:
    from webhook_app.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"TWILIO_AUTH_TOKEN": "t", **env})
    assert "short" not in str(caught.value)  # the token is never echoed
