"""The data drift detection works on: items (declared or live), findings and the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Value = str | int | bool | None
Status = Literal["missing", "changed", "unmanaged"]


@dataclass(frozen=True)
class Item:
    """One resource or association, declared or live, in comparable form.

    `key` is the natural key Twilio and the providers identify the resource by (E.164, domain
    name, friendly name), prefixed by the parent's key for child resources (`pbx-users/alice`).
    References to other resources are held as *their* keys, so declared names and live SIDs
    compare. Association kinds have no fields: they compare as sets of keys.
    """

    kind: str
    key: str
    fields: Mapping[str, Value] = field(default_factory=dict)
    sid: str | None = None
    parent: tuple[str, str] | None = None  # (kind, key) of the parent resource, if any


@dataclass(frozen=True)
class FieldChange:
    field: str
    declared: Value
    live: Value


@dataclass(frozen=True)
class Finding:
    status: Status
    kind: str
    key: str
    sid: str | None = None
    changes: tuple[FieldChange, ...] = ()
    hint: str = ""
    fails: bool = True


@dataclass(frozen=True)
class NotCompared:
    """A field drift cannot check, and why (write-only, or no list endpoint)."""

    kind: str
    field: str
    reason: str


@dataclass(frozen=True)
class DriftReport:
    stack: str
    account_sid: str
    findings: tuple[Finding, ...]
    not_compared: tuple[NotCompared, ...]
    declared_count: int
    live_count: int
    api_calls: int
    strict: bool = False

    @property
    def drifted(self) -> bool:
        return any(f.fails for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.drifted else 0

    def count(self, status: Status) -> int:
        return sum(1 for f in self.findings if f.status == status)
