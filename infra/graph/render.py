"""Mermaid text to SVG or PNG, drawn by the real Mermaid library in headless Chromium.

Mermaid only runs in a browser (it measures text with the DOM), so `render` writes a page that
loads the UMD build `mermaid.min.js` from the npm package, parses and renders the diagram, and
writes the outcome into the DOM under an id made for this run; `chromium --dump-dom` prints that
DOM. A PNG is a screenshot of the SVG file itself, shown at its own size on a second page. The
pages may load only local files: their Content-Security-Policy forbids any network access.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MERMAID_VERSION = "12.3.0"
CHROMIUM_ENV = "TWILIO_VOICE_CHROMIUM"
MERMAID_JS_ENV = "TWILIO_VOICE_MERMAID_JS"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MERMAID_JS = Path("node_modules", "mermaid", "dist", "mermaid.min.js")

# A PNG side is capped (larger diagrams are scaled down to fit): Chromium's compositor refuses
# surfaces much beyond 16k pixels, and a picture in a pull request gains nothing past this.
MAX_PNG_SIDE = 8192
# Virtual milliseconds Chromium lets the page run before dumping its DOM. Virtual time skips
# ahead whenever the page is idle, so this costs no wall time; Mermaid needs well under 1 s.
_VIRTUAL_TIME_BUDGET_MS = 60_000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_CHROMIUM_ADVICE = (
    "install Debian's `chromium` (apt-get install chromium) or set "
    f"{CHROMIUM_ENV} to a Chrome/Chromium binary"
)
_MERMAID_ADVICE = (
    f"run `npm install mermaid@{MERMAID_VERSION}` in the project "
    f"(or set {MERMAID_JS_ENV} to mermaid.min.js)"
)


class RenderError(Exception):
    """Rendering failed; the message says what failed and how to fix it."""


def find_chromium(environ: Mapping[str, str]) -> str:
    """The Chromium binary: $TWILIO_VOICE_CHROMIUM, else the first Chrome/Chromium on PATH."""
    path = environ.get("PATH", os.defpath)
    configured = environ.get(CHROMIUM_ENV, "")
    if configured:
        found = shutil.which(configured, path=path)
        if found is None:
            raise RenderError(
                f"Chromium not found: {CHROMIUM_ENV}={configured} is not an executable file; "
                + _CHROMIUM_ADVICE
            )
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    raise RenderError(
        f"Chromium not found (looked for {', '.join(CHROMIUM_NAMES)} on PATH): " + _CHROMIUM_ADVICE
    )


def find_mermaid_js(environ: Mapping[str, str], start: Path) -> Path:
    """mermaid.min.js: $TWILIO_VOICE_MERMAID_JS, else node_modules/mermaid in start or a parent."""
    configured = environ.get(MERMAID_JS_ENV, "")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise RenderError(
                f"Mermaid not found: {MERMAID_JS_ENV}={configured} is not a file; "
                + _MERMAID_ADVICE
            )
        return path.resolve()
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / MERMAID_JS
        if candidate.is_file():
            return candidate
    raise RenderError(
        f"Mermaid not found (no {MERMAID_JS} in {start} or above): " + _MERMAID_ADVICE
    )


def check(
    text: str,
    *,
    chromium: str | None = None,
    mermaid_js: Path | None = None,
    timeout: float = 60,
) -> None:
    """Parse the diagram with Mermaid; raise RenderError carrying Mermaid's message if invalid."""
    _run_mermaid(text, "parse", chromium, mermaid_js, time.monotonic() + timeout, timeout)


