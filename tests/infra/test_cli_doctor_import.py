"""`twilio-voice doctor` and `twilio-voice import` are registered and parse their arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import build_parser, main


def test_help_lists_doctor_and_import() -> None:
    text = build_parser().format_help()
    assert "doctor" in text
    assert "import" in text


def test_doctor_without_a_stack_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--stack", "prod", "--project-dir", str(tmp_path)]) == 2
    assert "cannot read the stack" in capsys.readouterr().err


def test_doctor_formats_are_checked() -> None:
    assert main(["doctor", "--stack", "prod", "--format", "yaml"]) == 2


def test_import_without_a_project_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["import", "--stack", "prod", "--project-dir", str(tmp_path), "--public-base-url", "x"]
    )
    assert code == 2
    assert "no Pulumi.yaml here" in capsys.readouterr().err
