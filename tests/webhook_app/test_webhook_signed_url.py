"""Which URL and which token a signature is checked against (issue 12).

Twilio signs the URL the stack configured: ``PUBLIC_BASE_URL`` + route path + query, joined as
``infra.urls`` joins it. Signatures made by Twilio's official SDKs (Python and Node) for that
URL must be accepted whatever Host and port the request arrives on, with the default
``TRUSTED_PROXY_HOPS=0``; during a token rotation either token must do.
"""

from __future__ import annotations

import fcntl
import gc
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from webhook_support import BASE, TOKEN, AppFactory, make_settings
from werkzeug.test import Client, TestResponse

from infra.urls import join_url as infra_join_url
from infra.urls import webhook_url
from webhook_app.app import create_app, get_app
from webhook_app.logs import configure_logging
from webhook_app.metrics import Metrics
from webhook_app.public_base import startup_warnings
from webhook_app.routes import join_url
from webhook_app.settings import SettingsError, load_settings
from webhook_app.store_sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
NODE_TWILIO = ROOT / ".cache" / "node-twilio"
NODE_TWILIO_VERSION = "6.3.1"
SECONDARY = "secondary-auth-token-fedcba9876543210"

# Where a request may arrive: a TLS proxy's internal hop, another port, the public host itself.
ARRIVALS = [
    "http://10.0.0.5:8080",
    "http://127.0.0.1:8102",
    "https://internal.example:8443",
    BASE,
]
# (base the stack configured, path the app sees, query): the query is the app's own.
SIGNED = [
    (BASE, "/voice/inbound", ""),
    (BASE, "/voice/dial/status", "then=pstn&user=alice"),
    (BASE + "/app", "/voice/inbound", ""),  # a proxy that strips the path prefix
    ("https://voice.example.test:8443", "/voice/menu", ""),
]


def _configured_url(base: str, path: str, query: str) -> str:
    return join_url(base, path) + (f"?{query}" if query else "")


def _post(
    client: Client, arrival: str, path: str, query: str, params: dict[str, str], sig: str
) -> TestResponse:
    return client.post(
        path + (f"?{query}" if query else ""),
        base_url=arrival,
        data=params,
        headers={"X-Twilio-Signature": sig},
        buffered=True,
    )


def _app(store: SqliteStore, base: str, stream: io.StringIO | None = None, **kw: Any) -> Client:
    logger = configure_logging("INFO", stream or io.StringIO())
    settings = make_settings(caller_id="+14155550199", public_base_url=base, **kw)
    return Client(create_app(settings, store, metrics=Metrics(), logger=logger))


def test_the_app_and_infra_share_one_join() -> None:
    assert infra_join_url is join_url
    assert webhook_url(BASE + "/app/", "ivr_main") == join_url(BASE + "/app", "/voice/inbound")


@pytest.mark.parametrize("arrival", ARRIVALS)
@pytest.mark.parametrize(("base", "path", "query"), SIGNED)
def test_python_sdk_signature_for_the_public_url_is_accepted_on_any_host(
    store: SqliteStore,
    call_params: dict[str, str],
    arrival: str,
    base: str,
    path: str,
    query: str,
) -> None:
    client = _app(store, base)
    url = _configured_url(base, path, query)
    signature = RequestValidator(TOKEN).compute_signature(url, call_params)
    response = _post(client, arrival, path, query, call_params, signature)
    assert response.status_code == 200, (url, arrival)


# --- the official Node SDK (the `twilio` npm package) ------------------------------------------

