"""Side-by-side webhook benchmark (``nox -s bench``): this app vs the peers in the bench folder.

Every server gets one core (``taskset -c 0``); ``wrk`` runs on the other core with 16
connections and the signed inbound-call webhook written by the bench folder's ``sign.py``.
Each server is first checked with the bench folder's ``check.py`` (expected TwiML, 403 on a bad
signature). Rounds are interleaved so drift on the machine hits every server alike, and each
server's best round is reported.

The ``app-granian-declared`` rows run the same server on the prod stack's declared call flows
(``python -m infra app-config --stack prod``, served from ``VOICE_SETTINGS_FILE``): issue 13
wants a declared menu to cost no more than the built-in one, so each is compared with its
built-in row (``app-granian``, ``app-granian-menu``) in the same run.
"""

# ruff: noqa: S603, S607, S310 (a developer tool: runs the servers and wrk, calls loopback URLs)
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]  # the repo: Pulumi.prod.yaml and the infra package
TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 (a fixed test token, as in run.sh)
INBOUND, MENU = "/voice/inbound", "/voice/menu"
# prod's main flow is its default flow and its main menu the flow's first menu: the menu's
# <Gather action> is a bare /voice/menu, so Digits=7 there is a reprompt of prod's main menu.
DECLARED_INBOUND = INBOUND + "?flow=main"
DECLARED_STACK = "prod"
INVALID_DIGIT = {"Digits": "7"}  # no menu option: a reprompt
# Each declared row against its built-in row: issue 13's "no regression" (within 10%).
COMPARISONS = (
    ("app-granian-declared", "app-granian"),
    ("app-granian-declared-menu", "app-granian-menu"),
)
REGRESSION_TOLERANCE = 0.10
FLOWS_FILE = "flows.json"  # the artifact, in the work dir
SETTINGS_ENV = "VOICE_SETTINGS_FILE"
TARGETS = {"seed_express": 1.3, "seed_fastapi": 2.5}  # app-granian's req/s over the peer's
P99_TARGET_MS = 10.0
_SERVER_CORE, _CLIENT_CORE = "0", "1"


