"""The spec as drift items: the plan's nodes with references resolved to keys instead of SIDs.

Fields are the props the Pulumi program passes to each provider (`infra.plan`), minus what drift
cannot compare (state-only and write-only inputs, the parent's SID). A reference to another
resource holds that resource's key (`voice_application_sid: "Support IVR"`) instead of its SID,
which drift does not know until it lists the account; `collect` turns live SIDs into the same
keys. Keys are the natural keys of `infra.kinds`, prefixed by the parent's key for children.
"""

from __future__ import annotations

from infra.drift.kinds import provider_kind
from infra.drift.model import Item, Value
from infra.kinds import KIND_META
from infra.plan import Node, plan
from infra.spec import models as spec


def declared_items(env: spec.Environment) -> list[Item]:
    """Every resource and association the spec declares that drift compares, in spec order."""
    estate = plan(env)
    keys = {node.id: node.key for node in estate.nodes}
    return [
        Item(
            node.kind,
            node.key,
            _fields(node, keys),
            parent=None if node.parent is None else (node.parent[0], keys[node.parent]),
        )
        for node in estate.nodes
        if KIND_META[node.kind].compared
    ]


def _fields(node: Node, keys: dict[tuple[str, str], str]) -> dict[str, Value]:
    meta = KIND_META[node.kind]
    if meta.association:
        return {}
    table = provider_kind(node.kind)
    skip = {f.name for f in table.fields if f.mode in ("local", "write_only")} if table else set()
    fields: dict[str, Value] = {k: v for k, v in node.props.items() if k not in skip}
    for name, ref in node.refs.items():
        if name != meta.parent_field:
            fields[name] = None if ref is None else keys[ref]
    return fields
