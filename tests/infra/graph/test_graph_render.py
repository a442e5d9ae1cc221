"""infra.graph.render: Mermaid text drawn by the real Mermaid in headless Chromium."""

from __future__ import annotations

import os
import stat
import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from infra.graph.render import (
    RenderError,
    check,
    find_chromium,
    find_mermaid_js,
    render,
)

ROOT = Path(__file__).resolve().parents[3]

FLOWCHART = """flowchart LR
  number["+1 415 555 0100"] --> menu{Main menu}
  menu -->|1| sales[Sales queue]
  menu -->|2| support[Support]
  support --> voicemail[(Voicemail)]
"""


@pytest.fixture(scope="session")
def tools() -> tuple[str, Path]:
    """Chromium and mermaid.min.js, found as the product finds them (before env scrubbing)."""
    try:
        return find_chromium(os.environ), find_mermaid_js(os.environ, ROOT)
    except RenderError as e:
        # CI installs both (.ci/run: apt chromium; nox tests: npm ci): missing there is a bug.
        if os.environ.get("CI"):
            pytest.fail(f"rendering needs Chromium and Mermaid: {e}")
        pytest.skip(f"rendering needs Chromium and Mermaid: {e}")


def test_flowchart_renders_to_an_svg_document(tools: tuple[str, Path]) -> None:
    chromium, mermaid_js = tools
    svg = render(FLOWCHART, "svg", chromium=chromium, mermaid_js=mermaid_js)
    assert svg.startswith(b"<svg")
    # A standalone .svg must be XML, not the HTML serialization Mermaid returns.
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg.decode()
    for label in ("+1 415 555 0100", "Main menu", "Sales queue", "Voicemail"):
        assert label in text


def test_flowchart_renders_to_a_png_of_the_diagrams_size(tools: tuple[str, Path]) -> None:
    chromium, mermaid_js = tools
    png = render(FLOWCHART, "png", chromium=chromium, mermaid_js=mermaid_js)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 2000
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert width > 300
    assert height > 100


def test_a_syntax_error_carries_mermaids_parse_message(tools: tuple[str, Path]) -> None:
    chromium, mermaid_js = tools
    broken = "flowchart LR\n  a --> b\n  b --> --> c\n"
    with pytest.raises(RenderError, match="Parse error on line 3") as raised:
        check(broken, chromium=chromium, mermaid_js=mermaid_js)
    assert "Mermaid could not parse the diagram" in str(raised.value)
    with pytest.raises(RenderError, match="Parse error on line 3"):
        render(broken, "svg", chromium=chromium, mermaid_js=mermaid_js)


def test_check_accepts_a_valid_diagram(tools: tuple[str, Path]) -> None:
    chromium, mermaid_js = tools
    check(FLOWCHART, chromium=chromium, mermaid_js=mermaid_js)


def test_script_tags_and_quotes_in_the_text_stay_text(tools: tuple[str, Path]) -> None:
    chromium, mermaid_js = tools
    hostile = """flowchart LR
  %% "</script><script>document.body.innerHTML = ''</script>
  a["O'Brien & #quot;Sons#quot; </script><script>alert(1)</script> <!-- x"] --> b[After]
"""
    text = render(hostile, "svg", chromium=chromium, mermaid_js=mermaid_js).decode()
    assert 'O\'Brien &amp; "Sons"' in text
    assert "After" in text
    assert "<script" not in text


def test_a_file_that_is_not_mermaid_says_so(tools: tuple[str, Path], tmp_path: Path) -> None:
    chromium, _ = tools
    fake = tmp_path / "mermaid.min.js"
    fake.write_text("window.notMermaid = 1;\n")
    with pytest.raises(RenderError, match="did not define `mermaid`"):
        render(FLOWCHART, "svg", chromium=chromium, mermaid_js=fake)


def _executable(path: Path, script: str) -> Path:
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_chromium_gives_install_advice(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="Chromium not found") as raised:
        find_chromium({"PATH": str(tmp_path)})
    assert "apt-get install chromium" in str(raised.value)
    assert "TWILIO_VOICE_CHROMIUM" in str(raised.value)
    with pytest.raises(RenderError, match="TWILIO_VOICE_CHROMIUM=/nowhere/chrome"):
        find_chromium({"PATH": str(tmp_path), "TWILIO_VOICE_CHROMIUM": "/nowhere/chrome"})


def test_render_without_chromium_anywhere_gives_install_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="apt-get install chromium"):
        render(FLOWCHART, "svg", mermaid_js=tmp_path / "unused.js")


def test_a_missing_mermaid_file_gives_install_advice(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"npm install mermaid@12\.3\.0"):
        render(FLOWCHART, "svg", chromium="/bin/false", mermaid_js=tmp_path / "mermaid.min.js")


def test_chromium_is_found_by_variable_then_path(tmp_path: Path) -> None:
    chrome = _executable(tmp_path / "google-chrome-stable", "#!/bin/sh\n")
    custom = _executable(tmp_path / "my-chrome", "#!/bin/sh\n")
    assert find_chromium({"PATH": str(tmp_path)}) == str(chrome)
    env = {"PATH": "/nowhere", "TWILIO_VOICE_CHROMIUM": str(custom)}
    assert find_chromium(env) == str(custom)


def test_missing_mermaid_gives_install_advice(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="Mermaid not found") as raised:
        find_mermaid_js({}, tmp_path)
    assert "npm install mermaid@12.3.0" in str(raised.value)
    assert "TWILIO_VOICE_MERMAID_JS" in str(raised.value)
    with pytest.raises(RenderError, match=r"TWILIO_VOICE_MERMAID_JS=/nowhere/m\.js"):
        find_mermaid_js({"TWILIO_VOICE_MERMAID_JS": "/nowhere/m.js"}, tmp_path)


def test_mermaid_is_found_by_variable_then_in_a_parent_folder(tmp_path: Path) -> None:
    installed = tmp_path / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    installed.parent.mkdir(parents=True)
    installed.write_text("")
    nested = tmp_path / "estate" / "infra"
    nested.mkdir(parents=True)
    assert find_mermaid_js({}, nested) == installed.resolve()
    other = tmp_path / "m.js"
    other.write_text("")
    assert find_mermaid_js({"TWILIO_VOICE_MERMAID_JS": str(other)}, nested) == other.resolve()


def test_a_hung_chromium_is_killed_with_its_children(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    hung = _executable(
        tmp_path / "chromium",
        f"#!/bin/sh\nPATH=/usr/bin:/bin\nsleep 60 &\necho $! > {child_pid}\nwait\n",
    )
    mermaid_js = tmp_path / "mermaid.min.js"
    mermaid_js.write_text("")
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"did not finish .* within 1 s"):
        render(FLOWCHART, "svg", chromium=str(hung), mermaid_js=mermaid_js, timeout=1)
    assert time.monotonic() - started < 10
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for a PID 1 that does not reap."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
