"""What `twilio-voice doctor` reports: checks, their status, the Twilio errors they prevent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["pass", "fail", "warn", "skip"]
STATUSES: tuple[Status, ...] = ("fail", "warn", "pass", "skip")


@dataclass(frozen=True)
class Check:
    """One diagnosis: `prevents` are the Twilio error codes a pass rules out."""

    name: str
    title: str
    status: Status
    prevents: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass(frozen=True)
class DoctorReport:
    stack: str
    account_sid: str  # masked
    checks: tuple[Check, ...] = field(default_factory=tuple)
    api_calls: int = 0

    @property
    def healthy(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)


__all__ = ["STATUSES", "Check", "DoctorReport", "Status"]
