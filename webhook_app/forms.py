"""Parsing ``application/x-www-form-urlencoded`` bodies, fast on Twilio's plain fields."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote_plus

from werkzeug.exceptions import BadRequest


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


class AmbiguousParameter(BadRequest):
    """A parameter a flow reads came more than once with different values (a 400)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the {name} parameter is repeated with different values; Twilio sends it once, so "
            "this request is refused rather than read in an order-dependent way"
        )


class SingleValued(Mapping[str, str]):
    """A form's parameters as Twilio sends them: each name once.

    Twilio's signature covers every value of a repeated name but not their order (values are
    sorted before signing), so a signed request with ``Digits=1&Digits=7`` may be replayed as
    ``Digits=7&Digits=1``. Reading "the first value" would let that reordering pick the
    route. Here a name repeated with *different* values cannot be read at all: reading it
    raises :class:`AmbiguousParameter` (400), whatever the order. A name repeated with equal
    values reads as that value; names no flow reads are never looked at.
    """

    __slots__ = ("_ambiguous", "_values")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values = dict(reversed(pairs))  # one value per name (the first; see _ambiguous)
        self._ambiguous: frozenset[str] = frozenset()
        if len(self._values) != len(pairs):  # some name repeats: do its values differ?
            seen: dict[str, str] = {}
            ambiguous = set()
            for name, value in pairs:
                if seen.setdefault(name, value) != value:
                    ambiguous.add(name)
            self._ambiguous = frozenset(ambiguous)

    def __getitem__(self, name: str) -> str:
        if name in self._ambiguous:
            raise AmbiguousParameter(name)
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        if self._ambiguous and name in self._ambiguous:
            raise AmbiguousParameter(name)
        return self._values.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def ambiguous(self) -> frozenset[str]:
        """The names repeated with different values."""
        return self._ambiguous

    def unambiguous(self) -> Mapping[str, str]:
        """The names that can be read, for logging: ambiguous ones are left out."""
        if not self._ambiguous:
            return self._values
        return {k: v for k, v in self._values.items() if k not in self._ambiguous}
