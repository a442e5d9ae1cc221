"""Map a spec config path to its line in `Pulumi.<stack>.yaml`, for messages and CI annotations."""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

from infra.spec.safeyaml import compose_stack_yaml

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Locator = Callable[[str], int | None]


def path_parts(path: str) -> list[str | int]:
    """`sip_domains[1].auth` -> `['sip_domains', 1, 'auth']`."""
    return [int(index) if index else name for name, index in _TOKEN.findall(path)]


def line_locator(text: str, config_key: str) -> Locator:
    """A function giving the 1-based line of a config path (the deepest existing part).

    Paths are relative to `config_key` (`numbers[0].e164`); a path with a `:` is a top-level
    config key of its own (`twilio:authToken`). Unknown paths give None.

    Each mapping is indexed once, on first use, so locating one path costs its length, not the
    size of the mappings on the way (a spec with 20,000 unknown keys has 20,000 issues to place).
    """
    try:
        root = compose_stack_yaml(text)
    except yaml.YAMLError:
        return lambda path: None
    _child = _Children().child
    config = _child(root, "config")

    def locate(path: str) -> int | None:
        if config is None:
            return None
        if ":" in path.split(".", 1)[0]:
            key, _, rest = path.partition(".")
        else:
            key, rest = config_key, path
        key_node = _child(config, key, key_line=True)
        node = _child(config, key)
        if key_node is None or node is None:
            return None
        line = key_node.start_mark.line + 1
        for part in path_parts(rest):
            child = _child(node, part, key_line=True)
            if child is None:
                break
            line = child.start_mark.line + 1
            node = _child(node, part) or child
        return line

    return locate


class _Children:
    """Children of the nodes of one document, each mapping indexed by key on first use."""

    def __init__(self) -> None:
        # id(mapping node) -> scalar key -> (key node, value node); the first entry of a key wins.
        # The nodes stay alive with the document the locator holds, so their ids stay unique.
        self._mappings: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def child(
        self, node: yaml.Node | None, part: str | int, *, key_line: bool = False
    ) -> yaml.Node | None:
        """The child at `part`; for mappings with `key_line`, the key node (the entry's line)."""
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            entry = self._index(node).get(part)
            if entry is not None:
                return entry[0] if key_line else entry[1]
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            item: yaml.Node = node.value[part]
            return item
        return None

    def _index(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        index = self._mappings.get(id(node))
        if index is None:
            index = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    index.setdefault(key.value, (key, value))
            self._mappings[id(node)] = index
        return index
