"""`SpecIssue` and `SpecError`: what is wrong, where (stack + config path), and how to fix it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

ROOT_PATH = "environment"


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One problem at one config path, e.g. `sip_domains[1].auth.calls.credential_lists[0]`."""

    path: str
    message: str
    # A warning (an unreachable menu, a flow nothing enters) is shown but does not fail
    # validation; `load_environment` raises only for errors.
    warning: bool = False

    def format(self, stack: str, where: str | None = None) -> str:
        """`prod: numbers[0].e164: <message>`, plus ` (<where>)`, e.g. `(Pulumi.prod.yaml:15)`;
        a warning starts with `warning: `."""
        suffix = f" ({where})" if where else ""
        level = "warning: " if self.warning else ""
        return f"{level}{stack}: {self.path or ROOT_PATH}: {self.message}{suffix}"


def errors(issues: Sequence[SpecIssue]) -> list[SpecIssue]:
    """The issues that fail validation (not the warnings)."""
    return [issue for issue in issues if not issue.warning]


def warnings(issues: Sequence[SpecIssue]) -> list[SpecIssue]:
    return [issue for issue in issues if issue.warning]


class SpecError(ValueError):
    """The stack's environment spec is invalid; `issues` lists every problem found."""

    def __init__(self, stack: str, issues: Sequence[SpecIssue], *, shape: bool = False) -> None:
        self.stack = stack
        self.issues: tuple[SpecIssue, ...] = tuple(issues)
        # True when these are shape/value problems: cross-reference rules have not run yet.
        self.shape = shape
        super().__init__(self.format())

    def format(self, where: Callable[[SpecIssue], str | None] | None = None) -> str:
        """A headline and one line per issue; `where` may add a file:line to each."""
        count = len(errors(self.issues))
        head = f"stack {self.stack!r}: environment spec has {count} problem{'s' * (count != 1)}"
        shown = len(self.issues) - count
        if shown:
            head += f" and {shown} warning{'s' * (shown != 1)}"
        head += ":"
        lines = [
            f"  {issue.format(self.stack, where(issue) if where else None)}"
            for issue in self.issues
        ]
        return "\n".join([head, *lines])
