"""Parsing ``application/x-www-form-urlencoded`` bodies, fast on Twilio's plain fields."""

from __future__ import annotations

from urllib.parse import unquote_plus


def parse_form(text: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a form body, as ``parse_qsl(text, keep_blank_values=True)``.

    Same result (property-tested), several times faster on a webhook body: when no separator is
    escaped (``%26`` for ``&``, ``%3D`` for ``=``), the whole body is unescaped in one call and
    then split, instead of unescaping field by field. (A UTF-8 decoder never joins bytes across
    an ASCII ``&`` or ``=``, so invalid sequences are replaced the same way in both orders.)
    """
    if "%" not in text and "+" not in text:
        return _split_all(text)
    if "%26" not in text and "%3D" not in text and "%3d" not in text:
        return _split_all(unquote_plus(text, errors="replace"))
    pairs = []
    for segment in text.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        if "%" in segment or "+" in segment:
            if "%" in name or "+" in name:
                name = unquote_plus(name, errors="replace")
            if "%" in value or "+" in value:
                value = unquote_plus(value, errors="replace")
        pairs.append((name, value))
    return pairs


def _split_all(text: str) -> list[tuple[str, str]]:
    parts = [segment.partition("=") for segment in text.split("&") if segment]
    return [(part[0], part[2]) for part in parts]
