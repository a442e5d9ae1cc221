"""A Pulumi language host for Python programs: what `pulumi-language-python` does, in Python.

Why this exists: Pulumi's own language host is the Go module
`github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3`, which has no tags and which
the Go module proxy reachable from this project's machines refuses at every version
(`go mod download ...@v3.0.0-<time>-<hash>` answers 403 "This module version is not
available"). The CLI itself builds from its modules; this host stands in for the one binary that
cannot be built, and does exactly that binary's job over the same gRPC protocol
(`pulumirpc.LanguageRuntime`): the CLI starts it, reads the port it prints, and asks it to run
the program (`Run`) or a policy pack (`RunPlugin`). The engine, state, previews, diffs, secrets,
policy evaluation and the dynamic-provider host are all Pulumi's own.

Run: `<python with the pulumi SDK> pulumi_language_python.py [flags] ENGINE_ADDRESS`. The
program and policy packs run in the virtualenv that Pulumi.yaml / PulumiPolicy.yaml names
(`runtime.options.virtualenv`), through `pulumi-language-python-exec` beside this file, as the
Go host runs them.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

HERE = Path(__file__).resolve().parent
EXEC_SCRIPT = HERE / "pulumi-language-python-exec"
VERSION = os.environ.get("PULUMI_LANGUAGE_PYTHON_VERSION", "3.274.0")
# pulumi-language-python-exec exits with this code when it already reported the error.
EXIT_REPORTED = 32


def virtualenv_python(info: language_pb2.ProgramInfo) -> str:
    """The interpreter of the virtualenv the project names, else python3 from PATH."""
    options = json_format.MessageToDict(info.options) if info.HasField("options") else {}
    venv = options.get("virtualenv")
    if not venv:
        return os.environ.get("PULUMI_PYTHON_CMD") or "python3"
    root = Path(info.root_directory or os.getcwd())
    path = Path(venv) if os.path.isabs(venv) else root / venv
    python = path / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(
            f"the virtualenv {path} named in {root}'s runtime options does not exist: create it "
            f"with `python3 -m venv {path} && {path}/bin/pip install -e .` (or `pulumi install`)"
        )
    return str(python)


def virtualenv_dir(python: str) -> str | None:
    parent = Path(python).parent.parent
    return str(parent) if (parent / "pyvenv.cfg").exists() else None


def program_target(info: language_pb2.ProgramInfo, legacy_program: str) -> str:
    """The folder or file to run: the entry point under the program directory."""
    if info.program_directory:
        entry = info.entry_point or "."
        return str(Path(info.program_directory, entry))
    return legacy_program or "."


def run_env(base: Mapping[str, str], python: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {**base, **extra}
    venv = virtualenv_dir(python)
    if venv:
        env["VIRTUAL_ENV"] = venv
        env["PULUMI_RUNTIME_VIRTUALENV"] = venv
        env["PATH"] = os.pathsep.join([str(Path(venv) / "bin"), env.get("PATH", "")])
    env.pop("PYTHONHOME", None)
    return env


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """The LanguageRuntime service for Python programs and policy packs."""

    def __init__(self, engine_address: str) -> None:
        self.engine_address = engine_address
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- the calls the CLI makes for `up`, `preview`, `refresh`, `destroy` --------------------

    def Handshake(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request: Any, context: grpc.ServicerContext) -> Any:
        # Dynamic providers use the bundled `pulumi-python` plugin; no package plugin is needed.
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.GetRequiredPackagesResponse()

    def About(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            python = virtualenv_python(request.info)
        except FileNotFoundError:
            python = sys.executable
        version = subprocess.run(  # noqa: S603 - the project's interpreter
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.GetProgramDependenciesResponse()

    def RuntimeOptionsPrompts(self, request: Any, context: grpc.ServicerContext) -> Any:
        return language_pb2.RuntimeOptionsResponse()

    def InstallDependencies(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """Check the virtualenv exists; installing into it is the project's job (README)."""
        try:
            virtualenv_python(request.info)
        except FileNotFoundError as err:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
        return iter(())

    def Run(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            python = virtualenv_python(request.info)
        except FileNotFoundError as err:
            return language_pb2.RunResponse(error=str(err))
        argv = [
            python,
            "-u",
            str(EXEC_SCRIPT),
            "--monitor",
            request.monitor_address,
            "--engine",
            self.engine_address,
            "--project",
            request.project,
            "--stack",
            request.stack,
            "--pwd",
            request.pwd,
            "--dry_run",
            "true" if request.dryRun else "false",
            "--parallel",
            str(request.parallel),
            "--organization",
            request.organization,
            "--root_directory",
            request.info.root_directory,
            program_target(request.info, request.program),
            *request.args,
        ]
        extra = {
            "PULUMI_CONFIG": json.dumps(dict(request.config)),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
            "PULUMI_PROJECT": request.project,
            "PULUMI_STACK": request.stack,
            "PULUMI_DRY_RUN": "true" if request.dryRun else "false",
            "PULUMI_ORGANIZATION": request.organization,
        }
        # The program's output goes where this host's goes: the CLI shows it.
        code = self._run_child(argv, run_env(os.environ, python, extra), request.pwd or None)
        if code == 0:
            return language_pb2.RunResponse()
        if code == EXIT_REPORTED:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

    def RunPlugin(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """Run a plugin written in Python (a policy pack), streaming its output back."""
        try:
            python = virtualenv_python(request.info)
        except FileNotFoundError as err:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(err))
        program = request.info.program_directory or request.program or request.pwd
        if request.kind == "analyzer":
            argv = [python, "-u", "-m", "pulumi.policy", *request.args, program]
        else:
            argv = [python, "-u", program, *request.args]
        extra = dict(item.split("=", 1) for item in request.env if "=" in item)
        proc = subprocess.Popen(  # noqa: S603 - the project's interpreter and plugin folder
            argv,
            cwd=request.pwd or None,
            env=run_env(os.environ, python, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        with self._lock:
            self._children.add(proc)
        # Two readers feed one queue; None marks the end of a stream.
        chunks: queue.Queue[Any] = queue.Queue()

        def pump(stream: Any, field: str) -> None:
            for data in iter(lambda: stream.read1(65536), b""):
                chunks.put(language_pb2.RunPluginResponse(**{field: data}))
            chunks.put(None)

        for stream, field in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            threading.Thread(target=pump, args=(stream, field), daemon=True).start()
        open_streams = 2
        try:
            while open_streams and context.is_active():
                try:
                    item = chunks.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is None:
                    open_streams -= 1
                else:
                    yield item
            yield language_pb2.RunPluginResponse(exitcode=proc.wait())
        finally:
            if proc.poll() is None:
                proc.terminate()
            with self._lock:
                self._children.discard(proc)

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.stop_children()
        return empty_pb2.Empty()

    # -- processes ---------------------------------------------------------------------------

    def _run_child(self, argv: list[str], env: Mapping[str, str], cwd: str | None) -> int:
        proc = subprocess.Popen(argv, env=dict(env), cwd=cwd)  # noqa: S603
        with self._lock:
            self._children.add(proc)
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._children.discard(proc)

    def stop_children(self) -> None:
        with self._lock:
            children = list(self._children)
        for proc in children:
            if proc.poll() is None:
                proc.terminate()


def main(argv: list[str]) -> int:
    # Go-style flags (-root=..., -tracing=..., -v=...) may precede the engine address, which
    # always comes last.
    positional = [arg for arg in argv if not arg.startswith("-")]
    engine_address = positional[-1] if positional else ""
    host = LanguageHost(engine_address)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        options=[
            ("grpc.max_receive_message_length", 400 * 1024 * 1024),
            ("grpc.max_send_message_length", 400 * 1024 * 1024),
        ],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The CLI reads the port from the first line of stdout.
    print(port, flush=True)

    def stop(signum: int, frame: Any) -> None:
        host.stop_children()
        server.stop(grace=None)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=_exit_with_parent, args=(host, server), daemon=True).start()
    server.wait_for_termination()
    return 0


def _exit_with_parent(host: LanguageHost, server: grpc.Server) -> None:
    """Stop when the CLI is gone (killed with SIGKILL, it cannot stop its plugins itself)."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    host.stop_children()
    server.stop(grace=None)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
