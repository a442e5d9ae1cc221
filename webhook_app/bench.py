"""Side-by-side webhook benchmark (``nox -s bench``): this app vs the peers in the bench folder.

Every server gets one core (``taskset -c 0``); ``wrk`` runs on the other core with 16
connections and the signed inbound-call webhook written by the bench folder's ``sign.py``.
Each server is first checked with the bench folder's ``check.py`` (expected TwiML, 403 on a bad
signature). Rounds are interleaved so drift on the machine hits every server alike.
"""

# ruff: noqa: S603, S607 (a developer tool that runs the benchmark servers and wrk from PATH)
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = "bench-token-0123456789abcdef"  # noqa: S105 (a fixed test token, as in run.sh)
_SERVER_CORE, _CLIENT_CORE = "0", "1"


@dataclass
class Server:
    """A server under test: how to start it and its measured rounds."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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


def write_lua(bench_dir: Path, work: Path, port: int) -> Path:
    """Run the bench folder's sign.py for this port's URL; return the post.lua it wrote."""
    target = work / f"sign-{port}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(bench_dir / "sign.py", target / "sign.py")
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": _base(port)}
    subprocess.run([sys.executable, "sign.py"], cwd=target, env=env, check=True)
    return target / "post.lua"


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
    all_servers = [
        Server(
            "app-granian",
            [
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
                "--no-access-log",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "webhook_app:get_app",
            ],
            Path.cwd(),
            app_env,
        ),
        Server(
            "app-gunicorn",
            [
                str(bindir / "gunicorn"),
                "--workers",
                "1",
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


def start(server: Server, log_dir: Path) -> subprocess.Popen[bytes]:
    server.port = server.port or free_port()
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    env = {
        **os.environ,
        **server.env,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": _base(server.port),
        "PORT": str(server.port),
    }
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
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": _base(server.port)}
    subprocess.run(
        [sys.executable, str(bench_dir / "check.py"), server.name, str(server.port)],
        cwd=bench_dir,
        env=env,
        check=True,
    )


def wrk(lua: Path, port: int, seconds: int, connections: int) -> str:
    argv = ["taskset", "-c", _CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--latency", "-s", str(lua), f"{_base(port)}/voice/inbound"]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("/work/shared/bench"))
    parser.add_argument("--express-dir", type=Path, default=Path(".cache/bench/seed_express"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", nargs="*", default=[], help="server names to run")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    chosen = servers(args.bench_dir.resolve(), work, args.express_dir.resolve(), args.only)
    for server in chosen:
        server.port = free_port()
    luas = {s.name: write_lua(args.bench_dir.resolve(), work, s.port) for s in chosen}
    for round_no in range(1, args.rounds + 1):
        for server in chosen:
            proc = start(server, work)
            try:
                check(args.bench_dir.resolve(), server)
                wrk(luas[server.name], server.port, args.warmup, args.connections)
                out = wrk(luas[server.name], server.port, args.seconds, args.connections)
                rps, p50, p99 = parse_wrk(out)
            finally:
                stop(proc)
            server.rps.append(rps)
            server.p50.append(p50)
            server.p99.append(p99)
            print(
                f"round {round_no} {server.name}: {rps:.0f} req/s p50 {p50:.2f} ms "
                f"p99 {p99:.2f} ms",
                flush=True,
            )
    report(chosen)
    print(f"(server logs in {work})")
    return 0


def report(chosen: Sequence[Server]) -> None:
    """The table: median of the rounds, and each app server's throughput ratio to each peer."""
    rows = {
        s.name: (statistics.median(s.rps), statistics.median(s.p50), max(s.p99)) for s in chosen
    }
    print(f"\n{'server':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, (rps, p50, p99) in rows.items():
        print(f"{name:<14}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    apps = [n for n in rows if n.startswith("app-")]
    peers = [n for n in rows if not n.startswith("app-")]
    for app in apps:
        ratios = ", ".join(f"{rows[app][0] / rows[p][0]:.2f}x {p}" for p in peers)
        print(f"{app}: {ratios}")


if __name__ == "__main__":
    raise SystemExit(main())
