"""The one YAML loader for stack files: they arrive in pull requests, so they are hostile input.

Every reader of a `Pulumi.<stack>.yaml` (validate, drift, the offline `pulumi up` stand-in, the
line locator of error messages, the local job) goes through `StackYamlLoader`. It is PyYAML's
safe loader plus three limits, each refused with a `yaml.MarkedYAMLError` that names the line:

- **Aliasing.** An alias is expanded wherever the data is walked (pydantic, JSON, Pulumi), so a
  few hundred bytes of nested aliases ("billion laughs") can stand for billions of nodes. The
  rule is go-yaml v3's, the reader Pulumi itself uses for stack files
  (gopkg.in/yaml.v3 decode.go, `allowedAliasRatio` and `decoder.unmarshal`): every decoded node
  counts one operation, every node decoded through an alias also counts as an alias operation,
  and a document is refused with "document contains excessive aliasing" once more than 100
  alias operations and more than 1,000 operations in all are reached and the alias share exceeds
  99% (up to 400,000 operations), sliding down to 10% at 4,000,000 operations. So a stack file
  Pulumi refuses is refused here too, before anything expands it.
- **Nesting.** PyYAML composes recursively, so 100,000 nested `[` end in a `RecursionError`.
  Nesting deeper than `MAX_DEPTH` (far beyond any stack spec) is refused as it is composed.
  go-yaml refuses 10,000 levels; Python's stack cannot go that deep.
- **Integers.** Python refuses to convert a decimal string of more than 4,300 digits
  (`ValueError`, CVE-2020-10735); such an integer is a YAML error here.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node, ScalarNode

MAX_DEPTH = 100
# go-yaml v3 decode.go: alias_ratio_range_low / alias_ratio_range_high.
ALIAS_RATIO_RANGE_LOW = 400_000
ALIAS_RATIO_RANGE_HIGH = 4_000_000
_FIX = "quote it if it is text"


def allowed_alias_ratio(decode_count: int) -> float:
    """go-yaml v3 `allowedAliasRatio`: the share of decode operations aliases may account for."""
    if decode_count <= ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decode_count >= ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    span = ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW
    return 0.99 - 0.89 * ((decode_count - ALIAS_RATIO_RANGE_LOW) / span)


def excessive_aliasing(decode_count: int, alias_count: int) -> bool:
    """go-yaml v3's test in `decoder.unmarshal`, applied after each operation."""
    return (
        alias_count > 100
        and decode_count > 1000
        and alias_count / decode_count > allowed_alias_ratio(decode_count)
    )


class StackYamlError(yaml.MarkedYAMLError):
    """A stack file exceeds one of the loader's limits (aliasing, nesting, integer size)."""


class StackYamlLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` with go-yaml's alias rule, a nesting limit and bounded integers.

    The alias rule is counted while composing, in document order (go-yaml's decode order): a
    node counts 1, an alias counts 1 plus the expanded size of its anchor's node, all of which
    are alias operations. The expanded size of each anchored node is known once it is composed,
    so the count never expands anything and costs one step per node of the text.
    """

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.decode_count = 1  # go-yaml counts the document node too
        self.alias_count = 0
        self._sizes: list[int] = []  # expanded size of each node being composed (a stack)
        self._anchor_sizes: dict[str, int] = {}  # expanded size of each composed anchored node
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            self._count_alias(event)
            alias: Node = super().compose_node(parent, index)  # type: ignore[assignment]
            return alias
        if len(self._sizes) >= MAX_DEPTH:
            raise StackYamlError(
                None,
                None,
                f"nested deeper than {MAX_DEPTH} levels; a stack spec needs far fewer, so "
                f"flatten it",
                event.start_mark,
            )
        self._step(1, 0, event.start_mark)
        anchor: str | None = event.anchor
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._sizes.append(1)
        try:
            node: Node = super().compose_node(parent, index)  # type: ignore[assignment]
        finally:
            size = self._sizes.pop()
            if anchor is not None:
                self._open_anchors.discard(anchor)
        if anchor is not None:
            self._anchor_sizes[anchor] = size
        if self._sizes:
            self._sizes[-1] += size
        return node

    def compose_document(self) -> Node | None:
        node: Node | None = super().compose_document()
        self._anchor_sizes = {}
        return node

    def _count_alias(self, event: Any) -> None:
        anchor = event.anchor
        if anchor in self._open_anchors:
            raise StackYamlError(
                None,
                None,
                f"alias *{anchor} refers to the value that contains it (Pulumi refuses it too); "
                f"remove the alias",
                event.start_mark,
            )
        expanded = self._anchor_sizes.get(anchor or "")
        if expanded is None:
            return  # undefined alias: the composer reports it
        self._step(1, 0, event.start_mark)  # the alias node itself, outside any alias
        # Decoding the anchor's node again: every one of its operations is an alias operation.
        # The alias share only grows while it is decoded and the allowed share only shrinks, so
        # checking at its end decides exactly as go-yaml's check after each operation does.
        self._step(expanded, expanded, event.start_mark, f"expanding *{anchor} makes ")
        if self._sizes:
            self._sizes[-1] += 1 + expanded

    def _step(self, decodes: int, aliases: int, mark: Any, what: str = "") -> None:
        self.decode_count += decodes
        self.alias_count += aliases
        if excessive_aliasing(self.decode_count, self.alias_count):
            raise StackYamlError(
                None,
                None,
                f"document contains excessive aliasing ({what}{self.alias_count:,} of "
                f"{self.decode_count:,} values copies of anchors; Pulumi refuses it too); write "
                f"the values out or use fewer aliases",
                mark,
            )

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(node.value)
        limit = sys.get_int_max_str_digits() or 4300
        if len(text) > limit:
            raise StackYamlError(
                None,
                None,
                f"integer of {len(text):,} characters is too long (at most {limit:,}); {_FIX}",
                node.start_mark,
            )
        try:
            value: int = super().construct_yaml_int(node)
        except ValueError as exc:
            raise StackYamlError(
                None, None, f"integer cannot be read ({exc}); {_FIX}", node.start_mark
            ) from None
        return value


StackYamlLoader.add_constructor("tag:yaml.org,2002:int", StackYamlLoader.construct_yaml_int)


def load_stack_yaml(text: str) -> Any:
    """The data of one YAML document; raises `yaml.YAMLError` (never anything else for text)."""
    loader = StackYamlLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def compose_stack_yaml(text: str) -> Node | None:
    """The node tree of one YAML document (for line numbers), under the same limits."""
    loader = StackYamlLoader(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """One line: `at line L, column C: <problem>` (or just the problem when there is no mark)."""
    where = ""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
    problem = getattr(exc, "problem", None) or "syntax error"
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}: {problem}"
    return f"invalid YAML{where}: {' '.join(str(problem).split())}"


__all__ = [
    "MAX_DEPTH",
    "StackYamlError",
    "StackYamlLoader",
    "allowed_alias_ratio",
    "compose_stack_yaml",
    "describe_yaml_error",
    "excessive_aliasing",
    "load_stack_yaml",
]
