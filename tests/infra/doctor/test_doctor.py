"""`twilio-voice doctor`: each check's pass and fail, against a local HTTPS server with a
throwaway CA (valid, expired, wrong host, untrusted, TLS 1.1 only), webhook apps that misbehave
in each way Twilio reports, and the emulator (credentials, numbers, drift, injected Monitor
alerts, dialing permissions); the command's exit codes and formats."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doctor_support import (
    BUILT_IN_HASH,
    OPENSSL,
    Certs,
    https_server,
    make_certs,
    server_context,
    webhook_app,
    write_stack,
)

from devtools.emulator_testing import RunningEmulator, running_emulator
from infra.client import Credentials
from infra.commands.doctor import doctor
from infra.doctor.checks import (
    check_call_flows,
    check_edge_region,
    check_webhooks,
    https_post,
    webhook_targets,
)
from infra.doctor.tls import _legacy_version, check_tls
from infra.plan import plan
from infra.resources import PROVIDERS
from infra.resources.call_flows import stack_hash
from infra.spec import Environment, load_environment, load_stack_file

pytestmark = [
    pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI makes the test certificates"),
    pytest.mark.xdist_group("doctor"),
]

TOKEN = "doctor-test-auth-token"
NUMBER = "+14155550120"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def app_server(certs: Certs) -> Iterator[Any]:
    """Start a webhook app (given behaviour) over HTTPS with the valid certificate."""
    servers: list[Any] = []

    def start(
        behaviour: str = "good",
        delay: float = 0.0,
        token: str = TOKEN,
        call_flows: str | None = BUILT_IN_HASH,
    ) -> str:
        holder: dict[str, str] = {}
        app = webhook_app(token, lambda: holder["base"], behaviour, delay, call_flows)
        manager = https_server(app, server_context(certs.valid))
        holder["base"] = manager.__enter__()
        servers.append(manager)
        return holder["base"]

    yield start
    for manager in servers:
        manager.__exit__(None, None, None)


def spec(base: str, account: str = "AC" + "0" * 32, **extra: Any) -> dict[str, Any]:
    return {
        "public_base_url": base,
        "credentials": {"account_sid": account},
        "numbers": [{"e164": NUMBER, "flow": "ivr_main", "fallback_flow": "voice_fallback"}],
        **extra,
    }


def environment(base: str, stack: str = "dev") -> Environment:
    return load_environment(spec(base), stack, secrets_decrypted=True)


# -- TLS -------------------------------------------------------------------------------------


def _tls(certs: Certs, cert: tuple[Path, Path], ca: Path | None, tls11: bool = False) -> Any:
    app = webhook_app(TOKEN, lambda: "")
    with https_server(app, server_context(cert, tls11)) as base:
        return check_tls(base, local=False, ca_file=ca, timeout=5), base


def test_tls_valid_certificate_passes(certs: Certs) -> None:
    check, _ = _tls(certs, certs.valid, certs.ca)
    assert check.status == "pass"
    assert check.prevents == ("11200", "11220", "11235", "11236", "11237")
    assert check.details[0] in ("localhost: TLSv1.3", "localhost: TLSv1.2")
    assert "certificate valid for" in check.details[1]


def test_tls_expired_certificate_fails(certs: Certs) -> None:
    check, _ = _tls(certs, certs.expired, certs.ca)
    assert check.status == "fail"
    assert "certificate expired" in check.details[0]
    assert check.fix.startswith("renew the certificate")


def test_tls_certificate_for_another_host_fails(certs: Certs) -> None:
    check, _ = _tls(certs, certs.wrong_host, certs.ca)
    assert check.status == "fail"
    assert "certificate not valid for localhost" in check.details[0]
    assert "subject alternative names" in check.fix


def test_tls_untrusted_ca_fails(certs: Certs) -> None:
    check, _ = _tls(certs, certs.valid, None)  # the system CAs do not know the test CA
    assert check.status == "fail"
    assert "certificate not trusted" in check.details[0]
    assert "publicly trusted CA" in check.fix


def test_tls_11_only_server_fails(certs: Certs) -> None:
    try:
        context = server_context(certs.valid, tls11_only=True)
    except (ValueError, OSError) as err:
        pytest.skip(f"the local OpenSSL cannot serve TLS 1.1 at all: {err}")
    app = webhook_app(TOKEN, lambda: "")
    with https_server(app, context) as base:
        port = int(base.rsplit(":", 1)[1])
        if _legacy_version("localhost", port, 5) != "TLSv1.1":
            pytest.skip(
                "the local OpenSSL refuses TLS 1.1 handshakes even at security level 0 "
                "(its build disables the protocol), so a TLS 1.1-only server cannot be shown"
            )
        check = check_tls(base, local=False, ca_file=certs.ca)
    assert check.status == "fail"
    assert "the server only speaks TLSv1.1; Twilio needs TLS 1.2 or newer" in check.details[0]
    assert "TLS 1.2 and 1.3" in check.fix


def test_plain_http_fails_outside_local_and_is_skipped_on_local() -> None:
    check = check_tls("http://voice.example.com", local=False)
    assert check.status == "fail"
    assert check.details == ("http://voice.example.com is not https://",)
    assert check_tls("http://127.0.0.1:8080", local=True).status == "skip"


# -- webhooks --------------------------------------------------------------------------------


def test_webhooks_that_answer_signed_twiml_and_refuse_forgeries_pass(
    app_server: Any, certs: Certs
) -> None:
    base = app_server("good")
    check = check_webhooks(environment(base), "AC" + "0" * 32, TOKEN, https_post(certs.ca))
    assert check.status == "pass", check.details
    assert check.prevents == ("11200", "12100", "12300")
    assert len(check.details) == 2  # the voice URL and the fallback URL
    assert all(d.startswith("ok   https://localhost:") for d in check.details)


@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [
        ("500", "HTTP 500 to a correctly signed call: Twilio error 11200"),
        ("json", "Content-Type 'application/json', not text/xml: Twilio error 12300"),
        ("badxml", "the answer is not well-formed XML"),
        ("forged", "a wrongly signed call got HTTP 200, not 403"),
    ],
)
def test_each_webhook_failure_is_named(
    app_server: Any, certs: Certs, behaviour: str, problem: str
) -> None:
    base = app_server(behaviour)
    check = check_webhooks(environment(base), "AC" + "0" * 32, TOKEN, https_post(certs.ca))
    assert check.status == "fail"
    assert all(d.startswith("FAIL") for d in check.details)
    assert problem in check.details[0]
    if behaviour == "badxml":
        assert "12100" in check.details[0]
    assert "X-Twilio-Signature" in check.fix


def test_status_callbacks_need_a_2xx_and_refuse_forgeries(app_server: Any, certs: Certs) -> None:
    def env_for(base: str) -> Environment:
        raw = spec(base)
        raw["numbers"][0]["status_callback_flow"] = "call_status"
        return load_environment(raw, "dev", secrets_decrypted=True)

    good = check_webhooks(env_for(app_server("good")), "AC" + "0" * 32, TOKEN, https_post(certs.ca))
    assert good.status == "pass", good.details
    [callback] = [d for d in good.details if "(status callback)" in d]
    assert callback.startswith("ok   https://localhost:")
    assert "/voice/status" in callback
    forged = check_webhooks(
        env_for(app_server("forged")), "AC" + "0" * 32, TOKEN, https_post(certs.ca)
    )
    [callback] = [d for d in forged.details if "(status callback)" in d]
    assert "a wrongly signed status callback got HTTP 200, not 403" in callback
    broken = check_webhooks(
        env_for(app_server("500")), "AC" + "0" * 32, TOKEN, https_post(certs.ca)
    )
    [callback] = [d for d in broken.details if "(status callback)" in d]
    assert "HTTP 500 to a correctly signed status callback: Twilio error 11200" in callback


def test_a_webhook_slower_than_two_seconds_fails(app_server: Any, certs: Certs) -> None:
    base = app_server("good", delay=2.3)
    env = load_environment(
        {**spec(base), "numbers": [{"e164": NUMBER, "flow": "ivr_main"}]},
        "dev",
        secrets_decrypted=True,
    )
    started = time.monotonic()
    check = check_webhooks(env, "AC" + "0" * 32, TOKEN, https_post(certs.ca))
    assert check.status == "fail"
    assert "no answer" in check.details[0]
    assert "11200" in check.details[0]
    assert time.monotonic() - started < 10


def test_webhooks_skip_without_an_auth_token(app_server: Any, certs: Certs) -> None:
    check = check_webhooks(
        environment("https://localhost:1"), "AC" + "0" * 32, None, https_post(None)
    )
    assert check.status == "skip"
    assert "TWILIO_AUTH_TOKEN" in check.fix


# -- edge and region -------------------------------------------------------------------------


def creds(edge: str | None = None, region: str | None = None) -> Credentials:
    return Credentials("AC" + "0" * 32, "AC" + "0" * 32, "x", edge, region)


def test_edge_and_region() -> None:
    env = load_environment(
        spec("https://voice.example.com", edge="ashburn", region="us1"),
        "dev",
        secrets_decrypted=True,
    )
    assert check_edge_region(env, creds("ashburn")).status == "pass"
    assert check_edge_region(env, None).status == "pass"
    mismatch = check_edge_region(env, creds("dublin", "ie1"))
    assert mismatch.status == "fail"
    assert "the providers connect through dublin, the spec declares ashburn" in mismatch.details
    ie1 = load_environment(
        spec("https://voice.example.com", edge="ashburn", region="ie1"),
        "dev",
        secrets_decrypted=True,
    )
    warned = check_edge_region(ie1, None)
    assert warned.status == "warn"
    assert "region ie1 is served through dublin" in warned.details[-1]


# -- the whole command against the emulator ----------------------------------------------------


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    with running_emulator(numbers=[NUMBER]) as running:
        for key, value in running.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("TWILIO_EDGE", raising=False)
        monkeypatch.delenv("TWILIO_REGION", raising=False)
        yield running


def apply(project: Path, stack: str) -> None:
    """What `pulumi up` does for a stack of reference-free nodes (numbers, countries)."""
    env = load_stack_file(project, stack)
    for node in plan(env).order:
        provider = PROVIDERS[node.kind]()
        checked = provider.check({}, {k: v for k, v in node.props.items() if v is not None})
        assert checked.failures == []
        provider.create(checked.inputs)


def run_doctor(project: Path, stack: str, certs: Certs, fmt: str = "json") -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = doctor(project, stack, fmt=fmt, ca_file=certs.ca, out=out, err=err)
    text = out.getvalue()
    return code, json.loads(text) if fmt == "json" and text else text, err.getvalue()


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


@pytest.fixture
def healthy(
    emu: RunningEmulator, app_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    base = app_server("good", token=emu.auth_token)
    write_stack(tmp_path, "prod", spec(base, emu.account_sid))
    apply(tmp_path, "prod")
    return tmp_path


def test_healthy_stack_exits_0(healthy: Path, certs: Certs, emu: RunningEmulator) -> None:
    code, report, err = run_doctor(healthy, "prod", certs)
    assert err == ""
    assert code == 0
    checks = by_name(report)
    assert [c["status"] for c in report["checks"]] == ["pass"] * 9, report
    assert list(checks) == [
        "tls",
        "webhooks",
        "call_flows",
        "credentials",
        "edge_region",
        "numbers",
        "drift",
        "alerts",
        "dialing",
    ]
    assert checks["alerts"]["details"] == ["no alerts"]
    assert checks["dialing"]["details"][0] == "2 countries may be called: CA, US"
    assert report["status"] == "healthy"
    assert emu.account_sid not in json.dumps(report)  # masked


def test_injected_alerts_are_grouped_with_cause_and_fix(
    healthy: Path, certs: Certs, emu: RunningEmulator
) -> None:
    url = "https://voice.example.com/voice/inbound"
    emu.admin.add_alerts(
        {"error_code": "11200", "request_url": url},
        {"error_code": "11200", "request_url": url},
        {"error_code": "12300", "log_level": "warning"},
        {"error_code": "11200", "date_generated": time.time() - 3 * 86400},  # too old
    )
    code, report, _ = run_doctor(healthy, "prod", certs)
    assert code == 1
    alerts = by_name(report)["alerts"]
    assert alerts["status"] == "fail"
    assert alerts["prevents"] == ["11200", "12300"]
    first, second = alerts["details"]
    assert first.startswith("11200 x2 HTTP retrieval failure (error); at " + url)
    assert "Cause: the webhook timed out" in first
    assert "Fix: answer within ~2 s" in first
    assert second.startswith("12300 x1 Invalid Content-Type (warning)")


def test_only_warnings_warn(healthy: Path, certs: Certs, emu: RunningEmulator) -> None:
    emu.admin.add_alerts({"error_code": "12200", "log_level": "warning"})
    code, report, _ = run_doctor(healthy, "prod", certs)
    assert code == 0
    assert by_name(report)["alerts"]["status"] == "warn"


def test_tollfraud_in_prod_and_console_drift_fail(
    healthy: Path, certs: Certs, emu: RunningEmulator
) -> None:
    emu.admin.edit("dialing_permissions_country", "CU", high_risk_tollfraud_numbers_enabled=True)
    [number] = [
        r for r in emu.admin.resources("incoming_phone_number") if r["phone_number"] == NUMBER
    ]
    emu.admin.edit("incoming_phone_number", number["sid"], voice_url="https://evil.example.com/x")
    code, report, _ = run_doctor(healthy, "prod", certs)
    assert code == 1
    checks = by_name(report)
    assert checks["dialing"]["status"] == "fail"
    assert "high-risk toll fraud: CU" in checks["dialing"]["details"]
    assert checks["drift"]["status"] == "fail"
    assert "changed: phone number +14155550120" in checks["drift"]["details"]


def test_wrong_credentials_fail_and_skip_the_account_checks(
    healthy: Path, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    code, report, _ = run_doctor(healthy, "prod", certs)
    assert code == 1
    checks = by_name(report)
    assert checks["credentials"]["status"] == "fail"
    assert checks["credentials"]["prevents"] == ["20003"]
    assert "Twilio refused them" in checks["credentials"]["details"][0]
    assert {checks[n]["status"] for n in ("numbers", "drift", "alerts", "dialing")} == {"skip"}
    # the app refuses calls signed with the wrong token: the webhook check says so too
    assert checks["webhooks"]["status"] == "fail"


def test_another_accounts_credentials_fail(
    emu: RunningEmulator, certs: Certs, tmp_path: Path
) -> None:
    write_stack(tmp_path, "prod", spec("https://localhost:1", "AC" + "1" * 32))
    code, report, _ = run_doctor(tmp_path, "prod", certs)
    assert code == 1
    creds_check = by_name(report)["credentials"]
    assert creds_check["status"] == "fail"
    assert "the stack belongs to AC11…1111" in creds_check["details"][0]


def test_a_number_the_account_does_not_own_fails(
    emu: RunningEmulator, app_server: Any, certs: Certs, tmp_path: Path
) -> None:
    env = spec(app_server("good", token=emu.auth_token), emu.account_sid)
    env["numbers"].append({"e164": "+14155550199", "flow": "ivr_main"})
    write_stack(tmp_path, "prod", env)
    code, report, _ = run_doctor(tmp_path, "prod", certs)
    assert code == 1
    numbers = by_name(report)["numbers"]
    assert numbers["status"] == "fail"
    assert numbers["details"][-1] == "not in the account: +14155550199"


def test_text_and_markdown(healthy: Path, certs: Certs, emu: RunningEmulator) -> None:
    emu.admin.add_alerts({"error_code": "11200"})
    code, text, _ = run_doctor(healthy, "prod", certs, "text")
    assert code == 1
    assert text.startswith("Doctor report for stack 'prod' (account AC")
    assert ": PROBLEMS\n" in text
    assert "FAIL  Monitor alerts of the last 24 hours  [prevents 11200]" in text
    assert "PASS  public base URL serves HTTPS" in text
    code, markdown, _ = run_doctor(healthy, "prod", certs, "markdown")
    assert markdown.startswith("## 🔴 Doctor: stack `prod` has problems\n")
    assert "| Check | Status | Prevents | Details | Fix |" in markdown
    assert "❌ fail" in markdown


def test_unreadable_or_invalid_stack_exits_2(tmp_path: Path, certs: Certs) -> None:
    code, _, err = run_doctor(tmp_path, "prod", certs)
    assert code == 2
    assert "cannot read the stack" in err
    write_stack(tmp_path, "prod", {"public_base_url": "http://voice.example.com"})
    code, _, err = run_doctor(tmp_path, "prod", certs)
    assert code == 2
    assert "fix the spec first" in err


def test_registered_in_the_cli() -> None:
    from infra.cli import COMMANDS

    assert "doctor" in {c.name for c in COMMANDS}


# -- the call flows the app serves -------------------------------------------------------------

FLOWS = {
    "voicemail_boxes": {"general": {}},
    "flows": {"main": {"start": {"voicemail": "general"}}},
}


def flows_spec(base: str, account: str = "AC" + "0" * 32) -> dict[str, Any]:
    env = spec(base, account, call_flows=FLOWS)
    env["numbers"][0] = {"e164": NUMBER, "call_flow": "main", "fallback_flow": "voice_fallback"}
    return env


def answering(status: int, body: str) -> Any:
    asked: list[str] = []

    def get(url: str, timeout: float) -> tuple[int, str, str]:
        asked.append(url)
        return status, "application/json", body

    get.asked = asked  # type: ignore[attr-defined]
    return get


def test_the_app_serving_the_stack_flows_passes() -> None:
    env = load_environment(flows_spec("https://voice.example.com"), "prod", secrets_decrypted=True)
    expected = stack_hash(env)
    get = answering(200, json.dumps({"status": "ok", "call_flows": expected}))
    check = check_call_flows(env, "prod", get)
    assert get.asked == ["https://voice.example.com/healthz"]
    assert check.status == "pass"
    assert check.details == (f"stack: {expected}", f"app:   {expected}")


def test_other_flows_fail_naming_both_hashes_and_the_fix() -> None:
    env = load_environment(flows_spec("https://voice.example.com"), "prod", secrets_decrypted=True)
    body = {"status": "ok", "call_flows": BUILT_IN_HASH, "call_flows_source": "built-in"}
    check = check_call_flows(env, "prod", answering(200, json.dumps(body)))
    assert check.status == "fail"
    assert check.details[:2] == (
        f"stack: {stack_hash(env)}",
        f"app:   {BUILT_IN_HASH} (from built-in)",
    )
    assert check.fix == (
        "`twilio-voice app-config --stack prod > flows.json`, then redeploy the app with it "
        "(VOICE_SETTINGS_FILE=flows.json)"
    )
    # a store outage answers 503 but still says which flows it serves: still compared
    check = check_call_flows(env, "prod", answering(503, json.dumps(body)))
    assert check.status == "fail"


def test_an_app_reporting_no_hash_warns() -> None:
    env = load_environment(flows_spec("https://voice.example.com"), "prod", secrets_decrypted=True)
    old = check_call_flows(env, "prod", answering(200, '{"status": "ok", "store": "sqlite"}'))
    assert old.status == "warn"
    assert old.details[0] == (
        "GET https://voice.example.com/healthz: HTTP 200, reports no call_flows hash: an app "
        "older than call flows in the stack serves its own settings, not necessarily the stack's"
    )
    assert "twilio-voice app-config --stack prod > flows.json" in old.fix
    html = check_call_flows(env, "prod", answering(404, "<html>not found</html>"))
    assert html.status == "warn"
    assert "HTTP 404, not a JSON object: the app did not answer" in html.details[0]
    assert "route public_base_url/healthz to the webhook app" in html.fix
    listed = check_call_flows(env, "prod", answering(200, "[1]"))
    assert "not a JSON object" in listed.details[0]

    def down(url: str, timeout: float) -> tuple[int, str, str]:
        raise OSError("connection refused")

    unreachable = check_call_flows(env, "prod", down)
    assert unreachable.status == "warn"
    assert unreachable.details == (
        "GET https://voice.example.com/healthz: no answer (connection refused)",
    )


def test_a_stack_without_call_flows_expects_the_built_in_flow_with_its_countries() -> None:
    env = environment("https://voice.example.com")
    assert (
        check_call_flows(
            env, "dev", answering(200, json.dumps({"call_flows": BUILT_IN_HASH}))
        ).status
        == "pass"
    )
    dialing = load_environment(
        spec("https://voice.example.com", dialing_permissions={"countries": [{"iso_code": "US"}]}),
        "dev",
        secrets_decrypted=True,
    )
    check = check_call_flows(
        dialing, "dev", answering(200, json.dumps({"call_flows": BUILT_IN_HASH}))
    )
    assert check.status == "fail"  # the app does not know the stack's countries: app-config


def test_doctor_fails_when_the_app_serves_other_flows(
    emu: RunningEmulator, app_server: Any, certs: Certs, tmp_path: Path
) -> None:
    base = app_server("good", token=emu.auth_token)  # reports the built-in flow
    write_stack(tmp_path, "prod", flows_spec(base, emu.account_sid))
    apply(tmp_path, "prod")
    code, report, _ = run_doctor(tmp_path, "prod", certs)
    assert code == 1
    served = by_name(report)["call_flows"]
    assert served["status"] == "fail"
    assert served["details"][1] == f"app:   {BUILT_IN_HASH} (from flows.json)"
    env = load_stack_file(tmp_path, "prod")
    good = app_server("good", token=emu.auth_token, call_flows=stack_hash(env))
    write_stack(tmp_path, "prod", flows_spec(good, emu.account_sid))
    code, report, _ = run_doctor(tmp_path, "prod", certs)
    assert by_name(report)["call_flows"]["status"] == "pass", report


def test_a_call_flow_entry_is_called_at_its_own_voice_and_fallback_urls() -> None:
    env = load_environment(flows_spec("https://voice.example.com"), "prod", secrets_decrypted=True)
    urls = {t.url: t.entries for t in webhook_targets(env)}
    assert urls["https://voice.example.com/voice/inbound?flow=main"] == (f"number {NUMBER}",)
    assert urls["https://voice.example.com/voice/fallback?flow=main"] == (
        f"number {NUMBER} (fallback)",
    )
