"""TwiML as the call simulator reads it: a safe parse into verbs, and Twilio's error codes.

The parser is the standard library's expat with every DTD refused: a document with a
``<!DOCTYPE>`` (where internal entities, the "billion laughs", and external entities live) is
a parse failure, so nothing is expanded and no file or URL is ever resolved. (defusedxml does
the same; it is not a dependency of this project.) What Twilio would not execute is refused
with the code Twilio reports:

- 12300: the response's ``Content-Type`` is not XML (or ``text/plain``, which Twilio reads);
- 12100: the document does not parse, its root is not ``<Response>``, or it holds a verb
  Twilio does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn
from xml.etree import ElementTree
from xml.parsers import expat

DOCUMENT_PARSE_FAILURE = 12100
INVALID_CONTENT_TYPE = 12300
HTTP_RETRIEVAL_FAILURE = 11200
MAX_DOCUMENT_BYTES = 64 * 1024  # Twilio refuses larger TwiML documents (12100)

# Content types Twilio executes as TwiML (text/plain is read as a <Say>; see _plain_text).
XML_TYPES = frozenset({"text/xml", "application/xml", "text/html"})
PLAIN_TYPES = frozenset({"text/plain"})

VERBS = frozenset(
    {
        "Say",
        "Play",
        "Pause",
        "Gather",
        "Redirect",
        "Dial",
        "Record",
        "Hangup",
        "Reject",
        "Enqueue",
        "Leave",
        "Connect",
        "Start",
        "Stop",
        "Refer",
        "Pay",
        "Prompt",
        "Sms",
        "Message",
        "Echo",
    }
)
# What may sit inside a verb (anything else there is a schema error, code 12100).
NESTED = {
    "Gather": frozenset({"Say", "Play", "Pause"}),
    "Dial": frozenset({"Number", "Sip", "Client", "Conference", "Queue", "Sim", "Application"}),
    "Say": frozenset(
        {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub"}
    ),
}


class TwimlError(Exception):
    """A response Twilio would not execute; ``code`` is Twilio's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verb:
    """One element: its name, attributes, text (stripped) and child elements."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()

    def attr(self, name: str, default: str = "") -> str:
        return self.attrs.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.attrs.get(name)
        return default if value is None else value.strip().lower() == "true"

    def number(self, name: str, default: int) -> int:
        """An integer attribute; Twilio falls back to the default for one it cannot read."""
        try:
            return int(self.attrs.get(name, default))
        except ValueError:
            return default

    def summary(self) -> dict[str, Any]:
        """A JSON-able form for traces."""
        out: dict[str, Any] = {"verb": self.name}
        if self.attrs:
            out["attrs"] = dict(self.attrs)
        if self.text:
            out["text"] = self.text
        if self.children:
            out["children"] = [child.summary() for child in self.children]
        return out


def _refuse_dtd(*_: object) -> NoReturn:
    raise TwimlError(DOCUMENT_PARSE_FAILURE, "document has a DTD (refused: no entities)")


def parse_xml(body: bytes) -> ElementTree.Element:
    """Parse ``body`` with DTDs and entity declarations refused (TwimlError 12100).

    expat drives an ElementTree ``TreeBuilder`` directly (the C ``XMLParser`` does not let its
    handlers be replaced); every DTD handler raises before anything is declared or resolved.
    """
    if len(body) > MAX_DOCUMENT_BYTES:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"document over {MAX_DOCUMENT_BYTES} bytes")
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.ordered_attributes = False
    try:
        parser.Parse(body, True)
        root: ElementTree.Element = builder.close()
    except expat.ExpatError as exc:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"document parse failure: {exc}") from None
    except AssertionError:  # TreeBuilder: no root element
        raise TwimlError(DOCUMENT_PARSE_FAILURE, "document parse failure: no element") from None
    return root


def _verb(element: ElementTree.Element, parent: str) -> Verb:
    name = element.tag
    if not isinstance(name, str) or "}" in name:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"unexpected element {name!r} in <{parent}>")
    allowed = NESTED.get(parent, frozenset()) if parent != "Response" else VERBS
    if name not in allowed:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<{name}> is not allowed in <{parent}>")
    text = "".join(element.itertext()).strip() if name == "Say" else (element.text or "").strip()
    children = () if name == "Say" else tuple(_verb(child, name) for child in element)
    attrs = {str(k): str(v) for k, v in element.attrib.items()}
    return Verb(name, attrs, text, children)


def parse_twiml(body: bytes, content_type: str, url: str = "") -> tuple[Verb, ...]:
    """The verbs of a TwiML response, or TwimlError with Twilio's code.

    Like Twilio, an audio response (``audio/*``) is played and ``text/plain`` is read aloud.
    """
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype.startswith("audio/"):
        return (Verb("Play", {}, url),)
    if mimetype in PLAIN_TYPES:
        text = body.decode("utf-8", "replace").strip()
        return (Verb("Say", {}, text),) if text else ()
    if mimetype not in XML_TYPES:
        raise TwimlError(
            INVALID_CONTENT_TYPE,
            f"Content-Type {content_type or '(none)'!r} is not TwiML (use text/xml)",
        )
    root = parse_xml(body)
    if root.tag != "Response":
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"root element is <{root.tag}>, not <Response>")
    return tuple(_verb(child, "Response") for child in root)


__all__ = [
    "DOCUMENT_PARSE_FAILURE",
    "HTTP_RETRIEVAL_FAILURE",
    "INVALID_CONTENT_TYPE",
    "TwimlError",
    "Verb",
    "parse_twiml",
    "parse_xml",
]
