"""Drift detection: the stack's spec against the live Twilio account, without a Pulumi backend.

`declared` turns the spec into items, `collect` lists the account into items of the same shape,
`compare` diffs them (pure), `report` renders text / JSON / Markdown; the command is
`infra.commands.drift`.
"""

from infra.drift.compare import compare
from infra.drift.model import DriftReport, FieldChange, Finding, Item

__all__ = ["DriftReport", "FieldChange", "Finding", "Item", "compare"]
