"""The main job on the `local` stack (`nox -s local`): emulator + webhook app + apply + a test call.

Steps, each printed as it runs:
1. validate the `local` stack's environment spec;
2. build the app's call flows from the stack (`twilio-voice app-config --stack local`);
3. find the Pulumi CLI: `pulumi` from PATH when compatible, else the one `nox -s pulumi-cli`
   builds from Go modules (built here first when missing and Go is present);
4. start the Twilio emulator and the webhook app (serving those flows) on loopback, and apply
   the stack with the real Pulumi engine: `pulumi up --stack local --yes` on a file backend
   under .cache/;
5. show what now exists in the emulator, per kind;
6. place a signed test call through the declared menu to its target, printing the TwiML;
7. simulate a whole call with `twilio-voice simulate scenarios/ivr-sales-answered.yaml`;
8. stop both servers.
Nothing here talks to Twilio: the emulator URL goes to the providers via `TWILIO_API_BASE_URL`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import yaml

from devtools.processes import stop
from devtools.pulumi_cli import build, engine_env, find_cli, install_advice
from infra import spec
from infra.twilio_http import BASE_URL_ENV
from infra.urls import voice_webhooks

STACK = "local"
# The call the job simulates after `pulumi up`: caller presses 1, the sales line answers.
SCENARIO = "ivr-sales-answered.yaml"
DEFAULT_EMULATOR_PORT = 4010
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class LocalSettings:
    """What the job needs from `Pulumi.local.yaml`."""

    account_sid: str
    auth_token: str
    public_base_url: str
    caller_id: str = ""

    @property
    def app_port(self) -> int:
        parts = urlsplit(self.public_base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def app_host(self) -> str:
        return urlsplit(self.public_base_url).hostname or "127.0.0.1"


def read_settings(project_dir: Path) -> LocalSettings:
    """Credentials and public base URL of the `local` stack.

    The stack file may set `twilio:accountSid` / `twilio:authToken`; otherwise the emulator's
    published local defaults apply (the `local` stack never talks to Twilio).
    """
    from emulator.config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
    from infra.spec.stackfile import read_stack_config

    # One read of the stack file: the `config:` mapping holds the spec under its key.
    config, key = read_stack_config(project_dir, STACK)
    raw: Mapping[str, Any] = config[key]
    creds: Mapping[str, Any] = raw.get("credentials") or {}
    account_sid = str(
        config.get("twilio:accountSid") or creds.get("account_sid") or DEFAULT_ACCOUNT_SID
    )
    token = config.get("twilio:authToken") or DEFAULT_AUTH_TOKEN
    if not isinstance(token, str):
        raise SystemExit(
            f"Pulumi.{STACK}.yaml: twilio:authToken must be plain text on the local stack (it is "
            "the emulator's token, not a real one); remove it to use the emulator's default"
        )
    numbers = raw.get("numbers") or []
    caller_id = str(numbers[0].get("e164", "")) if numbers and isinstance(numbers[0], dict) else ""
    return LocalSettings(account_sid, token, str(raw["public_base_url"]), caller_id)


# -- output ------------------------------------------------------------------------------------


class Steps:
    """Numbered, plain-language progress lines."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.current = 0

    def start(self, title: str) -> None:
        self.current += 1
        print(f"\n==> [{self.current}/{self.total}] {title}", flush=True)

    @staticmethod
    def say(line: str = "") -> None:
        print(f"    {line}" if line else "", flush=True)


