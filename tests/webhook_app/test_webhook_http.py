"""HTTP behaviour at the edge: signatures, proxies, methods, sizes, health, metrics and logs."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import sqlite3
import wsgiref.validate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, AppFactory, Twilio, main_flow_with, make_settings
from werkzeug.test import Client

from webhook_app.app import MAX_BODY_BYTES, create_app, get_app
from webhook_app.callflow import artifact
from webhook_app.callflow.model import CallFlows
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.routes import ROUTES
from webhook_app.settings import SettingsError, load_settings
from webhook_app.store import IvrSession, StoreError
from webhook_app.store_sqlite import SqliteStore

TWILIO_ROUTES = [r for r in ROUTES if r.twilio]


@pytest.mark.parametrize("route", TWILIO_ROUTES, ids=[r.flow for r in TWILIO_ROUTES])
def test_every_twilio_route_needs_a_signature(
    twilio: Twilio, call_params: dict[str, str], route: Any
) -> None:
    missing = twilio.client.post(
        route.path,
        base_url=BASE,
        data=urlencode(call_params),
        content_type="application/x-www-form-urlencoded",
    )
    assert missing.status_code == 403
    bad = twilio.post(route.path, call_params, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert bad.status_code == 403


def test_wrong_token_and_tampering_are_refused(twilio: Twilio, call_params: dict[str, str]) -> None:
    wrong = RequestValidator("another-token").compute_signature(
        BASE + "/voice/inbound", call_params
    )
    assert twilio.post("/voice/inbound", call_params, signature=wrong).status_code == 403
    good = twilio.sign(BASE + "/voice/inbound", call_params)
    tampered = {**call_params, "From": "+19005550000"}
    assert twilio.post("/voice/inbound", tampered, signature=good).status_code == 403
    # signed for another route (the signature covers the URL)
    other = twilio.sign(BASE + "/voice/menu", call_params)
    assert twilio.post("/voice/inbound", call_params, signature=other).status_code == 403
    assert twilio.post("/voice/inbound", call_params, signature=good).status_code == 200


def test_signature_failures_are_counted(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    metrics = Metrics()
    twilio = make_twilio(metrics=metrics)
    twilio.post("/voice/inbound", call_params, signature="nope")
    value = metrics.registry.get_sample_value(
        "voice_webhook_signature_failures_total", {"flow": "ivr_main"}
    )
    assert value == 1.0


def test_json_body_is_validated_with_body_sha256(twilio: Twilio) -> None:
    body = json.dumps({"CallSid": "CA1", "CallStatus": "completed", "Timestamp": "t1"})
    digest = hashlib.sha256(body.encode()).hexdigest()
    url = f"{BASE}/voice/status?bodySHA256={digest}"
    signature = RequestValidator(TOKEN).compute_signature(url, {})

    def send(data: str, path: str) -> int:
        return twilio.client.post(
            path,
            base_url=BASE,
            data=data,
            content_type="application/json",
            headers={"X-Twilio-Signature": signature},
        ).status_code

    assert send(body, f"/voice/status?bodySHA256={digest}") == 204
    assert send(body.replace("completed", "failed"), f"/voice/status?bodySHA256={digest}") == 403
    assert send(body, "/voice/status") == 403  # no body hash to check the body against


@pytest.mark.parametrize(
    "body",
    [
        "[1, 2]",
        # Valid JSON, but the escape is a lone UTF-16 surrogate no store or log can encode.
        '{"CallSid": "CA\\ud800", "CallStatus": "completed", "Timestamp": "t"}',
        '{"CallSid": "CA1", "CallStatus": "completed", "Timestamp": "\\udfff"}',
    ],
)
def test_json_body_that_is_not_an_object_of_text_is_400(twilio: Twilio, body: str) -> None:
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"/voice/status?bodySHA256={digest}"
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, {})
    response = twilio.client.post(
        path,
        base_url=BASE,
        data=body,
        content_type="application/json",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 400


def test_behind_a_proxy_validates_the_external_url(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    # PUBLIC_BASE_URL names the public host but not its scheme: only the forwarded URL matches
    # (the second candidate may differ from it in scheme, port and prefix, never in host).
    twilio = make_twilio(
        make_settings(trusted_proxy_hops=1, public_base_url="http://voice.example.com")
    )
    external = "https://voice.example.com"
    signature = twilio.sign(external + "/voice/inbound", call_params)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.com"}
    internal = "http://10.0.0.5:8080"
    ok = twilio.post(
        "/voice/inbound", call_params, signature=signature, headers=forwarded, base=internal
    )
    assert ok.status_code == 200
    # without the forwarded headers the app sees its internal URL: the signature doesn't match
    bare = twilio.post("/voice/inbound", call_params, signature=signature, base=internal)
    assert bare.status_code == 403


def test_forwarded_headers_are_ignored_without_trusted_hops(
    twilio: Twilio, call_params: dict[str, str]
) -> None:
    # A client cannot make the app validate against a URL of its choosing.
    signature = twilio.sign("https://attacker.example/voice/inbound", call_params)
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"}
    response = twilio.post("/voice/inbound", call_params, signature=signature, headers=forged)
    assert response.status_code == 403


def test_a_trusted_proxy_cannot_carry_another_hosts_signature(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    # nginx forwards the client's own Host as X-Forwarded-Host: a genuine signature Twilio made
    # for another host of the account (staging) must still be refused.
    twilio = make_twilio(
        make_settings(trusted_proxy_hops=1, public_base_url="https://voice.example.com")
    )
    signature = twilio.sign("https://staging.example.com/voice/inbound", call_params)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "staging.example.com"}
    response = twilio.post(
        "/voice/inbound",
        call_params,
        signature=signature,
        headers=forwarded,
        base="http://10.0.0.5:8080",
    )
    assert response.status_code == 403


def test_proxy_hops_trust_only_the_last_hop(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    twilio = make_twilio(make_settings(trusted_proxy_hops=1))
    signature = twilio.sign("https://attacker.example/voice/inbound", call_params)
    spoofed = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "attacker.example, voice.example.com",
    }
    response = twilio.post(
        "/voice/inbound",
        call_params,
        signature=signature,
        headers=spoofed,
        base="http://10.0.0.5:8080",
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/voice/inbound", "POST"),
        ("PUT", "/voice/status", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/metrics", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(twilio: Twilio, method: str, path: str, allow: str) -> None:
    response = twilio.client.open(path, base_url=BASE, method=method)
    assert response.status_code == 405
    assert sorted(response.headers["Allow"].split(", ")) == sorted(allow.split(", "))


def test_unknown_path_is_404(twilio: Twilio) -> None:
    assert twilio.client.post("/voice/nope", base_url=BASE).status_code == 404


def test_body_over_64_kib_is_413(twilio: Twilio, call_params: dict[str, str]) -> None:
    big = {**call_params, "Junk": "x" * MAX_BODY_BYTES}
    assert twilio.post("/voice/inbound", big).status_code == 413


def test_chunked_body_over_64_kib_is_413(twilio: Twilio) -> None:
    body = b"a=" + b"x" * (MAX_BODY_BYTES + 10)
    response = twilio.client.post(
        "/voice/inbound",
        base_url=BASE,
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "x", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/x-www-form-urlencoded", b"CallSid=\xff\xfe", 400),  # not UTF-8
        ("text/plain", b"hello", 415),
        ("multipart/form-data; boundary=x", b"--x--", 415),
    ],
)
def test_malformed_bodies(twilio: Twilio, content_type: str, body: bytes, status: int) -> None:
    response = twilio.client.post(
        "/voice/inbound",
        base_url=BASE,
        data=body,
        content_type=content_type,
        headers={"X-Twilio-Signature": "x"},
    )
    assert response.status_code == status


def test_healthz_and_metrics(make_twilio: AppFactory, call_params: dict[str, str]) -> None:
    metrics = Metrics()
    twilio = make_twilio(metrics=metrics)
    twilio.post("/voice/inbound", call_params)
    health = twilio.client.get("/healthz", base_url=BASE)
    assert health.status_code == 200
    assert health.json == {
        "status": "ok",
        "store": "sqlite",
        "call_flows": artifact.built_in().hash,
        "call_flows_source": "built-in",
    }
    text = twilio.client.get("/metrics", base_url=BASE).get_data(as_text=True)
    assert 'voice_webhook_requests_total{flow="ivr_main",status="200"} 1.0' in text
    assert 'voice_webhook_request_seconds_count{flow="ivr_main"} 1.0' in text
    assert 'voice_flow_outcomes_total{flow="ivr_main",outcome="prompted"} 1.0' in text


class BrokenStore(SqliteStore):
    """Every operation fails once the store is open, as when the disk goes away."""

    broken = False  # opens normally; breaks once open

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.broken = True

    def _connect(self) -> sqlite3.Connection:
        if self.broken:
            raise sqlite3.OperationalError("disk on fire")
        return super()._connect()


class ReadOnlyStore(SqliteStore):
    """Reads work, writes fail: a full disk, or a Redis replica answering READONLY."""

    def put_session(self, call_sid: str, session: IvrSession, ttl_seconds: int) -> None:
        raise StoreError("READONLY You can't write against a read only replica.")


def _broken_store_app(
    tmp_path: Path, metrics: Metrics, stream: io.StringIO, kind: type[SqliteStore] = BrokenStore
) -> Twilio:
    app = create_app(
        make_settings(caller_id="+14155550199"),
        kind(str(tmp_path / "s.sqlite3")),
        metrics=metrics,
        logger=configure_logging("INFO", stream),
    )
    return Twilio(Client(app))


def test_store_outage_is_503_where_state_is_needed(
    tmp_path: Path, call_params: dict[str, str]
) -> None:
    twilio = _broken_store_app(tmp_path, Metrics(), io.StringIO())
    status = {**call_params, "CallStatus": "completed", "Timestamp": "Tue, 24 Nov 2026 10:00 +0000"}
    assert twilio.post("/voice/status", status).status_code == 503  # dedupe needs the store
    assert twilio.client.get("/healthz", base_url=BASE).status_code == 503


def test_store_outage_does_not_touch_the_ivr(tmp_path: Path, call_params: dict[str, str]) -> None:
    metrics, stream = Metrics(), io.StringIO()
    twilio = _broken_store_app(tmp_path, metrics, stream)
    assert twilio.post("/voice/inbound", call_params).status_code == 200
    chosen = twilio.post("/voice/menu", {**call_params, "Digits": "1"})
    assert chosen.status_code == 200
    assert b"<Dial" in chosen.data  # a valid choice is routed
    # The retry count travels in the URL: a wrong key is reprompted and counted as usual.
    wrong = twilio.post("/voice/menu", {**call_params, "Digits": "7"})
    assert b'action="/voice/menu?retries=1"' in wrong.data
    last = twilio.post("/voice/menu?retries=2", {**call_params, "Digits": "7"})
    assert b"<Number>+14155550100</Number>" in last.data  # the default operator
    assert "store_unavailable" not in metrics.render().decode()
    assert '"WARNING"' not in stream.getvalue()


def test_logs_are_json_with_call_sid_and_masked_numbers(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    stream = io.StringIO()
    twilio = make_twilio(logger=configure_logging("INFO", stream))
    twilio.post("/voice/inbound", call_params)
    twilio.post("/voice/inbound", call_params, signature="bad")
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in logged if line["msg"] == "webhook"]
    assert lines[0]["call_sid"] == call_params["CallSid"]
    assert lines[0]["from"] == "+1212****199"
    assert lines[0]["to"] == "+1415****100"
    assert [line["status"] for line in lines] == [200, 403]
    [refused] = [line for line in logged if line["level"] == "WARNING"]
    assert refused["urls_checked"] == [BASE + "/voice/inbound"]
    text = stream.getvalue()
    assert "5550199" not in text
    assert TOKEN not in text
    assert twilio.sign(BASE + "/voice/inbound", call_params) not in text


def test_wsgi_compliance(store: SqliteStore, call_params: dict[str, str]) -> None:
    app = wsgiref.validate.validator(create_app(make_settings(), store, metrics=Metrics()))
    twilio = Twilio(Client(app))
    assert twilio.post("/voice/inbound", call_params).status_code == 200
    assert (
        twilio.post("/voice/status", {**call_params, "CallStatus": "completed"}).status_code == 204
    )
    assert twilio.client.get("/healthz", base_url=BASE, buffered=True).status_code == 200
    assert twilio.client.get("/voice/inbound", base_url=BASE, buffered=True).status_code == 405


def test_get_app_reads_the_environment(tmp_path: Path, call_params: dict[str, str]) -> None:
    flows = main_flow_with(menu={"prompt": "Hello there."})
    artifact_file = tmp_path / "flows.json"
    artifact_file.write_text(
        artifact.render(CallFlows.model_validate(flows), None, stack="test"), encoding="utf-8"
    )
    env = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": BASE,
        "VOICE_STORE_URL": f"sqlite:///{tmp_path}/state.sqlite3",
        "VOICE_SETTINGS_FILE": str(artifact_file),
        "VOICE_DEDUPE_TTL_SECONDS": "600",
        "LOG_LEVEL": "warning",
    }
    try:
        twilio = Twilio(Client(get_app(env)))
        response = twilio.post("/voice/inbound", call_params)
    finally:
        gc.unfreeze()  # get_app freezes the heap of the (test) process it runs in
    assert b"Hello there." in response.data
    assert load_settings(env).dedupe_ttl_seconds == 600


def test_settings_errors_say_what_and_how(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN is not set"):
        load_settings({})
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        load_settings({"TWILIO_AUTH_TOKEN": "t", "PUBLIC_BASE_URL": "voice.example.com"})
    with pytest.raises(SettingsError, match="VOICE_DEDUPE_TTL_SECONDS"):
        load_settings({"TWILIO_AUTH_TOKEN": "t", "VOICE_DEDUPE_TTL_SECONDS": "5"})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(
            {"TWILIO_AUTH_TOKEN": "t", "VOICE_SETTINGS_FILE": str(tmp_path / "none.json")}
        )


def test_a_store_that_reads_but_cannot_write_never_loops_the_caller(
    tmp_path: Path, call_params: dict[str, str]
) -> None:
    twilio = _broken_store_app(tmp_path, Metrics(), io.StringIO(), ReadOnlyStore)
    # The IVR writes nothing: a miss is reprompted with its count in the Gather action URL.
    wrong = twilio.post("/voice/menu", {**call_params, "Digits": "7"})
    assert wrong.status_code == 200
    assert b'action="/voice/menu?retries=1"' in wrong.data
    again = twilio.post("/voice/menu?retries=2", {**call_params, "Digits": "7"})
    assert b"<Number>+14155550100</Number>" in again.data  # retries used up: the operator
    chosen = twilio.post("/voice/menu", {**call_params, "Digits": "1"})
    assert b"<Number>+14155550101</Number>" in chosen.data  # a choice is still routed


def test_a_missing_caller_id_is_warned_about_at_start(tmp_path: Path) -> None:
    stream = io.StringIO()
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    create_app(make_settings(), store, metrics=Metrics(), logger=configure_logging("INFO", stream))
    [line] = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["level"] == "WARNING"
    assert "TWILIO_CALLER_ID" in line["msg"]
    stream.truncate(0)
    settings = make_settings(caller_id="+14155550199")
    create_app(settings, store, metrics=Metrics(), logger=configure_logging("INFO", stream))
    assert stream.getvalue() == ""
    store.close()


def test_behind_a_proxy_the_forwarded_port_and_prefix_are_part_of_the_signed_url(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    # Twilio signs the URL it was given, port and path prefix included.
    twilio = make_twilio(
        make_settings(trusted_proxy_hops=1, public_base_url="https://voice.example.com")
    )
    external = "https://voice.example.com:8443/app"
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "voice.example.com",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-Prefix": "/app",
    }
    signature = twilio.sign(external + "/voice/inbound", call_params)
    internal = "http://10.0.0.5:8080"
    ok = twilio.post(
        "/voice/inbound", call_params, signature=signature, headers=forwarded, base=internal
    )
    assert ok.status_code == 200
    without_prefix = {k: v for k, v in forwarded.items() if k != "X-Forwarded-Prefix"}
    refused = twilio.post(
        "/voice/inbound", call_params, signature=signature, headers=without_prefix, base=internal
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "TWILIO_AUTH_TOKEN"),
        (
            {"TWILIO_AUTH_TOKEN": "secret-token", "VOICE_STORE_URL": "sqlite:////no/such/dir/s.db"},
            "check that the directory exists",
        ),
        ({"TWILIO_AUTH_TOKEN": "secret-token", "VOICE_STORE_URL": "memcached://x"}, "redis://"),
    ],
)
def test_python_m_webhook_app_exits_with_one_line_on_bad_settings(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], message: str
) -> None:
    import webhook_app.__main__ as entry

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(entry, "run_simple", lambda *a, **k: pytest.fail("must not serve"))
    with pytest.raises(SystemExit) as info:
        entry.main()
    text = str(info.value.code)
    assert text.startswith("webhook_app: ")
    assert message in text
    assert "secret-token" not in text


def test_a_body_the_server_cannot_read_is_400(
    store: SqliteStore, call_params: dict[str, str]
) -> None:
    # gunicorn raises its parser's errors (InvalidHeaderName on a bad trailer…) from
    # wsgi.input.read(); werkzeug turns only OSError and ValueError into a 400 itself.
    class ParseError(Exception):
        pass

    class BrokenInput(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise ParseError("Invalid header name: 'Trailer:'")

    app = create_app(make_settings(), store, metrics=Metrics())
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/voice/inbound",
        "SERVER_NAME": "voice.example.test",
        "SERVER_PORT": "443",
        "HTTP_HOST": "voice.example.test",
        "wsgi.url_scheme": "https",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_X_TWILIO_SIGNATURE": "anything",
        "wsgi.input": io.BufferedReader(BrokenInput()),
        "wsgi.input_terminated": True,
        "wsgi.errors": io.StringIO(),
    }
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses[0].startswith("400"), (statuses, body)


def test_doubled_slashes_are_no_route(twilio: Twilio, call_params: dict[str, str]) -> None:
    # Not a redirect whose Location is built from the client's Host header.
    response = twilio.post("/voice//inbound", call_params)
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_configuring_logging_leaves_process_wide_settings_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gunicorn's own error-log format prints %(process)d: it must keep working.
    import logging

    for name in ("logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, True)
    configure_logging("INFO", io.StringIO())
    assert (logging.logThreads, logging.logProcesses, logging.logMultiprocessing) == (
        True,
        True,
        True,
    )
    assert logging.getLogger("gunicorn.error").makeRecord("g", 20, "f", 1, "m", (), None).process


def test_metrics_add_up_across_worker_processes(tmp_path: Path) -> None:
    # A scrape reaches one worker; with PROMETHEUS_MULTIPROC_DIR it reports every worker's.
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "import sys\n"
        "from webhook_app.metrics import Metrics\n"
        "Metrics().requests.labels('ivr_main', 200).inc(int(sys.argv[1]))\n"
    )
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", worker, count], env=env, check=True, timeout=60)
    scrape = (
        "import sys\n"
        "from webhook_app.metrics import Metrics\n"
        "sys.stdout.write(Metrics().render().decode())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", scrape],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert 'voice_webhook_requests_total{flow="ivr_main",status="200"} 7.0' in result.stdout


def test_a_multiprocess_folder_named_after_start_up_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prometheus_client chose in-memory values at import; the scrape must keep reading them.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics = Metrics()
    metrics.requests.labels("ivr_main", 200).inc()
    assert b'voice_webhook_requests_total{flow="ivr_main",status="200"} 1.0' in metrics.render()
