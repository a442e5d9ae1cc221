"""Call-simulator test support: the real webhook app on a loopback port, the `local` estate
applied to an in-process emulator with the app's URL as its `public_base_url`.

The emulator shares no code with the app; only the tests put them side by side.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from devtools.emulator_testing import QuietRequestHandler, RunningEmulator
from emulator.simulate import HttpResult
from infra.spec.stackfile import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
APP = "https://app.test"  # the scripted app's base URL (nothing listens there)
NUMBER = "+14155550100"
XML = "text/xml; charset=utf-8"
SCENARIOS = ROOT / "scenarios"
CALLER_ID = "+14155550120"  # the local stack's main line: a number the account owns


def _drift_support() -> ModuleType:
    """tests/infra/drift/drift_support.py (apply_spec): loaded by path, it has no package."""
    path = ROOT / "tests" / "infra" / "drift" / "drift_support.py"
    spec = importlib.util.spec_from_file_location("sim_drift_support", path)
    assert spec is not None
    assert spec.loader is not None
    if spec.name in sys.modules:
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class ServedApp:
    """The app being served; replace ``wsgi`` to serve something else on the same port."""

    base_url: str
    store: Any
    wsgi: Any = None


@contextmanager
def serve_app(
    tmp_path: Path,
    auth_token: str,
    *,
    caller_id: str | None = CALLER_ID,
    served_flows: Any = None,
    **call_flows: Any,
) -> Iterator[ServedApp]:
    """The webhook app (factory, SQLite store) served by werkzeug on 127.0.0.1:<free port>.

    ``call_flows``: a call_flows section to serve (keys of ``CallFlows``); ``served_flows``: an
    ``artifact.Served`` (a stack's, see :func:`local_flows`); neither: the built-in flow.
    """
    from webhook_app.app import create_app
    from webhook_app.callflow import artifact
    from webhook_app.callflow.model import CallFlows
    from webhook_app.metrics import Metrics
    from webhook_app.settings import Settings
    from webhook_app.store_sqlite import SqliteStore

    served = ServedApp("", None)

    def wsgi(environ: Any, start_response: Any) -> Any:
        return served.wsgi(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietRequestHandler)
    base_url = served.base_url = f"http://127.0.0.1:{server.port}"
    store = served.store = SqliteStore(str(tmp_path / "app-state.sqlite3"))
    settings = Settings(
        auth_token=auth_token,
        public_base_url=base_url,
        caller_id=caller_id,
        served=(
            served_flows
            if served_flows is not None
            else artifact.serve(CallFlows.model_validate(call_flows))
            if call_flows
            else artifact.built_in()
        ),
    )
    served.wsgi = create_app(settings, store, metrics=Metrics())
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        store.close()


def local_flows(**flow_changes: Any) -> Any:
    """What the app serves for Pulumi.local.yaml's call_flows (as `app-config --stack local`);
    ``flow_changes``: flow name -> fields replaced in that flow (a mutation)."""
    from webhook_app.callflow import artifact

    env = load_stack_file(ROOT, "local")
    flows = env.call_flows
    assert flows is not None
    if flow_changes:
        changed = {
            name: flow.model_copy(update=flow_changes.get(name, {}))
            for name, flow in flows.flows.items()
        }
        flows = flows.model_copy(update={"flows": changed})
    return artifact.serve(flows, env.dial_countries(), source="local")


def provision_local(emu: RunningEmulator, public_base_url: str, **changes: Any) -> Any:
    """Apply Pulumi.local.yaml to the emulator, its webhooks pointing at `public_base_url`."""
    env = load_stack_file(ROOT, "local").model_copy(
        update={"public_base_url": public_base_url, **changes}
    )
    _drift_support().apply_spec(emu.client(), env)
    return env


def project_copy(folder: Path, public_base_url: str) -> Path:
    """Pulumi.yaml and Pulumi.local.yaml in ``folder``, the stack's app at ``public_base_url``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    stack = (ROOT / "Pulumi.local.yaml").read_text()
    assert "public_base_url: http://127.0.0.1:8080" in stack
    (folder / "Pulumi.local.yaml").write_text(
        stack.replace("http://127.0.0.1:8080", public_base_url)
    )
    return folder


@dataclass
class ScriptedApp:
    """A transport answering from a table (path -> TwiML or HttpResult), recording requests."""

    pages: dict[str, str | HttpResult] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    token: str = ""

    def __call__(
        self, method: str, url: str, body: bytes | None, headers: Any, timeout: float
    ) -> HttpResult:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}
        signed_ok = RequestValidator(self.token).validate(
            url, params if method == "POST" else {}, headers["X-Twilio-Signature"]
        )
        parts = urlsplit(url)
        self.seen.append(
            {
                "method": method,
                "url": url,
                "path": parts.path,
                "params": params,
                "signed": signed_ok,
            }
        )
        page = self.pages.get(parts.path, HttpResult(204, "text/plain", b""))
        if isinstance(page, HttpResult):
            return page
        return HttpResult(200, XML, f"<Response>{page}</Response>".encode())
