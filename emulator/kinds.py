"""The description of one resource kind; generic CRUD and rendering work from it alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.errors import INVALID_PARAMETER
from emulator.fields import Field

API_2010 = "api"
ALL_OPERATIONS = frozenset({"create", "fetch", "list", "update", "delete"})


@dataclass(frozen=True)
class Parent:
    """The resource a kind lives under: its path parameter, kind and the field holding its SID."""

    param: str
    kind: str
    field: str


@dataclass(frozen=True)
class Reference:
    """Mapping/association kinds: the instance SID *is* the SID of another resource."""

    param: str
    kind: str


@dataclass(frozen=True)
class Kind:
    """One Twilio resource kind, described as data.

    Paths are Twilio's own path templates (e.g. `/v1/Trunks/{Sid}`) under the host `sub`
    (`api`, `trunking`, `voice`, `routes`). `strategy` selects the few kinds whose storage is
    not a plain table: trunk phone-number associations are a view over the numbers' `trunk_sid`,
    the trunk recording is a singleton, and routes are keyed by a natural key.
    """

    name: str
    sub: str
    list_path: str
    instance_path: str
    prefix: str
    items_key: str
    fields: tuple[Field, ...]
    parent: Parent | None = None
    reference: Reference | None = None
    unique: tuple[str, ...] = ()
    unique_scope: str = "parent"  # "parent" or "global"
    unique_code: int = INVALID_PARAMETER
    operations: frozenset[str] = ALL_OPERATIONS
    subresources: dict[str, str] = field(default_factory=dict)
    # The Auth/Calls and Auth/Registrations mapping schemas carry no `uri` and no parent SID.
    self_link: bool = True
    account_field: bool = True  # voice v1 SourceIpMapping has no account_sid
    strategy: str = "table"
    # What happens to this kind's records when the resource a field refers to is deleted:
    # "block" refuses the delete, "clear" empties the field; parents always cascade.
    on_ref_delete: str = "clear"

    @property
    def is_2010(self) -> bool:
        return self.sub == API_2010

    @property
    def instance_key(self) -> str:
        """The last path parameter of the instance path (`Sid`, `PhoneNumber`, ...)."""
        return self.instance_path.rsplit("{", 1)[1].split("}", 1)[0]

    def field(self, name: str) -> Field | None:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None

    def defaults(self) -> dict[str, object]:
        return {f.name: f.default for f in self.fields}


__all__ = ["ALL_OPERATIONS", "API_2010", "Kind", "Parent", "Reference"]
