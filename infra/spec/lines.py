"""Map a spec config path to its line in `Pulumi.<stack>.yaml`, for messages and CI annotations."""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Locator = Callable[[str], int | None]


def path_parts(path: str) -> list[str | int]:
    """`sip_domains[1].auth` -> `['sip_domains', 1, 'auth']`."""
    return [int(index) if index else name for name, index in _TOKEN.findall(path)]


def line_locator(text: str, config_key: str) -> Locator:
    """A function giving the 1-based line of a config path (the deepest existing part).

    Paths are relative to `config_key` (`numbers[0].e164`); a path with a `:` is a top-level
    config key of its own (`twilio:authToken`). Unknown paths give None.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lambda path: None
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


def _child(node: yaml.Node | None, part: str | int, *, key_line: bool = False) -> yaml.Node | None:
    """The child at `part`; for mappings with `key_line`, the key node (its line is the entry's)."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key if key_line else value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None