def render(
    text: str,
    fmt: Literal["svg", "png"],
    *,
    chromium: str | None = None,
    mermaid_js: Path | None = None,
    timeout: float = 60,
) -> bytes:
    """The diagram as an SVG document or a PNG image (UTF-8 SVG bytes, or PNG bytes).

    chromium and mermaid_js default to `find_chromium` and `find_mermaid_js` (from the current
    directory, then from this package's checkout). timeout bounds the whole call, in seconds.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"unknown format {fmt!r}: expected 'svg' or 'png'")
    deadline = time.monotonic() + timeout
    drawn = _run_mermaid(text, "render", chromium, mermaid_js, deadline, timeout)
    svg = drawn.svg.encode()
    if fmt == "svg":
        return svg
    return _screenshot(svg, drawn.width, drawn.height, chromium, deadline, timeout)


@dataclass(frozen=True)
class _Drawn:
    svg: str
    width: float
    height: float


# The diagram text arrives JSON-encoded with <, > and & escaped, so no `</script>` or `<!--` in
# it can end or alter the script element; its outcome is written base64-encoded under an id
# nobody can predict, so nothing in a label (which lands in the same DOM) can pass for it.
_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
script-src 'nonce-{nonce}' file:; style-src 'unsafe-inline'; img-src data:; font-src data:">
<script src="{mermaid_src}"></script>
</head><body><div id="stage"></div>
<script nonce="{nonce}">
(async () => {{
  const text = {text};
  const mode = {mode};
  const report = (status, value) => {{
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {{
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }}
    const out = document.createElement("pre");
    out.id = "{nonce}-" + status;
    out.textContent = btoa(binary);
    document.body.appendChild(out);
  }};
  try {{
    if (typeof mermaid === "undefined") {{
      throw new Error("mermaid.min.js did not define `mermaid` (not Mermaid's UMD build?)");
    }}
    mermaid.initialize({{ startOnLoad: false, securityLevel: "strict" }});
    try {{
      await mermaid.parse(text);
    }} catch (e) {{
      report("invalid", String((e && e.message) || e));
      return;
    }}
    if (mode === "parse") {{
      report("ok", {{}});
      return;
    }}
    const {{ svg }} = await mermaid.render("g", text);
    const stage = document.getElementById("stage");
    stage.innerHTML = svg;
    const root = stage.querySelector("svg");
    const box = root.viewBox.baseVal;
    const size = box && box.width > 0 ? box : root.getBoundingClientRect();
    // Mermaid returns innerHTML (HTML syntax, e.g. <br> in labels); a standalone .svg is XML.
    const xml = new XMLSerializer().serializeToString(root);
    stage.remove();
    report("ok", {{ svg: xml, width: size.width, height: size.height }});
  }} catch (e) {{
    report("error", String((e && e.stack) || e));
  }}
}})();
</script></body></html>
"""

