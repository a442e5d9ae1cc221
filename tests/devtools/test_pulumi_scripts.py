"""The Pulumi CLI build: version rules, the Go module, and the three scripts installed beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from devtools import pulumi_cli

SCRIPTS = pulumi_cli.SCRIPTS_DIR


# -- versions and the Go module -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v3.274.0\n", (3, 274, 0)),
        ("3.272.0-dev.0", (3, 272, 0)),
        ("warning: a newer version...\nv3.280.1", (3, 280, 1)),
        ("", None),
        ("pulumi", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert pulumi_cli.parse_version(text) == version


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ((3, 272, 0), True),
        ((3, 280, 0), True),
        ((3, 271, 9), False),
        ((4, 0, 0), False),
        (None, False),
    ],
)
def test_compatible_means_the_same_major_and_at_least_the_sdk(
    version: tuple[int, int, int] | None, ok: bool
) -> None:
    assert pulumi_cli.is_compatible(version) is ok


def test_the_go_module_pins_the_cli_and_the_sdk_to_one_release() -> None:
    text = pulumi_cli.go_mod_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 v{pulumi_cli.PULUMI_VERSION}" in text
    assert f"github.com/pulumi/pulumi/sdk/v3 v{pulumi_cli.PULUMI_VERSION}" in text
    assert "pulumi-language-python" not in text
    pinned = pulumi_cli.go_mod_text("v3.0.0-20261103203023-0123456789ab")
    assert "pulumi-language-python/v3 v3.0.0-20261103203023-0123456789ab" in pinned
    tools = pulumi_cli.tools_go_text([pulumi_cli.CLI_PACKAGE])
    assert tools.startswith("//go:build tools")
    assert '_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"' in tools


def test_the_build_uses_the_release_settings(tmp_path: Path) -> None:
    argv = pulumi_cli.go_build_argv("go", "pulumi", pulumi_cli.CLI_PACKAGE, tmp_path)
    assert argv[:2] == ["go", "build"]
    assert "-trimpath" in argv
    assert argv[argv.index("-tags") + 1] == "osusergo,grpcnotrace"
    assert argv[argv.index("-ldflags") + 1] == (
        f"-X {pulumi_cli.VERSION_SYMBOL}=v{pulumi_cli.PULUMI_VERSION}"
    )
    assert argv[-1] == pulumi_cli.CLI_PACKAGE
    env = pulumi_cli.go_env({"GOFLAGS": "-p=2"})
    assert env["CGO_ENABLED"] == "0"
    assert env["GOFLAGS"] == "-p=2 -mod=mod"


def test_engine_env_is_hermetic(tmp_path: Path) -> None:
    env = pulumi_cli.engine_env(tmp_path / "bin", tmp_path / "state", {"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "bin")
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / 'state'}"
    assert env["PULUMI_HOME"] == str(tmp_path / "home")
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == pulumi_cli.LOCAL_PASSPHRASE
    # --preview-only refuses to run when confirmations are skipped by the environment
    assert "PULUMI_SKIP_CONFIRMATIONS" not in env
    own = pulumi_cli.engine_env(tmp_path / "bin", tmp_path / "s", {"PULUMI_CONFIG_PASSPHRASE": "x"})
    assert own["PULUMI_CONFIG_PASSPHRASE"] == "x"


def fake_cli(folder: Path, version: str, with_host: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cli = folder / "pulumi"
    cli.write_text(f"#!/bin/sh\necho {version}\n")
    cli.chmod(0o755)
    if with_host:
        host = folder / "pulumi-language-python"
        host.write_text("#!/bin/sh\nexit 0\n")
        host.chmod(0o755)
    return folder


def test_a_compatible_cli_on_path_wins_over_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = fake_cli(tmp_path / "path-bin", "v3.280.0")
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    assert pulumi_cli.find_cli(tmp_path / "project") == on_path


@pytest.mark.parametrize(
    ("version", "with_host"), [("v3.100.0", True), ("v3.280.0", False), ("garbage", True)]
)
def test_an_old_or_hostless_cli_on_path_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, with_host: bool
) -> None:
    on_path = fake_cli(tmp_path / "path-bin", version, with_host)
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    assert pulumi_cli.find_cli(tmp_path / "project") is None


def test_an_incomplete_cache_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    cache = pulumi_cli.bin_dir(tmp_path)
    fake_cli(cache, f"v{pulumi_cli.PULUMI_VERSION}")
    assert pulumi_cli.find_cli(tmp_path) is None  # the scripts are missing
    pulumi_cli.install_scripts(cache)
    for name in pulumi_cli.SCRIPTS:
        assert os.access(cache / name, os.X_OK)
    assert pulumi_cli.find_cli(tmp_path) == cache
    fake_cli(cache, "v3.273.0")  # a different build in the versioned folder: rebuild
    assert pulumi_cli.find_cli(tmp_path) is None


def test_without_pulumi_or_go_the_build_explains_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pulumi_cli.CliUnavailable, match="Install the Pulumi CLI"):
        pulumi_cli.build(tmp_path)
    assert pulumi_cli.main(["find", "--project-dir", str(tmp_path)]) == 1


# -- pulumi-language-python-exec ------------------------------------------------------------


def exec_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "pulumi-language-python-exec"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_exec_script_help_and_a_program_folder_without_main(tmp_path: Path) -> None:
    assert exec_script("--help").returncode == 0
    result = exec_script("--monitor", "127.0.0.1:1", str(tmp_path))
    assert result.returncode != 0
    assert "has no __main__.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_exec_script_ignores_flags_it_does_not_know() -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        import importlib.machinery
        import importlib.util

        loader = importlib.machinery.SourceFileLoader(
            "exec_script", str(SCRIPTS / "pulumi-language-python-exec")
        )
        spec = importlib.util.spec_from_loader("exec_script", loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        args = module.parse_args(
            ["--monitor", "m", "--dry_run", "true", "--future_flag=x", "--stack", "s", "prog"]
        )
    finally:
        sys.path.remove(str(SCRIPTS))
    assert (args.monitor, args.stack, args.program, args.dry_run) == ("m", "s", "prog", "true")
    assert args.unknown == ["--future_flag=x"]


# -- pulumi-resource-pulumi-python ----------------------------------------------------------


def test_dynamic_provider_script_finds_a_relative_virtualenv_upwards(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "infra" / "deep").mkdir(parents=True)
    (project / "venv").symlink_to(sys.prefix, target_is_directory=True)
    proc = subprocess.Popen(
        [str(SCRIPTS / "pulumi-resource-pulumi-python"), "127.0.0.1:1"],
        cwd=project / "infra" / "deep",
        env={**os.environ, "PULUMI_RUNTIME_VIRTUALENV": "venv"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr else ""  # Pulumi's host is up
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_dynamic_provider_script_names_a_missing_virtualenv(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SCRIPTS / "pulumi-resource-pulumi-python"), "127.0.0.1:1"],
        cwd=tmp_path,
        env={**os.environ, "PULUMI_RUNTIME_VIRTUALENV": "no-such-venv"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "no virtualenv 'no-such-venv'" in result.stderr
    assert "python3 -m venv no-such-venv" in result.stderr


# -- the language host ----------------------------------------------------------------------


def test_language_host_serves_the_protocol(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "pulumi_language_python.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = language_pb2_grpc.LanguageRuntimeStub(channel)
            info = stub.GetPluginInfo(plugin_pb2.PluginInfo(), timeout=10)
            assert info.version == pulumi_cli.PULUMI_VERSION
            assert (
                stub.GetRequiredPlugins(
                    language_pb2.GetRequiredPluginsRequest(), timeout=10
                ).plugins
                == []
            )
            options = struct_pb2.Struct()
            options.update({"virtualenv": "missing-venv"})
            program = language_pb2.ProgramInfo(
                root_directory=str(tmp_path),
                program_directory=str(tmp_path),
                entry_point=".",
                options=options,
            )
            run = stub.Run(
                language_pb2.RunRequest(project="p", stack="s", info=program), timeout=30
            )
            assert "missing-venv" in run.error
            assert "python3 -m venv" in run.error
    finally:
        proc.terminate()
        proc.wait(timeout=10)