@dataclass
class Server:
    """A server under test: how to start it and its measured rounds."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    # "/voice/inbound" is the shared scenario every peer serves (bench/sign.py, bench/check.py);
    # any other path (the IVR answer "/voice/menu", a declared flow's "?flow=" URL) is signed
    # here with the shared call's fields plus ``fields``, and checked by ``check_signed``.
    path: str = INBOUND
    fields: dict[str, str] = field(default_factory=dict)
    verbs: tuple[bytes, ...] = ()  # one of them must be in the answer (none: any <Response>)
    port: int = 0
    rps: list[float] = field(default_factory=list)
    cpu_rps: list[float] = field(default_factory=list)  # requests per CPU-second of the server
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in a process group (the server's)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process exited meanwhile
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def parse_requests(text: str) -> int:
    match = re.search(r"(\d+) requests in", text)
    if match is None:
        raise ValueError(f"wrk output has no request count:\n{text}")
    return int(match.group(1))


def parse_wrk(text: str) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in milliseconds from ``wrk --latency`` output."""

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output has no {label}% latency:\n{text}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if rps is None:
        raise ValueError(f"wrk output has no Requests/sec:\n{text}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors:
        raise ValueError(f"{errors.group(1)} requests failed:\n{text}")
    return float(rps.group(1)), ms("50"), ms("99")


def _sign_dir(bench_dir: Path, work: Path, port: int) -> Path:
    """A folder holding a copy of the bench folder's sign.py, for this port's URL."""
    target = work / f"sign-{port}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(bench_dir / "sign.py", target / "sign.py")
    return target


def _signing_env(port: int) -> dict[str, str]:
    """The environment sign.py and check.py read: the bench token and this port's base URL."""
    return {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": _base(port)}


def write_lua(bench_dir: Path, work: Path, port: int) -> Path:
    """Run the bench folder's sign.py for this port's URL; return the post.lua it wrote."""
    target = _sign_dir(bench_dir, work, port)
    subprocess.run([sys.executable, "sign.py"], cwd=target, env=_signing_env(port), check=True)
    return target / "post.lua"


def write_menu_lua(bench_dir: Path, work: Path, port: int) -> Path:
    """post.lua for the IVR's answer: ``Digits=7`` on /voice/menu, signed."""
    return write_signed_lua(bench_dir, work, port, MENU, INVALID_DIGIT)


def write_signed_lua(
    bench_dir: Path, work: Path, port: int, path: str, extra: dict[str, str]
) -> Path:
    """post.lua for ``path``: the shared call's fields plus ``extra``, signed.

    With ``Digits=7`` on /voice/menu (no menu option) each request is reprompted with its
    retry count in the new ``<Gather action>`` URL (the IVR keeps no state in the store). The
    twilio SDK signs the full URL, its query included, as Twilio does.
    """
    fields = subprocess.run(
        [sys.executable, "-c", "import json, sign; print(json.dumps(sign.PARAMS))"],
        cwd=_sign_dir(bench_dir, work, port),
        env=_signing_env(port),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    params = {**json.loads(fields), **extra}
    signature = RequestValidator(TOKEN).compute_signature(_base(port) + path, params)
    lua = work / f"signed-{port}.lua"
    lua.write_text(
        f"-- {urlencode(extra) or 'the shared call'}, signed for {_base(port)}{path}\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["X-Twilio-Signature"] = "{signature}"\n'
        f'wrk.body = "{urlencode(params)}"\n'
    )
    return lua


def check_signed(lua: Path, server: Server) -> None:
    """The signed request must get 200 text/xml, a well-formed ``<Response>`` holding one of
    ``server.verbs`` (the menu rows: a reprompt's ``<Gather``), not a 403 or 5xx."""
    port, path = server.port, server.path
    text = lua.read_text()
    signature = re.search(r'X-Twilio-Signature"\] = "([^"]+)"', text)
    body = re.search(r'wrk.body = "([^"]+)"', text)
    if signature is None or body is None:
        raise ValueError(f"{lua} has no signature or body")
    request = urllib.request.Request(
        _base(port) + path,
        data=body.group(1).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature.group(1),
        },
    )
    for _ in range(100):  # wait up to ~10 s for the server to listen
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                answer = response.read()
                status = response.status
                ctype = response.headers.get("Content-Type", "")
            break
        except HTTPError as exc:
            raise ValueError(f"{server.name} {path}: HTTP {exc.code}") from exc
        except (ConnectionError, URLError):
            time.sleep(0.1)
    else:
        raise ValueError(f"{server.name}: no answer on port {port}")
    try:
        root = ElementTree.fromstring(answer)  # noqa: S314 (our own server's answer)
    except ElementTree.ParseError as exc:
        raise ValueError(f"{server.name} {path}: not XML: {answer[:200]!r}") from exc
    ok = status == 200 and ctype.startswith("text/xml") and root.tag == "Response"
    if not ok or (server.verbs and not any(verb in answer for verb in server.verbs)):
        raise ValueError(f"{server.name} {path}: {status} {ctype!r} {answer[:200]!r}")
    verbs = ", ".join(child.tag for child in root)  # which page answered (open or closed)
    print(f"check {server.name} {path}: 200 {ctype} TwiML ok ({verbs})", flush=True)


def write_declared_flows(work: Path) -> Path:
    """The prod stack's call-flows artifact (``app-config``), for ``VOICE_SETTINGS_FILE``."""
    flows = work / FLOWS_FILE
    argv = [sys.executable, "-m", "infra", "app-config", "--stack", DECLARED_STACK]
    subprocess.run([*argv, "--output", str(flows)], cwd=ROOT, check=True)
    return flows


def _base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def servers(bench_dir: Path, work: Path, express_dir: Path, which: Sequence[str]) -> list[Server]:
    """The servers to compare; ``which`` filters by name."""
    py = sys.executable
    bindir = Path(py).parent
    peers = bench_dir / "peers"
    app_env = {
        "VOICE_STORE_URL": f"sqlite:///{work}/bench-state.sqlite3",
        "LOG_LEVEL": "INFO",
    }
    granian = [
        str(bindir / "granian"),
        "--interface",
        "wsgi",
        "--factory",
        "--workers",
        "1",
        "--blocking-threads",
        "1",
        "--runtime-threads",
        "1",
        "--runtime-mode",
        "st",
        "--no-access-log",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "webhook_app:get_app",
    ]
    declared_env = {**app_env, SETTINGS_ENV: str(work / FLOWS_FILE)}
    menu_verbs = (b"<Gather", b"<Dial")  # the built-in menu: a reprompt or a hand-over
    all_servers = [
        Server("app-granian", granian, Path.cwd(), app_env),
        Server(
            "app-granian-menu",
            granian,
            Path.cwd(),
            app_env,
            path=MENU,
            fields=INVALID_DIGIT,
            verbs=menu_verbs,
        ),
        # prod's declared flows: the main flow's entry (its business-hours check, evaluated per
        # request, then the menu or a voicemail box), and a reprompt of its main menu.
        Server("app-granian-declared", granian, Path.cwd(), declared_env, path=DECLARED_INBOUND),
        Server(
            "app-granian-declared-menu",
            granian,
            Path.cwd(),
            declared_env,
            path=MENU,
            fields=INVALID_DIGIT,
            verbs=(b"<Gather",),
        ),
        Server(
            "app-gunicorn",
            [
                str(bindir / "gunicorn"),
                "--workers",
                "1",
                "--forwarded-allow-ips",
                "",
                "--bind",
                "127.0.0.1:{port}",
                "webhook_app:get_app()",
            ],
            Path.cwd(),
            app_env,
        ),
        Server(
            "seed_fastapi",
            [
                str(bindir / "uvicorn"),
                "app:app",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            peers / "seed_fastapi",
        ),
        Server("seed_express", ["node", "server.js"], express_dir),
        Server(
            "wsgi_floor",
            [str(bindir / "gunicorn"), "--workers", "1", "--bind", "127.0.0.1:{port}", "app:app"],
            peers / "wsgi_floor",
        ),
    ]
    return [s for s in all_servers if not which or s.name in which]


def baseline_servers(chosen: Sequence[Server], rev: str, tree: Path) -> list[Server]:
    """The built-in app rows again, running the app as it was at ``rev`` (extracted in
    ``tree``): "today's" numbers measured in the same run, against the same peers."""
    rows = []
    for server in chosen:
        if server.name in ("app-granian", "app-granian-menu"):
            env = {**server.env, "PYTHONPATH": str(tree)}  # before the editable install
            rows.append(
                Server(
                    f"{server.name}@{rev}",
                    server.argv,
                    tree,
                    env,
                    path=server.path,
                    fields=server.fields,
                    verbs=server.verbs,
                )
            )
    return rows


def extract(rev: str, tree: Path) -> None:
    """The repository's files at ``rev`` in ``tree`` (git archive: no worktree to clean up)."""
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)


def start(server: Server, log_dir: Path) -> subprocess.Popen[bytes]:
    server.port = server.port or free_port()
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    env = {**_signing_env(server.port), **server.env, "PORT": str(server.port)}
    log = (log_dir / f"{server.name}.log").open("ab")
    return subprocess.Popen(
        ["taskset", "-c", _SERVER_CORE, *argv],
        cwd=server.cwd,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def check(bench_dir: Path, server: Server) -> None:
    """The bench folder's check.py: expected TwiML for the signed request, 403 for a bad one."""
    subprocess.run(
        [sys.executable, str(bench_dir / "check.py"), server.name, str(server.port)],
        cwd=bench_dir,
        env=_signing_env(server.port),
        check=True,
    )


def wrk(lua: Path, url: str, seconds: int, connections: int) -> str:
    argv = ["taskset", "-c", _CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--latency", "-s", str(lua), url]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, required=True)
    parser.add_argument("--express-dir", type=Path, default=Path(".cache/bench/seed_express"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", nargs="*", default=[], help="server names to run")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the app as it was at this git revision (app-granian@REV, "
        "app-granian-menu@REV) and compare each app row with it",
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    chosen = servers(args.bench_dir.resolve(), work, args.express_dir.resolve(), args.only)
    if args.baseline:
        extract(args.baseline, work / "baseline")
        chosen = [*chosen, *baseline_servers(chosen, args.baseline, work / "baseline")]
    for server in chosen:
        server.port = free_port()
    bench_dir = args.bench_dir.resolve()
    if any(SETTINGS_ENV in s.env for s in chosen):
        write_declared_flows(work)
    luas = {
        s.name: write_lua(bench_dir, work, s.port)
        if s.path == INBOUND
        else write_signed_lua(bench_dir, work, s.port, s.path, s.fields)
        for s in chosen
    }
    for round_no in range(1, args.rounds + 1):
        for server in chosen:
            proc = start(server, work)
            try:
                if server.path == INBOUND:
                    check(bench_dir, server)
                else:
                    check_signed(luas[server.name], server)
                url = _base(server.port) + server.path
                wrk(luas[server.name], url, args.warmup, args.connections)
                cpu_before = group_cpu_seconds(proc.pid)
                out = wrk(luas[server.name], url, args.seconds, args.connections)
                cpu = group_cpu_seconds(proc.pid) - cpu_before
                rps, p50, p99 = parse_wrk(out)
            finally:
                stop(proc)
            server.rps.append(rps)
            server.cpu_rps.append(parse_requests(out) / cpu if cpu > 0 else float("nan"))
            server.p50.append(p50)
            server.p99.append(p99)
            print(
                f"round {round_no} {server.name}: {rps:.0f} req/s p50 {p50:.2f} ms "
                f"p99 {p99:.2f} ms, {server.cpu_rps[-1]:.0f} req/CPU-s",
                flush=True,
            )
    report(chosen)
    print(f"(server logs in {work})")
    return 0


def report(chosen: Sequence[Server]) -> None:
    """The table and each app server's throughput ratio to each peer.

    Each server's best round (highest req/s, with that round's latencies) is reported: other
    load on a shared machine only ever makes a round slower, so the best round is the closest
    to the server's own cost. req/CPU-s divides the requests by the CPU time the server's
    processes used, a second view that is less sensitive to that load.
    """
    rows = {}
    for s in chosen:
        best = max(range(len(s.rps)), key=s.rps.__getitem__)
        rows[s.name] = (s.rps[best], s.p50[best], s.p99[best], max(s.cpu_rps))
    paths = {s.name: s.path for s in chosen}
    print(f"\n{'server':<27}{'path':<26}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'req/CPU-s':>11}")
    for name, (rps, p50, p99, cpu_rps) in rows.items():
        print(f"{name:<27}{paths[name]:<26}{rps:>8.0f}{p50:>9.2f}{p99:>9.2f}{cpu_rps:>11.0f}")
    apps = [n for n in rows if n.startswith("app-")]
    peers = [n for n in rows if not n.startswith("app-")]
    for app in apps if peers else []:
        ratios = ", ".join(f"{rows[app][0] / rows[p][0]:.2f}x {p}" for p in peers)
        per_cpu = ", ".join(f"{rows[app][3] / rows[p][3]:.2f}x {p}" for p in peers)
        note = "" if paths[app] == INBOUND else f" ({paths[app]} vs the peers' {INBOUND})"
        print(f"{app} req/s: {ratios}{note}")
        print(f"{app} req/CPU-s: {per_cpu}{note}")
    for line in target_lines(rows):
        print(line)
    for line in comparison_lines(rows):
        print(line)


def _within(ratio: float) -> str:
    limit = f"{REGRESSION_TOLERANCE:.0%}"
    return f"within {limit}" if ratio >= 1 - REGRESSION_TOLERANCE else f"NOT within {limit}"


def comparison_lines(rows: dict[str, tuple[float, float, float, float]]) -> list[str]:
    """Issue 13: each declared-flow row against its built-in row, and (with --baseline) each
    app row against the same row of the baseline revision, within 10% or not."""
    lines = []
    baselines = [name for name in rows if "@" in name]
    pairs = list(COMPARISONS)
    for base in baselines:
        row, _, _ = base.partition("@")
        pairs += [(row, base)]
        pairs += [(new, base) for new, old in COMPARISONS if old == row]
    for declared, builtin in pairs:
        if declared not in rows or builtin not in rows:
            continue
        new, old = rows[declared], rows[builtin]
        rps, per_cpu = new[0] / old[0], new[3] / old[3]
        lines.append(
            f"{declared} vs {builtin}: req/s {rps:.2f}x ({_within(rps)}), "
            f"req/CPU-s {per_cpu:.2f}x ({_within(per_cpu)}), "
            f"p99 {new[2]:.2f} vs {old[2]:.2f} ms"
        )
    return lines


def target_lines(rows: dict[str, tuple[float, float, float, float]]) -> list[str]:
    """Issue #5's targets for the app under its production server, met or not."""
    app = rows.get("app-granian")
    if app is None:
        return []
    lines = []
    for peer, target in TARGETS.items():
        if peer in rows:
            ratio = app[0] / rows[peer][0]
            verdict = "met" if ratio >= target else "NOT met"
            lines.append(f"target >= {target}x {peer}: {ratio:.2f}x, {verdict}")
    verdict = "met" if app[2] <= P99_TARGET_MS else "NOT met"
    lines.append(f"target p99 <= {P99_TARGET_MS:.0f} ms: {app[2]:.2f} ms, {verdict}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
