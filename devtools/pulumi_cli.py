"""The Pulumi CLI this project runs: `pulumi` from PATH when compatible, else one built from Go.

`python -m devtools.pulumi_cli build` (what `nox -s pulumi-cli` runs) builds, once, the pinned
Pulumi CLI and its Python language host from their Go modules into
`.cache/pulumi/v<version>/bin/`, in a throwaway Go module, and installs this project's own
`pulumi-language-python-exec` and `pulumi-resource-pulumi-python` beside them. No prebuilt
binary is downloaded. The last line printed is the bin folder's absolute path.

`engine_env()` is the hermetic environment every job and test runs the engine in: `PULUMI_HOME`
and a `file://` backend under `.cache/`, a passphrase secrets provider, no update checks and no
plugin downloads (the `python` language and `pulumi-python` provider plugins are bundled: the CLI
finds them next to itself).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The CLI release built here. PyPI's newest Python SDK is the pinned 3.272.0 and the Go module
# proxy serves no pkg/v3 3.272 or 3.273, so the CLI is the nearest newer release on the same
# 3.27x line (a CLI newer than the SDK is the supported direction).
PULUMI_VERSION = "3.274.0"
# Pulumi's Python language host is the nested Go module MODULE_LANGUAGE_HOST, which has no tags;
# the Go module proxy these machines reach refuses it at every pseudo-version (403 "This module
# version is not available"). Where a proxy serves it, name the pseudo-version of the commit behind
# the release in PULUMI_LANGUAGE_HOST_VERSION and it is built from Go like the CLI; otherwise the
# project's own host (pulumi_scripts/pulumi_language_python.py, the same gRPC protocol) is
# installed in its place, running in a small virtualenv of its own with the pinned Python SDK.
LANGUAGE_HOST_VERSION_ENV = "PULUMI_LANGUAGE_HOST_VERSION"
HOST_SDK_REQUIREMENT = "pulumi==3.272.0"
MODULE_PKG = "github.com/pulumi/pulumi/pkg/v3"
MODULE_SDK = "github.com/pulumi/pulumi/sdk/v3"
MODULE_LANGUAGE_HOST = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
VERSION_SYMBOL = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
# The oldest CLI this project's tests and jobs accept from PATH: the pinned Python SDK's version.
MIN_VERSION = (3, 272, 0)

SCRIPTS = (
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
    "pulumi_language_python.py",
)
SCRIPTS_DIR = Path(__file__).resolve().parent / "pulumi_scripts"
CLI_PACKAGE = f"{MODULE_PKG}/cmd/pulumi"
EXECUTABLES = ("pulumi", "pulumi-language-python")
# Only encrypts the secrets of stacks under .cache/ (the emulator's throwaway credentials and the
# local stack's sample passwords); a real stack uses its own passphrase or a cloud secrets
# provider. Documented in docs/real-engine.md.
LOCAL_PASSPHRASE = "local-stack-passphrase"  # noqa: S105
# What a cold build costs on the project's 2-core machines (measured; shown before building).
COLD_BUILD_ESTIMATE = (
    "about 5 minutes and 1.4 GB of Go modules on 2 idle cores (14 on a busy machine); seconds once "
    "Go's caches have it"
)


class CliUnavailable(RuntimeError):
    """Neither a compatible `pulumi` on PATH nor Go to build one."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`v3.274.0` (or `3.274.0-dev`) -> (3, 274, 0); None when it is not a version."""
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def is_compatible(version: tuple[int, int, int] | None) -> bool:
    return version is not None and version[0] == MIN_VERSION[0] and version >= MIN_VERSION


