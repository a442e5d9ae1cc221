"""Doctor test support: a throwaway CA made with the `openssl` CLI, a local HTTPS server, and
small webhook apps that fail in each way Twilio reports (500, wrong type, bad XML, no 403).

The `cryptography` package is not installed here, so certificates come from the OpenSSL CLI
that every Python build links against (`-days -1` makes an expired one).
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from twilio.request_validator import RequestValidator
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from webhook_app.callflow.artifact import built_in

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

OPENSSL = shutil.which("openssl")
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
BUILT_IN_HASH = built_in().hash
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>'


def openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Certs:
    ca: Path
    valid: tuple[Path, Path]  # (cert, key) for localhost / 127.0.0.1
    expired: tuple[Path, Path]
    wrong_host: tuple[Path, Path]  # valid, but for other.example


def make_certs(folder: Path) -> Certs:
    ca_subject = "/CN=twilio-voice doctor test CA"
    openssl(
        "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "400",
        "-subj", ca_subject, cwd=folder,
    )  # fmt: skip

    def leaf(name: str, san: str, days: str) -> tuple[Path, Path]:
        (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        key, csr, pem = f"{name}.key", f"{name}.csr", f"{name}.pem"
        openssl("req", *EC_KEY, "-keyout", key, "-out", csr, "-subj", "/CN=doctor", cwd=folder)
        openssl(
            "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", pem, "-days", days, "-extfile", f"{name}.ext", cwd=folder,
        )  # fmt: skip
        return folder / pem, folder / key

    return Certs(
        folder / "ca.pem",
        leaf("valid", "DNS:localhost,IP:127.0.0.1", "400"),
        leaf("expired", "DNS:localhost,IP:127.0.0.1", "-1"),
        leaf("wrong", "DNS:other.example", "400"),
    )


class Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


def server_context(cert: tuple[Path, Path], tls11_only: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    if tls11_only:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


@contextmanager
def https_server(app: Any, context: ssl.SSLContext) -> Iterator[str]:
    """Serve `app` over HTTPS on a free loopback port; yields https://localhost:<port>."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=Quiet, ssl_context=context
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def webhook_app(
    token: str,
    base: Callable[[], str],
    behaviour: str = "good",
    delay: float = 0.0,
    call_flows: str | None = BUILT_IN_HASH,
) -> WsgiApp:
    """A webhook app: `good` validates signatures (403 otherwise) and answers TwiML; `500`,
    `json` (wrong content type), `badxml` and `forged` (accepts any signature) misbehave.
    GET /healthz reports `call_flows` (default: the built-in flow's hash, what an app without
    an artifact serves); None: no hash, like an app older than call flows in the stack."""
    validator = RequestValidator(token)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "GET" and request.path == "/healthz":
            health: dict[str, str] = {"status": "ok", "store": "sqlite"}
            if call_flows is not None:
                health |= {"call_flows": call_flows, "call_flows_source": "flows.json"}
            return Response(json.dumps(health), 200, mimetype="application/json")(
                environ, start_response
            )
        if delay:
            time.sleep(delay)
        url = base() + request.full_path.rstrip("?")
        signed = validator.validate(
            url, request.form.to_dict(), request.headers.get("X-Twilio-Signature", "")
        )
        if behaviour == "500":
            response = Response("boom", 500)
        elif not signed and behaviour != "forged":
            response = Response("forbidden", 403)
        elif behaviour == "json":
            response = Response('{"twiml": "<Response/>"}', 200, mimetype="application/json")
        elif behaviour == "badxml":
            response = Response("<Response><Say>Tom & Jerry</Response>", 200, mimetype="text/xml")
        else:
            response = Response(TWIML, 200, mimetype="text/xml")
        return response(environ, start_response)

    return app


def write_stack(project: Path, stack: str, env: dict[str, Any]) -> None:
    (project / "Pulumi.yaml").write_text("name: twilio-voice\nruntime: python\nmain: infra/\n")
    doc = {"config": {"twilio-voice:environment": env}}
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
