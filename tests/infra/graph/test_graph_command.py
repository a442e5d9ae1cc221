"""`twilio-voice graph`: the example stacks' pictures parse and render with the real Mermaid.

The acceptance test of the picture: the prod and local stacks' Mermaid text goes through
Mermaid 12 (node_modules/mermaid) in headless Chromium, which fails on any parse error (proved
below with a broken diagram). Without Chromium or Mermaid these tests skip, saying why, except
in CI (`CI` set), where they fail: .ci/run installs Chromium and `nox -s tests` runs `npm ci`.
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from infra.cli import main
from infra.commands.command import EXIT_ERROR, EXIT_OK
from infra.commands.graph import graph, markdown
from infra.graph.mermaid import mermaid
from infra.graph.render import (
    CHROMIUM_ENV,
    MERMAID_JS_ENV,
    RenderError,
    check,
    find_chromium,
    find_mermaid_js,
    render,
)
from infra.spec import load_environment

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "call-flows.md"
# The prod picture in the docs sits between these lines; UPDATE_DOCS=1 rewrites it.
DOC_BLOCK = re.compile(
    r"(<!-- graph: prod -->\n)(.*?)(<!-- /graph -->\n)",
    re.DOTALL,
)

HOSTILE = (
    'x"] --> evil["pwned <script>alert(1)</script> end subgraph %% #quot; | `t` '
    "{a} (b) [c] \\ Zürich ☎"
)


@pytest.fixture(scope="session")
def tools() -> tuple[str, Path]:
    """Chromium and mermaid.min.js, found as the product finds them (before env scrubbing)."""
    try:
        return find_chromium(os.environ), find_mermaid_js(os.environ, ROOT)
    except RenderError as e:
        if os.environ.get("CI"):
            pytest.fail(f"the graph tests need Chromium and Mermaid: {e}")
        pytest.skip(f"the graph tests need Chromium and Mermaid: {e}")


@pytest.fixture
def rendering(tools: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The command finds the same Chromium and Mermaid as the fixture (env is scrubbed per test)."""
    chromium, mermaid_js = tools
    monkeypatch.setenv(CHROMIUM_ENV, chromium)
    monkeypatch.setenv(MERMAID_JS_ENV, str(mermaid_js))
    return tools


