"""Start an emulator for tests: in-process on a free port, or as a `python -m emulator` process.

    with running_emulator(seed_numbers=10) as emu:
        client = emu.client()                      # twilio.rest.Client pointed at the emulator
        client.trunking.v1.trunks.create(friendly_name="t")
        assert emu.admin.counters()["total"] == 1

Both honour `TWILIO_EMULATOR_RECORD` (traffic recording for the OpenAPI contract check).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from devtools.processes import stop
from emulator.app import Emulator
from emulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, RECORD_ENV, EmulatorConfig
from emulator.faults import FaultConfig
from emulator.numbers import DEFAULT_NUMBERS, generated_numbers, numbers_in_files, stack_files
from emulator.store import Store


def default_numbers() -> list[str]:
    """The built-in owned numbers plus every E.164 in the project's stack files."""
    root = Path(__file__).resolve().parent.parent
    return [*DEFAULT_NUMBERS, *numbers_in_files(stack_files(Path.cwd(), root))]


class QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request (tests make thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class AdminClient:
    """The `/_admin` API over HTTP (works for in-process and subprocess emulators alike)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}/_admin{path}", data=data, method=method)  # noqa: S310
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("X-Admin-Token", self.token)
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - local emulator
            text = response.read().decode()
        return json.loads(text) if text else None

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/counters")
        return result

    def reset_counters(self) -> None:
        self.request("DELETE", "/counters")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PUT", "/faults", settings)
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/state")
        return result

    def reset(self) -> None:
        self.request("POST", "/reset", {})

    def resources(self, kind: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.request("GET", f"/resources/{kind}")
        return result

    def edit(self, kind: str, sid: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("PATCH", f"/resources/{kind}/{sid}", fields)
        return result

    def delete(self, kind: str, sid: str) -> None:
        self.request("DELETE", f"/resources/{kind}/{sid}")

    def add_numbers(self, numbers: Iterable[str] = (), count: int = 0) -> int:
        result = self.request("POST", "/numbers", {"numbers": list(numbers), "count": count})
        return int(result["added"])

    def add_alerts(self, *alerts: Mapping[str, Any]) -> list[str]:
        """Inject Monitor alerts (error_code, request_url, date_generated, ...); their SIDs."""
        result = self.request("POST", "/alerts", {"alerts": [dict(a) for a in alerts]})
        return [str(sid) for sid in result["added"]]


@dataclass
class RunningEmulator:
    """A started emulator: where it is, the credentials it accepts, and its admin API."""

    base_url: str
    account_sid: str
    auth_token: str
    admin: AdminClient
    emulator: Emulator | None = None  # set for in-process emulators
    api_keys: Mapping[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Environment variables that point the project's Twilio clients here."""
        return {
            "TWILIO_API_BASE_URL": self.base_url,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
        }

    def client(self, username: str | None = None, password: str | None = None) -> Any:
        """A `twilio.rest.Client` routed here through `infra.twilio_http.TwilioHttpClient`."""
        from twilio.rest import Client

        from infra.twilio_http import TwilioHttpClient

        return Client(
            username or self.account_sid,
            password or self.auth_token,
            account_sid=self.account_sid,
            http_client=TwilioHttpClient(base_url=self.base_url),
            # The SDK reads `environment or os.environ`: an empty dict would fall back to the
            # shell's TWILIO_EDGE / TWILIO_REGION and rewrite hosts the emulator does not serve.
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )


@contextmanager
def running_emulator(
    *,
    numbers: Iterable[str] | None = None,
    seed_numbers: int = 0,
    faults: FaultConfig | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    auth_token: str = DEFAULT_AUTH_TOKEN,
    api_keys: Mapping[str, str] | None = None,
    record_path: Path | None = None,
    state_path: Path | None = None,
) -> Iterator[RunningEmulator]:
    """An in-process, threaded emulator on 127.0.0.1 and a free port, stopped on exit.

    `numbers` defaults to `default_numbers()` (built-ins + the stack files' numbers).
    """
    record = record_path or (Path(os.environ[RECORD_ENV]) if os.environ.get(RECORD_ENV) else None)
    config = EmulatorConfig(
        account_sid=account_sid,
        auth_token=auth_token,
        api_keys=dict(api_keys or {}),
        record_path=record,
    )
    seed = [*(default_numbers() if numbers is None else numbers), *generated_numbers(seed_numbers)]
    store = Store(account_sid, path=state_path)
    emulator = Emulator(config, store=store, faults=faults, numbers=seed)
    server = make_server(
        "127.0.0.1", 0, emulator, threaded=True, request_handler=QuietRequestHandler
    )
    # A short poll interval makes shutdown quick (tests start hundreds of emulators).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="twilio-emulator", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{server.port}"
    try:
        yield RunningEmulator(
            base_url, account_sid, auth_token, AdminClient(base_url), emulator, config.api_keys
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def emulator_process(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[RunningEmulator]:
    """`python -m emulator --port 0 <args>` as a subprocess; stopped (terminate) on exit."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
        [sys.executable, "-m", "emulator", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        if "listening on " not in first:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise RuntimeError(f"emulator did not start: {first.strip()} {err.strip()}")
        base_url = first.rsplit(" ", 1)[1].strip()
        # Drain the rest of the banner in the background so the pipe never fills up.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        yield RunningEmulator(
            base_url,
            full_env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
            full_env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
            AdminClient(base_url, full_env.get("TWILIO_EMULATOR_ADMIN_TOKEN")),
        )
    finally:
        stop(proc)


__all__ = ["AdminClient", "RunningEmulator", "emulator_process", "running_emulator"]
