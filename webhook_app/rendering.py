"""The one place TwiML is rendered: Jinja2 templates from ``twiml/``, XML-escaped and strict.

Every ``{{ value }}`` passes through :func:`xml_text` first, which drops the characters XML 1.0
cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF), then through autoescaping.
So a response is well-formed whatever a caller or a settings file puts into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

import twiml
from webhook_app.routes import ROUTES, url_for

TWIML_DIR = Path(twiml.__file__).parent
CONTENT_TYPE = "text/xml; charset=utf-8"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
URLS = {route.flow: route.path for route in ROUTES}


def route_urls(public_base_url: str) -> dict[str, str]:
    """Each flow's URL as TwiML names it: a path under ``PUBLIC_BASE_URL``'s own path prefix.

    Twilio resolves a relative URL against the document's URL, so behind a prefix
    (``https://host/app``) the menu is ``/app/voice/menu``; without one it is ``/voice/menu``.
    """
    return {flow: urlsplit(url_for(flow, public_base_url)).path for flow in URLS}


def xml_text(value: object) -> object:
    """Jinja ``finalize`` hook: strip characters that XML 1.0 forbids from text values."""
    if isinstance(value, Markup):  # already escaped (a macro's output): keep it safe
        return Markup(_NOT_XML.sub("", value))  # noqa: S704 (input was already Markup)
    return _NOT_XML.sub("", value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Twiml:
    """A rendered TwiML document; keeps the step and context so tests can assert the decision."""

    step: str
    body: bytes
    context: dict[str, Any] = field(default_factory=dict, compare=False)
    status: int = 200


def make_environment(directory: Path = TWIML_DIR) -> jinja2.Environment:
    """Jinja2 environment for TwiML: autoescape for .xml, undefined variables are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml",), default=True),
        undefined=jinja2.StrictUndefined,
        finalize=xml_text,
        auto_reload=False,
    )


class Renderer:
    """Renders call-flow steps (``twiml/<step>.xml``) with the shared context."""

    def __init__(self, env: jinja2.Environment, **shared: Any) -> None:
        self._env = env
        self._shared = {"urls": URLS, **shared}
        self._templates: dict[str, jinja2.Template] = {}

    def render(self, step: str, **context: Any) -> Twiml:
        template = self._templates.get(step)
        if template is None:
            template = self._templates[step] = self._env.get_template(f"{step}.xml")
        full = {**self._shared, **context}
        return Twiml(step, template.render(full).encode("utf-8"), context)
