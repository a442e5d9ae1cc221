"""`python -m emulator --port 4010 [--state .emulator.json] [--seed-numbers N] [faults...]`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from werkzeug.serving import make_server

from emulator.app import Emulator
from emulator.config import ADMIN_TOKEN_ENV, DEFAULT_AUTH_TOKEN, DEFAULT_HOST, EmulatorConfig
from emulator.faults import FaultConfig
from emulator.numbers import DEFAULT_NUMBERS, generated_numbers, numbers_in_files, stack_files
from emulator.store import Store

# The repository root when the project is installed editable (where the stack files live).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Local Twilio Voice REST emulator. Development only: it serves published "
        "default credentials and an unauthenticated admin API; keep it on loopback.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}); any address beyond loopback "
        f"needs {ADMIN_TOKEN_ENV} and is for development only",
    )
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument(
        "--account-sid", help="account SID to serve (default: TWILIO_ACCOUNT_SID or a fixed one)"
    )
    parser.add_argument("--state", type=Path, help="persist state to this JSON file")
    parser.add_argument(
        "--seed-file",
        type=Path,
        action="append",
        default=[],
        help="add every E.164 number found in this file (stack YAML, plain list); repeatable. "
        "Default: Pulumi.*.yaml in the current directory and the project root",
    )
    parser.add_argument("--seed-numbers", type=int, default=0, help="also own N generated numbers")
    parser.add_argument("--record", type=Path, help="append request/response JSON lines here")
    parser.add_argument("--api-key", action="append", default=[], help="SK...:secret; repeatable")
    parser.add_argument("--fault-seed", type=int, help="seed for deterministic faults")
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--rate-500", type=float, default=0.0)
    parser.add_argument("--rate-503", type=float, default=0.0)
    parser.add_argument("--rate-lost", type=float, default=0.0)
    parser.add_argument("--lost-mode", choices=("500", "drop"), default="500")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--fault-methods", default="", help="comma list, e.g. POST,DELETE")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser.parse_args(argv)


def seed_list(args: argparse.Namespace, cwd: Path) -> list[str]:
    files = list(args.seed_file) or stack_files(cwd, PROJECT_ROOT)
    return [*DEFAULT_NUMBERS, *numbers_in_files(files), *generated_numbers(args.seed_numbers)]


def build(args: argparse.Namespace, cwd: Path) -> Emulator:
    config = EmulatorConfig.from_env()
    keys = dict(config.api_keys)
    for pair in args.api_key:
        sid, _, secret = pair.partition(":")
        keys[sid] = secret
    config = replace(
        config,
        account_sid=args.account_sid or config.account_sid,
        api_keys=keys,
        record_path=args.record or config.record_path,
        bind_host=args.host,
    )
    faults = FaultConfig(
        rate_429=args.rate_429,
        rate_500=args.rate_500,
        rate_503=args.rate_503,
        rate_lost=args.rate_lost,
        lost_mode=args.lost_mode,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        retry_after=args.retry_after,
        seed=args.fault_seed,
        methods=tuple(m.strip().upper() for m in args.fault_methods.split(",") if m.strip()),
    )
    store = Store(config.account_sid, path=args.state)
    return Emulator(config, store=store, faults=faults, numbers=seed_list(args, cwd))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        emulator = build(args, Path.cwd())
        server = make_server(args.host, args.port, emulator, threaded=True)
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 2
    config = emulator.config
    if config.beyond_loopback:
        print(
            f"emulator: warning: listening on {args.host}, beyond loopback. Development only: "
            f"anyone who reaches this port can use the Twilio API with the emulator's "
            f"credentials and the admin API with {ADMIN_TOKEN_ENV}",
            file=sys.stderr,
            flush=True,
        )
    token_note = (
        config.auth_token if config.auth_token == DEFAULT_AUTH_TOKEN else "(from TWILIO_AUTH_TOKEN)"
    )
    numbers = len(emulator.store.tables["incoming_phone_number"])
    # The first line is machine-read by devtools.emulator_testing (port 0 -> the bound port).
    print(f"emulator listening on http://{args.host}:{server.port}", flush=True)
    print(f"  TWILIO_API_BASE_URL=http://{args.host}:{server.port}", flush=True)
    print(f"  account SID: {config.account_sid}  auth token: {token_note}", flush=True)
    print(f"  owned numbers: {numbers}; state file: {args.state or '(memory only)'}", flush=True)
    print(f"  admin API: http://{args.host}:{server.port}/_admin", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