# -- servers -----------------------------------------------------------------------------------


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(
    proc: subprocess.Popen[bytes], host: str, port: int, name: str, log: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"{name} exited with code {proc.returncode} while starting; its log is {log}:\n"
                + tail(log)
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(
        f"{name} did not listen on {host}:{port} within {STARTUP_TIMEOUT:.0f}s; see {log}"
    )


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def server(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    address: tuple[str, int],
    log: Path,
    cwd: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; stop it with SIGTERM (then SIGKILL after 10 s)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        # argv is built here from sys.executable and fixed module names, never from input
        proc = subprocess.Popen(  # noqa: S603
            list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_until_listening(proc, *address, name, log)
            yield proc
        finally:
            stop(proc)
            # -15: it stopped on our SIGTERM, as asked
            code = "" if proc.returncode in (0, -15) else f" (exit code {proc.returncode})"
            Steps.say(f"stopped {name}{code}; log: {log}")


# -- apply -------------------------------------------------------------------------------------


def run(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    Steps.say("$ " + " ".join(argv))
    return subprocess.run(list(argv), env=dict(env), cwd=cwd, check=False).returncode  # noqa: S603


def stack_python(project_dir: Path) -> Path:
    """The interpreter of the virtualenv `Pulumi.yaml` names (runtime.options.virtualenv)."""
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    runtime = data.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, Mapping) else {}
    venv = project_dir / str(options.get("virtualenv") or ".venv")
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_stack_venv(project_dir: Path) -> int:
    """Pulumi runs the program in the stack's virtualenv: make sure `infra` is installed there.

    With the `policy` extra, so that `pulumi preview --policy-pack infra/policy` works too.
    """
    python = stack_python(project_dir)
    probe = [str(python), "-c", "import infra.program, pulumi, pulumi_policy, twilio"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:  # noqa: S603
        return 0
    venv = python.parent.parent
    Steps.say(f"Installing the project into {venv} (the virtualenv Pulumi.yaml names)")
    uv = shutil.which("uv")
    if not python.exists():
        create = [uv, "venv", "-q", "-p", sys.executable, str(venv)] if uv else None
        code = run(create or [sys.executable, "-m", "venv", str(venv)], os.environ, project_dir)
        if code != 0:
            return code
    target = f"{project_dir}[policy]"
    if uv:
        return run(
            [uv, "pip", "install", "-q", "-p", str(python), "-e", target], os.environ, project_dir
        )
    return run([str(python), "-m", "pip", "install", "-q", "-e", target], os.environ, project_dir)


def pulumi_up(project_dir: Path, env: Mapping[str, str], bin_folder: Path) -> int:
    """`pulumi up --stack local --yes` against a file backend under .cache/, output streamed."""
    code = ensure_stack_venv(project_dir)
    if code != 0:
        return code
    engine_vars = engine_env(
        bin_folder,
        project_dir / ".cache" / "pulumi-state",
        env,
        home=project_dir / ".cache" / "pulumi-home",
    )
    pulumi = str(bin_folder / "pulumi")
    # First run: creates the stack in the file backend (Pulumi.local.yaml carries its salt).
    code = run(
        [pulumi, "stack", "select", "--create", STACK, "--non-interactive"],
        engine_vars,
        project_dir,
    )
    if code == 0:
        code = run(
            [pulumi, "up", "--stack", STACK, "--yes", "--non-interactive"], engine_vars, project_dir
        )
    return code


def locate_cli(project_dir: Path) -> Path | None:
    """The CLI's bin folder, building it when missing and Go is present; None: neither."""
    found = find_cli(project_dir)
    if found is not None:
        Steps.say(f"using {found / 'pulumi'}")
        return found
    if not shutil.which("go"):
        Steps.say("")
        for line in textwrap.wrap(install_advice(), 92):
            Steps.say(line)
        return None
    Steps.say("No compatible Pulumi CLI on PATH and none built yet: building it now.")
    return build(project_dir, say=Steps.say)


# -- inspection and the test call --------------------------------------------------------------


def live_inventory(project_dir: Path, environ: Mapping[str, str]) -> list[tuple[str, int, int]]:
    """(label, live, declared) per kind, listed the way drift lists the account.

    The kinds, their labels and list paths come from `infra.kinds`; the listing is drift's own
    collector over the Twilio REST API (pointed at the emulator by TWILIO_API_BASE_URL).
    """
    from infra.client import TwilioApi, resolve_credentials
    from infra.commands.drift import stack_config
    from infra.drift.collect import collect_live
    from infra.drift.declared import declared_items
    from infra.kinds import KINDS

    env = spec.load_stack_file(project_dir, STACK)
    declared = declared_items(env)
    api = TwilioApi(
        resolve_credentials(stack_config(project_dir, STACK), environ),
        base_url=environ.get(BASE_URL_ENV) or None,
    )
    live = collect_live(api, declared)
    rows = []
    for kind in KINDS:
        if kind.list_path is None:
            continue
        have = sum(1 for item in live if item.kind == kind.name)
        want = sum(1 for item in declared if item.kind == kind.name)
        if have or want:
            rows.append((kind.label, have, want))
    return rows


def signed_post(
    settings: LocalSettings, app_url: str, public_url: str, params: Mapping[str, str]
) -> tuple[int, str]:
    """POST `params` to the app as Twilio would, signed for `public_url`; (status, body)."""
    from twilio.request_validator import RequestValidator

    # The app validates the signature against the public URL Twilio would have used.
    signature = RequestValidator(settings.auth_token).compute_signature(public_url, dict(params))
    parts = urlsplit(public_url)
    target = app_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    request = urllib.request.Request(  # noqa: S310 (loopback http URL built above)
        target,
        data=urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


@dataclass(frozen=True)
class Walk:
    """The signed test call's way through a declared menu, request by request."""

    ok: bool
    lines: list[str]


def walk_declared_menu(env: spec.Environment, settings: LocalSettings, app_url: str) -> Walk:
    """Call the stack's first number that enters a call flow, press the digit of the first
    option of its menu that dials a number, and check the app dials that number.

    Both requests are signed for the URLs Twilio would use: the number's derived voice URL
    (`/voice/inbound?flow=...`) and the `<Gather action>` the first answer names.
    """
    from webhook_app.callflow.artifact import DEFAULT_CALL_FLOWS

    flows = env.call_flows or DEFAULT_CALL_FLOWS
    number = next((n for n in env.numbers if n.call_flow), None)
    number = number or next((n for n in env.numbers if n.flow == "ivr_main"), None)
    if number is None:
        return Walk(False, ["The local stack has no number that enters a call flow."])
    flow_name = number.call_flow or flows.entry_flow
    flow = flows.flows[flow_name]
    menu_name = flow.start.menu
    if menu_name is None:
        return Walk(False, [f"Flow {flow_name} does not start with a menu: nothing to press."])
    menu = flow.menus[menu_name]
    option = next((o for o in menu.options if o.action.dial is not None), menu.options[0])
    voice_url = voice_webhooks(env.public_base_url, number).voice
    assert voice_url is not None  # a number with a call flow has a voice URL
    call = {
        "AccountSid": settings.account_sid,
        "CallSid": "CA" + "0" * 31 + "1",
        "From": "+14155550199",
        "To": number.e164,
        "CallStatus": "in-progress",
        "Direction": "inbound",
    }
    lines = [f"number {number.e164} -> flow {flow_name} -> menu {menu_name}"]
    status, body = signed_post(settings, app_url, voice_url.url, call)
    lines += [f"POST {voice_url.url} (signed) -> HTTP {status}", *pretty_xml(body).splitlines()]
    action = _gather_action(body)
    if status != 200 or action is None:
        return Walk(False, [*lines, "The app's answer has no <Gather>: the menu was not served."])
    base = urlsplit(env.public_base_url)
    menu_url = f"{base.scheme}://{base.netloc}{action}"
    status, body = signed_post(settings, app_url, menu_url, {**call, "Digits": option.digit})
    lines += [
        f"press {option.digit} ({option.title}): POST {menu_url} (signed) -> HTTP {status}",
        *pretty_xml(body).splitlines(),
    ]
    expected = option.action.dial.numbers if option.action.dial is not None else ()
    dialled = _dialled_numbers(body)
    if status != 200 or (expected and dialled[: len(expected)] != list(expected)):
        want = ", ".join(expected) or "a target"
        return Walk(False, [*lines, f"Expected the app to dial {want}; it dialled {dialled}."])
    target = ", ".join(dialled) if dialled else "its target"
    lines.append(f"walked: menu {menu_name} -> {option.digit} ({option.title}) -> dial {target}")
    return Walk(True, lines)


def _gather_action(body: str) -> str | None:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (our own app's answer on loopback)
    except ElementTree.ParseError:
        return None
    gather = root.find(".//Gather")
    return None if gather is None else gather.get("action")


def _dialled_numbers(body: str) -> list[str]:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (our own app's answer on loopback)
    except ElementTree.ParseError:
        return []
    return [(n.text or "").strip() for n in root.iter("Number")]


def pretty_xml(body: str) -> str:
    """Indented TwiML for reading; the raw body when it is not XML."""
    try:
        # our own app's answer on loopback, not untrusted input
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return body.strip()
    ElementTree.indent(root, space="  ")
    return ElementTree.tostring(root, encoding="unicode")


# -- the job -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.local_job", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--emulator-port", type=int, default=DEFAULT_EMULATOR_PORT)
    args = parser.parse_args(argv)
    project_dir: Path = args.project_dir.resolve()
    cache = project_dir / ".cache"
    steps = Steps(9)

    steps.start("Validate the `local` stack (python -m infra validate --stack local)")
    validate = [sys.executable, "-m", "infra", "validate", "--stack", STACK]
    code = run(validate, os.environ, project_dir)
    if code != 0:
        steps.say("The local stack's spec is invalid; fix Pulumi.local.yaml as described above.")
        return code
    settings = read_settings(project_dir)
    env = spec.load_stack_file(project_dir, STACK)

    flows_file = cache / "local-call-flows.json"
    steps.start(
        f"Build the app's call flows from the stack: twilio-voice app-config --stack {STACK}"
    )
    cache.mkdir(exist_ok=True)
    app_config = [sys.executable, "-m", "infra", "app-config", "--stack", STACK]
    code = run([*app_config, "--output", str(flows_file)], os.environ, project_dir)
    if code != 0:
        steps.say("The stack's call flows could not be built into the app's artifact; see above.")
        return code
    steps.say(f"{flows_file.relative_to(project_dir)}: what the app serves (VOICE_SETTINGS_FILE)")

    steps.start("Find the Pulumi CLI (PATH, else .cache/pulumi, else build it from Go modules)")
    bin_folder = locate_cli(project_dir)
    if bin_folder is None:
        return 2

    host = "127.0.0.1"
    emulator_port = args.emulator_port
    if not port_is_free(host, emulator_port):
        emulator_port = free_port(host)
        steps.say(f"(port {args.emulator_port} is busy; the emulator uses {emulator_port})")
    emulator_url = f"http://{host}:{emulator_port}"
    if not port_is_free(settings.app_host, settings.app_port):
        steps.say(
            f"Port {settings.app_port} is busy, but the local stack's public_base_url "
            f"({settings.public_base_url}) needs it: stop whatever listens there and rerun."
        )
        return 2
    app_url = f"http://{settings.app_host}:{settings.app_port}"
    twilio_env = {
        **os.environ,
        BASE_URL_ENV: emulator_url,
        "TWILIO_ACCOUNT_SID": settings.account_sid,
        "TWILIO_AUTH_TOKEN": settings.auth_token,
    }

    with ExitStack() as servers:
        steps.start(f"Start the Twilio emulator ({emulator_url}) and the webhook app ({app_url})")
        servers.enter_context(
            server(
                "the Twilio emulator",
                [
                    *(sys.executable, "-m", "emulator", "--quiet", "--host", host),
                    *("--port", str(emulator_port), "--account-sid", settings.account_sid),
                    *("--state", str(cache / "emulator-state.json")),
                    # the account owns the numbers the local stack declares (and a few more)
                    *("--seed-file", str(project_dir / f"Pulumi.{STACK}.yaml")),
                ],
                twilio_env,
                (host, emulator_port),
                cache / "logs" / "emulator.log",
                project_dir,
            )
        )
        Steps.say(f"emulator up: {emulator_url} (state: .cache/emulator-state.json)")
        servers.enter_context(
            server(
                "the webhook app",
                [sys.executable, "-m", "webhook_app"],
                {
                    **twilio_env,
                    "PORT": str(settings.app_port),
                    "HOST": settings.app_host,
                    "PUBLIC_BASE_URL": settings.public_base_url,
                    "VOICE_STORE_URL": f"sqlite:///{cache / 'webhook_app.sqlite3'}",
                    "VOICE_SETTINGS_FILE": str(flows_file),
                    # Forwarded calls show a number the account owns (the stack's first one),
                    # else Twilio refuses the dial (13214).
                    "TWILIO_CALLER_ID": settings.caller_id,
                },
                (settings.app_host, settings.app_port),
                cache / "logs" / "webhook_app.log",
                project_dir,
            )
        )
        Steps.say(f"webhook app up: {app_url}")

        steps.start("Apply the stack: pulumi up --stack local --yes (file backend in .cache/)")
        code = pulumi_up(project_dir, twilio_env, bin_folder)
        if code != 0:
            Steps.say(f"Applying the stack failed (exit code {code}); see the output above.")
            return code

        steps.start("What now exists in the account (listed as `twilio-voice drift` lists it)")
        rows = live_inventory(project_dir, twilio_env)
        width = max((len(label) for label, _, _ in rows), default=0)
        Steps.say(f"{'kind':<{width}}  live  declared")
        for label, have, want in rows:
            Steps.say(f"{label:<{width}}  {have:>4}  {want:>8}")
        Steps.say(
            "(the emulated account owns more numbers than the stack declares: the stack adopts "
            "and configures the ones it names, it never buys or releases numbers)"
        )

        steps.start("Place a signed test call: through the declared menu to its target")
        walk = walk_declared_menu(env, settings, app_url)
        for line in walk.lines:
            Steps.say(line)
        if not walk.ok:
            Steps.say("The signed call did not reach its target; see .cache/logs/webhook_app.log.")
            return 1

        scenario = project_dir / "scenarios" / SCENARIO
        steps.start(f"Simulate a whole call: twilio-voice simulate scenarios/{SCENARIO}")
        if scenario.is_file():
            argv = [sys.executable, "-m", "infra", "simulate", str(scenario), "--stack", STACK]
            code = run([*argv, "--emulator", emulator_url], twilio_env, project_dir)
            if code != 0:
                Steps.say("The simulated call did not go as the scenario expects; see above.")
                return code
        else:
            Steps.say(f"(no {scenario}: skipped)")

        steps.start("Stop the servers")
    Steps.say("")
    Steps.say("Done: the local stack is applied to the emulator and the app answers calls.")
    Steps.say("Run it again: nothing changes (state is kept in .cache/; delete it to start over).")
    Steps.say("Real Twilio account: see docs/program.md (pulumi login, stack select, pulumi up).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
