"""Hostile stack files under the real CLI: refused with a short error, never expanded or hung."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import make_project, stack_numbers

from devtools.emulator_testing import running_emulator

pytestmark = pytest.mark.engine

# Nine levels of nine aliases: 387,420,489 strings once expanded, 700 bytes as written.
LAUGHS = "".join(
    f"  twilio-voice:x{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)


def test_an_alias_bomb_in_the_stack_file_is_refused_by_the_engine(tmp_path: Path) -> None:
    with running_emulator(numbers=stack_numbers("local")) as emu:
        project = make_project(tmp_path, emu, "local")
        text = project.stack_file.read_text().replace("config:\n", "config:\n" + LAUGHS, 1)
        project.stack_file.write_text(text)
        result = project.engine.run("preview", "--stack", "local", check=False, timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "alias" in output.lower(), output[:2000]
        assert len(output) < 5_000, "the refusal expanded the document"


def test_a_4400_digit_integer_in_the_spec_stops_the_program_with_a_short_error(
    tmp_path: Path,
) -> None:
    with running_emulator(numbers=stack_numbers("local")) as emu:
        project = make_project(tmp_path, emu, "local")
        text = project.stack_file.read_text()
        text = text.replace("priority: 10\n", "priority: " + "7" * 4400 + "\n", 1)
        project.stack_file.write_text(text)
        result = project.engine.run("preview", "--stack", "local", check=False, timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "Traceback" not in output, output[-3000:]
        assert "7" * 100 not in output, "the error repeats the whole value"
