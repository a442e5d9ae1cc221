"""Pure comparison of declared items with live items into findings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from infra.drift.kinds import (
    KIND_INFO,
    KIND_ORDER,
    compared_fields,
    label,
    provider_kind,
    unmanaged_hint,
)
from infra.drift.model import FieldChange, Finding, Item, Value
from infra.resources.kind import diff_props

_STATUS_ORDER = {"missing": 0, "changed": 1, "unmanaged": 2}


def normalise(value: Value) -> Value:
    """Twilio answers a cleared optional field with "" or null; both mean "not set"."""
    return None if value == "" else value


def diff_fields(
    kind: str, declared: Mapping[str, Value], live: Mapping[str, Value]
) -> tuple[FieldChange, ...]:
    """Changed fields, decided by the provider's own diff rules (`infra.resources.diff_props`).

    An unset declared field means the provider's default (e.g. method POST); an unset field
    Twilio cannot clear (`clear=False`, like a number's friendly name) is not compared. Kinds
    without a provider table compare every declared field as is.
    """
    table = provider_kind(kind)
    if table is None:
        names = sorted(n for n in declared if normalise(declared[n]) != normalise(live.get(n)))
        return tuple(FieldChange(n, normalise(declared[n]), normalise(live.get(n))) for n in names)
    compared = set(compared_fields(kind))
    changed, _ = diff_props(table, live, declared)
    changes = []
    for name in sorted(n for n in changed if n in compared):
        want = declared.get(name)
        want = table.default(name) if want is None else want
        changes.append(FieldChange(name, normalise(want), normalise(live.get(name))))
    return tuple(changes)


def compare(
    declared: Sequence[Item], live: Iterable[Item], *, strict: bool = False
) -> tuple[Finding, ...]:
    """Missing, changed and unmanaged findings, in report order.

    A child of a missing declared parent is not reported again (the parent's finding covers it),
    and neither is a live child of an unmanaged parent. Unmanaged phone numbers are reported but
    only fail with `strict`: an account may own numbers no stack declares.
    """
    live_by_key: dict[tuple[str, str], Item] = {}
    for item in live:
        live_by_key.setdefault((item.kind, item.key), item)
    declared_keys = {(d.kind, d.key) for d in declared}
    findings: list[Finding] = []
    for want in declared:
        have = live_by_key.get((want.kind, want.key))
        if have is None:
            if want.parent is not None and want.parent not in live_by_key:
                continue
            findings.append(
                Finding(
                    "missing",
                    want.kind,
                    want.key,
                    # Without --refresh the engine trusts its state, which still lists it.
                    hint=f"`pulumi up --refresh` recreates this {label(want.kind)}",
                )
            )
            continue
        changes = diff_fields(want.kind, want.fields, have.fields)
        if changes:
            findings.append(
                Finding(
                    "changed",
                    want.kind,
                    want.key,
                    sid=have.sid,
                    changes=changes,
                    hint=(
                        "`pulumi up --refresh` restores the declared values "
                        "(or declare the live ones)"
                    ),
                )
            )
    for key, have in live_by_key.items():
        if key in declared_keys:
            continue
        if have.parent is not None and have.parent not in declared_keys:
            continue
        info = KIND_INFO.get(have.kind)
        fails = strict or info is None or info.unmanaged_fails
        findings.append(
            Finding(
                "unmanaged",
                have.kind,
                have.key,
                sid=have.sid,
                hint=unmanaged_hint(have.kind, have.key, have.sid),
                fails=fails,
            )
        )
    findings.sort(key=lambda f: (KIND_ORDER.get(f.kind, 99), _STATUS_ORDER[f.status], f.key))
    return tuple(findings)