def run_graph(stack: str, fmt: str, **kwargs: object) -> tuple[int, bytes, str]:
    out, err = io.BytesIO(), io.StringIO()
    code = graph(ROOT, stack, fmt=fmt, out=out, err=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("stack", ["prod", "local"])
def test_the_example_stacks_pictures_parse_with_the_real_mermaid(
    stack: str, tools: tuple[str, Path]
) -> None:
    code, text, err = run_graph(stack, "mermaid")
    assert (code, err) == (EXIT_OK, "")
    assert text.startswith(b"flowchart LR\n")
    chromium, mermaid_js = tools
    check(text.decode(), chromium=chromium, mermaid_js=mermaid_js)


def test_a_broken_diagram_fails_the_check(tools: tuple[str, Path]) -> None:
    # What the acceptance test above would see if mermaid() wrote an unquoted hostile label.
    chromium, mermaid_js = tools
    good = run_graph("local", "mermaid")[1].decode()
    broken = good.replace("\n  end\n", '\n    oops["a "quoted" label"]\n  end\n', 1)
    with pytest.raises(RenderError, match="Mermaid could not parse the diagram"):
        check(broken, chromium=chromium, mermaid_js=mermaid_js)


HOSTILE_ESTATE = """
public_base_url: https://voice.example.com
credentials: {account_sid: ACb0ebb1aee434f6076941fdae6a07a0d2}
numbers:
  - {e164: "+14155550100", call_flow: main}
call_flows:
  voicemail_boxes: {general: {}}
  flows:
    main:
      recording: {mode: record-from-answer, consent: "x"}
      start: {menu: main}
      menus:
        main:
          prompt: "x"
          options:
            - {digit: "1", label: "x", keywords: [x], action: {dial: {numbers: ["+14155550101"]}}}
            - {digit: "#", action: {hangup: "x"}}
            - {digit: "*", action: {voicemail: general}}
"""


def test_hostile_labels_parse_and_render_as_plain_text(rendering: tuple[str, Path]) -> None:
    raw = yaml.safe_load(HOSTILE_ESTATE)
    raw["numbers"][0]["friendly_name"] = HOSTILE[:64]
    flow = raw["call_flows"]["flows"]["main"]
    flow["recording"]["consent"] = HOSTILE
    menu = flow["menus"]["main"]
    menu["prompt"] = HOSTILE
    menu["options"][0]["label"] = HOSTILE[:100]
    menu["options"][0]["keywords"] = [HOSTILE]
    menu["options"][1]["action"]["hangup"] = HOSTILE
    text = mermaid(load_environment(raw, "dev", secrets_decrypted=False))
    chromium, mermaid_js = rendering
    svg = render(text, "svg", chromium=chromium, mermaid_js=mermaid_js).decode()
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    assert not root.findall(".//{http://www.w3.org/2000/svg}script")
    assert "<script" not in svg
    assert not any("evil" in el.get("id", "") for el in root.iter())
    # The label arrives whole, as text (Mermaid decodes the entity codes).
    assert "alert(1)" in svg
    assert "Zürich ☎" in svg


def test_svg_and_png(rendering: tuple[str, Path], tmp_path: Path) -> None:
    code, svg, err = run_graph("prod", "svg")
    assert (code, err) == (EXIT_OK, "")
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "+14155550100" in svg.decode()
    png = tmp_path / "prod.png"
    code, printed, err = run_graph("prod", "png", output=png)
    assert (code, printed, err) == (EXIT_OK, b"", "")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_markdown_is_a_heading_and_a_mermaid_fence() -> None:
    code, text, err = run_graph("prod", "markdown")
    assert (code, err) == (EXIT_OK, "")
    body = text.decode()
    mermaid_text = run_graph("prod", "mermaid")[1].decode()
    assert body == f"#### Call routing of stack `prod`\n\n```mermaid\n{mermaid_text}```\n"
    assert body == markdown("prod", mermaid_text)


def test_registered_in_the_cli(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = main(["graph", "--stack", "local", "--project-dir", str(ROOT)])
    captured = capsysbinary.readouterr()
    assert code == EXIT_OK
    assert captured.out == run_graph("local", "mermaid")[1]


def test_unknown_stack_exits_2_with_one_line() -> None:
    code, text, err = run_graph("nope", "mermaid")
    assert (code, text) == (EXIT_ERROR, b"")
    assert err.count("\n") == 1
    assert err.startswith("nope: cannot read the stack:")


def test_a_render_failure_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")
    code, text, err = run_graph("local", "svg")
    assert (code, text) == (EXIT_ERROR, b"")
    assert err.count("\n") == 1
    assert err.startswith("local: cannot draw the svg: Chromium not found")


def test_an_unwritable_output_exits_2(tmp_path: Path) -> None:
    code, _, err = run_graph("local", "mermaid", output=tmp_path / "missing" / "x.mmd")
    assert code == EXIT_ERROR
    assert err.startswith("local: cannot write")


def test_the_docs_show_the_prod_stacks_current_picture() -> None:
    """docs/call-flows.md embeds `graph --stack prod`; UPDATE_DOCS=1 regenerates it."""
    text = mermaid_block(run_graph("prod", "mermaid")[1].decode())
    doc = DOC.read_text(encoding="utf-8")
    found = DOC_BLOCK.search(doc)
    assert found is not None, f"{DOC} has no <!-- graph: prod --> ... <!-- /graph --> block"
    if os.environ.get("UPDATE_DOCS") and found[2] != text:
        DOC.write_text(doc[: found.start(2)] + text + doc[found.end(2) :], encoding="utf-8")
        return
    assert found[2] == text, (
        "docs/call-flows.md shows an old picture of the prod stack; regenerate it with "
        "UPDATE_DOCS=1 pytest tests/infra/graph/test_graph_command.py -k docs"
    )


def mermaid_block(text: str) -> str:
    return f"```mermaid\n{text}```\n"