# Shown through <img>, the SVG is parsed exactly as a viewer parses the .svg file, and any script
# in it stays inert.
_PNG_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src file:; \
style-src 'unsafe-inline'">
<style>html, body {{ margin: 0; padding: 0; background: #fff; overflow: hidden; }}
img {{ display: block; width: {width}px; height: {height}px; }}</style>
</head><body><img src="diagram.svg" alt=""></body></html>
"""


def _run_mermaid(
    text: str,
    mode: Literal["parse", "render"],
    chromium: str | None,
    mermaid_js: Path | None,
    deadline: float,
    timeout: float,
) -> _Drawn:
    binary = chromium or find_chromium(os.environ)
    script = mermaid_js or _default_mermaid_js()
    if not script.is_file():
        raise RenderError(f"Mermaid not found: {script} is not a file; " + _MERMAID_ADVICE)
    nonce = secrets.token_hex(16)
    page = _PAGE.format(
        nonce=nonce,
        mermaid_src=html.escape(script.resolve().as_uri()),
        text=_js_literal(text),
        mode=_js_literal(mode),
    )
    with _workdir() as work:
        (work / "page.html").write_text(page, encoding="utf-8")
        dom = _chromium(
            binary,
            [f"--virtual-time-budget={_VIRTUAL_TIME_BUDGET_MS}", "--dump-dom"],
            work,
            deadline,
            timeout,
        ).decode("utf-8", "replace")
    found = re.search(rf'<pre id="{nonce}-(ok|invalid|error)">([A-Za-z0-9+/=]*)</pre>', dom)
    if found is None:
        raise RenderError(
            "Mermaid produced no result in Chromium (the page did not finish or did not load "
            f"{script}); check that it is Mermaid {MERMAID_VERSION}'s dist/mermaid.min.js"
        )
    status, value = found[1], json.loads(base64.b64decode(found[2]))
    if status == "invalid":
        raise RenderError(f"Mermaid could not parse the diagram: {value}")
    if status == "error":
        raise RenderError(f"Mermaid failed to render the diagram: {value}")
    if mode == "parse":
        return _Drawn("", 0, 0)
    return _Drawn(str(value["svg"]), float(value["width"]), float(value["height"]))


def _screenshot(
    svg: bytes,
    width: float,
    height: float,
    chromium: str | None,
    deadline: float,
    timeout: float,
) -> bytes:
    if not (width > 0 and height > 0):
        raise RenderError(f"Mermaid drew an empty diagram ({width} x {height}); nothing to show")
    scale = min(1.0, MAX_PNG_SIDE / width, MAX_PNG_SIDE / height)
    # Rounding up keeps the last row and column of the drawing inside the window.
    w, h = max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
    binary = chromium or find_chromium(os.environ)
    with _workdir() as work:
        (work / "diagram.svg").write_bytes(svg)
        (work / "page.html").write_text(_PNG_PAGE.format(width=w, height=h), encoding="utf-8")
        out = work / "out.png"
        _chromium(
            binary,
            ["--hide-scrollbars", f"--window-size={w},{h}", f"--screenshot={out}"],
            work,
            deadline,
            timeout,
        )
        png = out.read_bytes() if out.is_file() else b""
    if not png.startswith(_PNG_MAGIC):
        raise RenderError(f"Chromium wrote no PNG screenshot of the {w} x {h} diagram")
    return png


def _chromium(binary: str, args: list[str], work: Path, deadline: float, timeout: float) -> bytes:
    """Run headless Chromium on work/page.html; its stdout, or RenderError on failure/timeout."""
    command = [
        binary,
        "--headless",
        # Root in a container has no user namespaces for the sandbox; the page loads only
        # local files we wrote and the pinned Mermaid, under a no-network CSP.
        "--no-sandbox",
        "--disable-gpu",
        # Docker's /dev/shm is 64 MB, too small for Chromium's shared memory.
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        f"--user-data-dir={work / 'profile'}",
        *args,
        (work / "page.html").as_uri(),
    ]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise RenderError(f"rendering the diagram took longer than {timeout:g} s; raise timeout")
    # Chromium forks a zygote, renderer and GPU processes: a session of their own lets a timeout
    # kill all of them, not just the browser process.
    proc = subprocess.Popen(  # noqa: S603 - the binary is the configured/found Chromium
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=work,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"Chromium did not finish rendering the diagram within {timeout:g} s "
            f"({binary}); raise timeout or check that Chromium starts: {binary} --headless "
            "--dump-dom about:blank"
        ) from None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    if proc.returncode != 0:
        raise RenderError(
            f"Chromium ({binary}) exited with status {proc.returncode}: {_tail(stderr)}"
        )
    return stdout


def _default_mermaid_js() -> Path:
    try:
        return find_mermaid_js(os.environ, Path.cwd())
    except RenderError:
        # Run from elsewhere, a checkout of this project (editable install) still has its own
        # node_modules beside the package.
        return find_mermaid_js(os.environ, Path(__file__).parent)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    # Chromium may still be flushing its profile as it exits: a leftover file must not turn a
    # finished render into an error.
    with tempfile.TemporaryDirectory(prefix="twilio-voice-graph-", ignore_cleanup_errors=True) as d:
        yield Path(d)


def _js_literal(value: str) -> str:
    # json.dumps already escapes every non-ASCII character (U+2028/9 included).
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _tail(stderr: bytes, lines: int = 8) -> str:
    # Chromium logs D-Bus failures on every start in a container: noise, not the cause.
    kept = [
        line
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and "dbus" not in line.lower()
    ]
    return "\n".join(kept[-lines:]) or "(no error output)"
