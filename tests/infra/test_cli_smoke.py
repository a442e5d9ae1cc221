"""`twilio-voice smoke`: signed test calls to the stack's voice URLs, against the real app."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from infra import cli
from infra.commands import smoke
from infra.spec import load_stack_file
from webhook_app import get_app

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "smoke-test-auth-token-0123456789"


@contextmanager
def serving(app: object) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def local_stack(tmp_path: Path, base: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    doc = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    doc["config"]["twilio-voice:environment"]["public_base_url"] = base
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def test_smoke_passes_against_the_app_and_never_prints_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The app's public URL is where it listens: start it first, then point the stack at it.
    holder: dict[str, object] = {}

    def app(environ: dict[str, object], start_response: object) -> object:
        return holder["app"](environ, start_response)  # type: ignore[operator]

    with serving(app) as base:
        holder["app"] = get_app(
            {
                "TWILIO_AUTH_TOKEN": TOKEN,
                "PUBLIC_BASE_URL": base,
                "VOICE_STORE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
            }
        )
        project = local_stack(tmp_path, base)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
        code = cli.main(["smoke", "--stack", "local", "--project-dir", str(project)])
        out = capsys.readouterr()
    assert code == 0, out.out
    lines = [line for line in out.out.splitlines() if line.startswith("ok")]
    # One per distinct entry URL: the main number's, the support application's (flow support),
    # the SIP domain's and the BYOC trunk's.
    assert len(lines) == 4, out.out
    assert TOKEN not in out.out + out.err


def test_smoke_without_a_token_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = local_stack(tmp_path, "http://127.0.0.1:9")
    assert cli.main(["smoke", "--stack", "local", "--project-dir", str(project)]) == 2
    assert "TWILIO_AUTH_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("answer", "forged", "says"),
    [
        ((500, "text/html", "oops"), 403, "11200"),
        ((200, "text/html", "<Response/>"), 403, "12300"),
        ((200, "text/xml", "<Response><Say>hi</Response>"), 403, "12100"),
        ((200, "text/xml", "<Html/>"), 403, "not <Response>"),
        ((200, "text/xml", '<!DOCTYPE x [<!ENTITY a "b">]><Response/>'), 403, "12100"),
        ((200, "text/xml; charset=utf-8", "<Response/>"), 200, "not 403"),
    ],
)
def test_each_failure_names_what_twilio_would_say(
    tmp_path: Path, answer: tuple[int, str, str], forged: int, says: str
) -> None:
    env = load_stack_file(local_stack(tmp_path, "https://voice.example.test"), "local")
    target = smoke.targets(env)[0]

    def post(
        url: str, params: dict[str, str], signature: str, timeout: float
    ) -> tuple[int, str, str]:
        good = smoke.RequestValidator(TOKEN).compute_signature(url, params)
        return answer if signature == good else (forged, "text/plain", "")

    outcome = smoke.check(target, "AC" + "1" * 32, TOKEN, 5.0, post)
    assert not outcome.ok
    assert any(says in problem for problem in outcome.problems), outcome.problems
    out = io.StringIO()
    assert smoke.report([outcome], out) == 1
    assert out.getvalue().startswith("FAIL POST https://voice.example.test/voice/")


def test_an_unreachable_app_is_11200(tmp_path: Path) -> None:
    env = load_stack_file(local_stack(tmp_path, "http://127.0.0.1:9"), "local")
    outcome = smoke.check(smoke.targets(env)[0], "AC" + "1" * 32, TOKEN, 2.0)
    assert outcome.problems[0].startswith("no answer")
    assert "11200" in outcome.problems[0]