NODE_SIGN = """
const twilio = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = cases.map(([token, url, params]) => [
  twilio.getExpectedTwilioSignature(token, url, params),
  twilio.validateRequest(token, twilio.getExpectedTwilioSignature(token, url, params), url, params),
]);
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="session")
def node_twilio() -> Path:
    """The `twilio` npm package under .cache/node-twilio (installed here on first use).

    Without node this skips, saying so; under CI=true it fails instead.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = (
            "node and npm are needed to sign with Twilio's Node SDK (apt-get install nodejs npm)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    package = NODE_TWILIO / "node_modules" / "twilio"
    NODE_TWILIO.mkdir(parents=True, exist_ok=True)
    with (NODE_TWILIO / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test workers share the folder: one installs
        if not (package / "package.json").exists():
            install = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix"]
            result = subprocess.run(
                [*install, str(NODE_TWILIO), f"twilio@{NODE_TWILIO_VERSION}"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"npm install twilio@{NODE_TWILIO_VERSION} failed:\n{result.stderr}")
    return package


def _node_signatures(package: Path, cases: list[tuple[str, str, dict[str, str]]]) -> list[str]:
    result = subprocess.run(
        ["node", "-e", NODE_SIGN, str(package)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = json.loads(result.stdout)
    assert all(valid for _, valid in answers)  # the SDK accepts its own signatures
    return [signature for signature, _ in answers]


def test_node_sdk_signature_for_the_public_url_is_accepted_on_any_host(
    node_twilio: Path, store: SqliteStore, call_params: dict[str, str]
) -> None:
    cases = [
        (token, _configured_url(base, path, query), call_params)
        for base, path, query in SIGNED
        for token in (TOKEN, SECONDARY)
    ]
    signatures = iter(_node_signatures(node_twilio, cases))
    for base, path, query in SIGNED:
        client = _app(store, base, auth_token_secondary=SECONDARY)
        for _token in (TOKEN, SECONDARY):
            signature = next(signatures)
            python = RequestValidator(_token).compute_signature(
                _configured_url(base, path, query), call_params
            )
            assert signature == python  # both SDKs sign the same string
            for arrival in ARRIVALS:
                response = _post(client, arrival, path, query, call_params, signature)
                assert response.status_code == 200, (base, path, arrival)


# --- the request's own URL is a second candidate only -------------------------------------------


def test_the_request_url_is_a_second_candidate_and_warned_about_once(
    store: SqliteStore, call_params: dict[str, str]
) -> None:
    stream = io.StringIO()
    client = _app(store, "https://voice.example.test", stream)
    # Same host, another scheme and port: what a misconfigured TLS proxy produces.
    arrival = "http://voice.example.test:8080"
    signature = RequestValidator(TOKEN).compute_signature(arrival + "/voice/inbound", call_params)
    for _ in range(3):
        response = _post(client, arrival, "/voice/inbound", "", call_params, signature)
        assert response.status_code == 200
    warnings = [json.loads(x) for x in stream.getvalue().splitlines() if '"WARNING"' in x]
    [warning] = [w for w in warnings if "arrived on" in w["msg"]]
    assert warning["url_signed"] == arrival + "/voice/inbound"
    assert warning["public_url"] == "https://voice.example.test/voice/inbound"


@pytest.mark.parametrize(
    "other_host", ["https://staging.example.test", "http://10.0.0.5:8080", "https://VOICE.example"]
)
def test_a_signature_for_another_host_of_the_account_is_refused_whatever_the_host_header(
    store: SqliteStore, call_params: dict[str, str], other_host: str
) -> None:
    """A genuine Twilio request to staging (same account, same token), replayed here with its
    own Host header, must not pass as the second candidate (the audit's forged-Host replay)."""
    client = _app(store, "https://voice.example.test", io.StringIO())
    signature = RequestValidator(TOKEN).compute_signature(
        other_host + "/voice/status", {**call_params, "CallStatus": "completed"}
    )
    replayed = _post(
        client,
        other_host,
        "/voice/status",
        "",
        {**call_params, "CallStatus": "completed"},
        signature,
    )
    assert replayed.status_code == 403


def test_a_403_logs_the_urls_checked_never_the_token_or_signature(
    store: SqliteStore, call_params: dict[str, str]
) -> None:
    stream = io.StringIO()
    client = _app(store, BASE + "/app", stream, auth_token_secondary=SECONDARY)
    signature = RequestValidator("not-the-token").compute_signature(
        BASE + "/app/voice/dial/status?then=message", call_params
    )
    refused = _post(
        client, "http://10.0.0.5:8080", "/voice/dial/status", "then=message", call_params, signature
    )
    assert refused.status_code == 403
    missing = client.post("/voice/inbound", base_url=BASE, data=call_params, buffered=True)
    assert missing.status_code == 403
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    refusals = [line for line in lines if line["level"] == "WARNING"]
    assert [r["urls_checked"] for r in refusals] == [
        [
            BASE + "/app/voice/dial/status?then=message",
            "http://10.0.0.5:8080/voice/dial/status?then=message",
        ],
        [BASE + "/app/voice/inbound", BASE + "/voice/inbound"],
    ]
    assert "does not match" in refusals[0]["msg"]
    assert "is missing" in refusals[1]["msg"]
    everything = stream.getvalue() + refused.get_data(as_text=True) + missing.get_data(as_text=True)
    for secret in (TOKEN, SECONDARY, signature):
        assert secret not in everything


# --- token rotation -----------------------------------------------------------------------------


def test_either_token_is_accepted_during_a_rotation(
    make_twilio: AppFactory, call_params: dict[str, str]
) -> None:
    twilio = make_twilio(make_settings(auth_token_secondary=SECONDARY))
    url = BASE + "/voice/inbound"
    for token in (TOKEN, SECONDARY):
        signature = RequestValidator(token).compute_signature(url, call_params)
        assert twilio.post("/voice/inbound", call_params, signature=signature).status_code == 200
    third = RequestValidator("a-third-token").compute_signature(url, call_params)
    assert twilio.post("/voice/inbound", call_params, signature=third).status_code == 403
    # Without the secondary configured, its signatures are refused.
    only_primary = make_twilio(make_settings())
    secondary = RequestValidator(SECONDARY).compute_signature(url, call_params)
    assert only_primary.post("/voice/inbound", call_params, signature=secondary).status_code == 403


def test_the_secondary_token_comes_from_the_environment_and_is_never_echoed(
    tmp_path: Path,
) -> None:
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_AUTH_TOKEN_SECONDARY": SECONDARY}
    settings = load_settings(env)
    assert settings.signing_keys() == (TOKEN.encode(), SECONDARY.encode())
    assert SECONDARY not in repr(settings)
    assert SECONDARY not in str(settings.model_dump())
    unset = load_settings({**env, "TWILIO_AUTH_TOKEN_SECONDARY": ""})
    assert unset.auth_token_secondary is None
    assert unset.signing_keys() == (TOKEN.encode(),)
    same = load_settings({**env, "TWILIO_AUTH_TOKEN_SECONDARY": TOKEN})
    assert same.signing_keys() == (TOKEN.encode(),)  # one HMAC, not two, for the same token
    with pytest.raises(SettingsError) as info:
        load_settings({**env, "PORT": "http"})
    assert SECONDARY not in str(info.value)
    assert TOKEN not in str(info.value)


# --- start-up warnings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "bind_host", "warned"),
    [
        ("https://voice.example.com", None, None),
        ("https://voice.example.com/app", "0.0.0.0", None),
        ("https://voice.example.com:8443", "127.0.0.1", None),
        ("http://127.0.0.1:8080", None, "loopback"),  # PUBLIC_BASE_URL unset, under gunicorn
        ("http://127.0.0.1:8080", "0.0.0.0", "loopback"),
        ("http://127.0.0.1:8080", "127.0.0.1", None),  # python -m webhook_app, local only
        ("http://localhost:8080", "::1", None),
        ("http://localhost:8080", None, "loopback"),
        ("https://[::1]:8443", None, "loopback"),
        ("http://0.0.0.0:8080", None, "unspecified"),
        ("https://10.0.0.5", None, "private"),
        ("https://192.168.1.20:8443", "0.0.0.0", "private"),
        ("https://webhook:8080", None, "single-label"),
        ("http://voice.example.com", None, "http://"),
        ("http://voice.example.com", "127.0.0.1", "http://"),
        ("http://203.0.113.7:8080", None, "http://"),
    ],
)
def test_startup_warns_when_public_base_url_cannot_be_what_twilio_signs(
    base: str, bind_host: str | None, warned: str | None
) -> None:
    warnings = startup_warnings(base, bind_host)
    if warned is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert warned in warning
        assert base in warning
        assert "PUBLIC_BASE_URL" in warning


def test_get_app_logs_the_startup_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_AUTH_TOKEN_SECONDARY": SECONDARY,
        "TWILIO_CALLER_ID": "+14155550199",
        "VOICE_STORE_URL": f"sqlite:///{tmp_path}/state.sqlite3",
    }
    try:
        get_app(env)  # PUBLIC_BASE_URL unset: http://127.0.0.1:8080
    finally:
        gc.unfreeze()  # get_app freezes the heap of the (test) process it runs in
    err = capsys.readouterr().err
    [warning] = [json.loads(x) for x in err.splitlines() if '"WARNING"' in x]
    assert warning["setting"] == "PUBLIC_BASE_URL"
    assert "loopback" in warning["msg"]
    assert TOKEN not in err
    assert SECONDARY not in err
