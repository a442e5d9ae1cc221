"""What validation needs besides the YAML: the stack, and whether secrets were decrypted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCAL_STACK = "local"


@dataclass(frozen=True)
class SpecContext:
    """Passed to pydantic as validation context by `infra.spec.load_environment`.

    Without a context (a bare `Environment.model_validate`) the strictest rules apply: the stack
    counts as non-local and plaintext secrets count as not secure.
    """

    stack: str | None = None
    secrets_decrypted: bool = False

    @property
    def is_local(self) -> bool:
        return self.stack == LOCAL_STACK

    @classmethod
    def of(cls, info: Any) -> SpecContext:
        """The context carried by a pydantic `ValidationInfo`, or the strict default."""
        ctx = getattr(info, "context", None)
        return ctx if isinstance(ctx, SpecContext) else cls()