def cli_version(pulumi: Path | str) -> tuple[int, int, int] | None:
    """What `pulumi version` says, or None when it cannot run."""
    try:
        out = subprocess.run(  # noqa: S603 - a path we chose or found on PATH
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(out.stdout) if out.returncode == 0 else None


def bin_dir(project_dir: Path = ROOT) -> Path:
    return project_dir / ".cache" / "pulumi" / f"v{PULUMI_VERSION}" / "bin"


def built_is_complete(folder: Path) -> bool:
    """Both binaries and both scripts are there, and the CLI reports the pinned version."""
    needed = [folder / name for name in (*EXECUTABLES, *SCRIPTS)]
    if not all(path.is_file() and os.access(path, os.X_OK) for path in needed):
        return False
    return cli_version(folder / "pulumi") == parse_version(PULUMI_VERSION)


def on_path_cli() -> Path | None:
    """`pulumi` from PATH when it is compatible and its language host is reachable."""
    found = shutil.which("pulumi")
    if not found:
        return None
    path = Path(found)
    if not is_compatible(cli_version(path)):
        return None
    host = path.parent / "pulumi-language-python"
    if not host.exists() and not shutil.which("pulumi-language-python"):
        return None
    return path.parent


def find_cli(project_dir: Path = ROOT) -> Path | None:
    """The bin folder of the CLI to run: PATH's when compatible, else the cached build."""
    on_path = on_path_cli()
    if on_path is not None:
        return on_path
    cached = bin_dir(project_dir)
    return cached if built_is_complete(cached) else None


# -- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildPlan:
    """Where the throwaway Go module and the binaries go."""

    module_dir: Path
    bin_dir: Path

    @classmethod
    def for_project(cls, project_dir: Path) -> BuildPlan:
        folder = bin_dir(project_dir)
        return cls(module_dir=folder.parent / "gomod", bin_dir=folder)


def go_mod_text(language_host_version: str | None = None) -> str:
    """A module that requires the CLI and the SDK (and optionally the language host).

    `go install pkg/v3/cmd/pulumi@v` is refused because pkg/v3's go.mod has `replace`
    directives; a dependency's replace lines are ignored, so building from a module of our own
    works. The SDK is pinned to the same release so the pair compiles together.
    """
    host = f"\t{MODULE_LANGUAGE_HOST} {language_host_version}\n" if language_host_version else ""
    return (
        "module twilio-voice.local/pulumi-cli-build\n\n"
        "go 1.26\n\n"
        "require (\n"
        f"\t{MODULE_PKG} v{PULUMI_VERSION}\n"
        f"\t{MODULE_SDK} v{PULUMI_VERSION}\n"
        f"{host}"
        ")\n"
    )


def tools_go_text(packages: Sequence[str]) -> str:
    imports = "\n".join(f'\t_ "{path}"' for path in packages)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def go_build_argv(go: str, binary: str, package: str, out: Path) -> list[str]:
    """The release's build settings: static, trimmed, with the version compiled in."""
    return [
        go,
        "build",
        "-v",
        "-trimpath",
        "-tags",
        "osusergo,grpcnotrace",
        "-ldflags",
        f"-X {VERSION_SYMBOL}=v{PULUMI_VERSION}",
        "-o",
        str(out / binary),
        package,
    ]


def go_env(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    env["CGO_ENABLED"] = "0"
    # go.mod and go.sum of the throwaway module are completed by the build itself.
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    return env


def install_scripts(target: Path, source: Path = SCRIPTS_DIR) -> None:
    """Copy the helper scripts next to the binaries, executable."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SCRIPTS:
        dest = target / name
        shutil.copyfile(source / name, dest)
        dest.chmod(0o755)


HOST_WRAPPER = """#!/bin/sh
# pulumi-language-python: the project's own Python language host (see pulumi_language_python.py
# beside this file), run in its own virtualenv. Installed by devtools/pulumi_cli.py.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../host-venv/bin/python" -u "$here/pulumi_language_python.py" "$@"
"""


def install_python_host(bin_folder: Path, say: Say) -> None:
    """The language host stand-in: a wrapper script and a virtualenv with the pinned SDK."""
    venv = bin_folder.parent / "host-venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import grpc, pulumi.runtime.proto.language_pb2_grpc"]
    if not (python.exists() and subprocess.run(probe, capture_output=True).returncode == 0):  # noqa: S603
        say(f"Creating the language host's virtualenv ({HOST_SDK_REQUIREMENT}) in {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        uv = shutil.which("uv")
        if uv:
            subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)  # noqa: S603
            install = [uv, "pip", "install", "-q", "-p", str(python), HOST_SDK_REQUIREMENT]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
            install = [str(python), "-m", "pip", "install", "-q", HOST_SDK_REQUIREMENT]
        subprocess.run(install, check=True)  # noqa: S603
    wrapper = bin_folder / "pulumi-language-python"
    wrapper.write_text(HOST_WRAPPER)
    wrapper.chmod(0o755)


Say = Callable[[str], None]


def _stream_build(argv: Sequence[str], cwd: Path, env: Mapping[str, str], say: Say) -> None:
    """Run one `go build -v`, printing a progress line every 100 packages compiled."""
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - argv built above from fixed parts
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    packages = 0
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-30:], line]
        if line.startswith("go: downloading"):
            continue
        packages += 1
        if packages % 100 == 0:
            say(f"  ... {packages} packages compiled ({time.monotonic() - started:.0f} s)")
    if proc.wait() != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv), "\n".join(tail))


def build(project_dir: Path = ROOT, go: str | None = None, say: Say = print) -> Path:
    """Build the pinned CLI (and the language host) into `.cache/`; return the bin folder."""
    plan = BuildPlan.for_project(project_dir)
    if built_is_complete(plan.bin_dir):
        install_scripts(plan.bin_dir)  # a changed script is picked up without a rebuild
        say(f"Pulumi CLI v{PULUMI_VERSION} already built in {plan.bin_dir}")
        return plan.bin_dir
    go = go or shutil.which("go")
    if not go:
        raise CliUnavailable(install_advice())
    host_version = os.environ.get(LANGUAGE_HOST_VERSION_ENV, "").strip() or None
    packages = {"pulumi": CLI_PACKAGE}
    if host_version:
        packages["pulumi-language-python"] = MODULE_LANGUAGE_HOST
    say(f"Building Pulumi CLI v{PULUMI_VERSION} from its Go modules ({COLD_BUILD_ESTIMATE})")
    say(f"Go module: {plan.module_dir}")
    plan.module_dir.mkdir(parents=True, exist_ok=True)
    (plan.module_dir / "go.mod").write_text(go_mod_text(host_version))
    (plan.module_dir / "tools.go").write_text(tools_go_text(list(packages.values())))
    staging = plan.bin_dir.with_name("bin.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = go_env(os.environ)
    for binary, package in packages.items():
        say(f"go build {package}")
        started = time.monotonic()
        _stream_build(go_build_argv(go, binary, package, staging), plan.module_dir, env, say)
        say(f"  built {binary} in {time.monotonic() - started:.0f} s")
    install_scripts(staging)
    if not host_version:
        say("Installing the project's Python language host (Pulumi's Go module for it is not")
        say(f"served here; set {LANGUAGE_HOST_VERSION_ENV} to build it from Go instead)")
        install_python_host(staging, say)
    version = cli_version(staging / "pulumi")
    if version != parse_version(PULUMI_VERSION):
        raise RuntimeError(f"the built CLI reports version {version}, not v{PULUMI_VERSION}")
    shutil.rmtree(plan.bin_dir, ignore_errors=True)
    staging.rename(plan.bin_dir)
    return plan.bin_dir


def install_advice() -> str:
    return (
        "The Pulumi CLI is not installed and Go is not available to build it. Install the "
        "Pulumi CLI (https://www.pulumi.com/docs/install/, version "
        f"{'.'.join(map(str, MIN_VERSION))} or newer, with its Python language host), or install "
        "Go 1.26+ and run `nox -s pulumi-cli`, which builds it from its Go modules into "
        f".cache/pulumi/v{PULUMI_VERSION}/bin/ ({COLD_BUILD_ESTIMATE}). Then rerun this command."
    )


def ensure_cli(project_dir: Path = ROOT, say: Say = print) -> Path:
    """The bin folder of a usable CLI, building it first when it is missing and Go is there."""
    found = find_cli(project_dir)
    if found is not None:
        return found
    return build(project_dir, say=say)


# -- running the engine ------------------------------------------------------------------------


def engine_env(
    bin_folder: Path,
    state_dir: Path,
    base: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
) -> dict[str, str]:
    """A hermetic, offline environment for `pulumi` with a file backend at `state_dir`."""
    env = dict(os.environ if base is None else base)
    state_dir.mkdir(parents=True, exist_ok=True)
    home = home or bin_folder.parent / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "PATH": os.pathsep.join([str(bin_folder), env.get("PATH", "")]),
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": f"file://{state_dir}",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_COPILOT_ENABLED": "false",
        }
    )
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", LOCAL_PASSPHRASE)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.pulumi_cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project-dir", type=Path, default=ROOT)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "build", parents=[common], help="build the pinned CLI into .cache/ (reused when present)"
    )
    sub.add_parser(
        "find", parents=[common], help="print the bin folder of the CLI the project would run"
    )
    sub.add_parser(
        "ensure", parents=[common], help="find the CLI, building it when missing (jobs, tests)"
    )
    args = parser.parse_args(argv)
    project_dir: Path = args.project_dir.resolve()
    try:
        if args.command == "build":
            folder = build(project_dir)
        elif args.command == "ensure":
            folder = ensure_cli(project_dir)
        else:
            found = find_cli(project_dir)
            if found is None:
                print(install_advice(), file=sys.stderr)
                return 1
            folder = found
    except CliUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(
            f"go build failed (exit {err.returncode}); last lines:\n{err.output}", file=sys.stderr
        )
        return 1
    print(folder.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
