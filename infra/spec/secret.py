"""`Secret`: a credential password that is either Pulumi ciphertext or plaintext, never printed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from infra.spec.context import SpecContext


class Secret:
    """A secret config leaf.

    In `Pulumi.<stack>.yaml` it is either `{secure: v1:...}` (ciphertext, read without decrypting)
    or a plain string. The Pulumi program receives decrypted plaintext; when the whole config key
    was secret (`SpecContext.secrets_decrypted`) such plaintext counts as coming from a secure leaf.
    `repr`/`str` never show the plaintext; `reveal()` is the one explicit way to get it.
    """

    __slots__ = ("_ciphertext", "_plaintext", "_secure")

    def __init__(
        self, *, plaintext: str | None = None, ciphertext: str | None = None, secure: bool = False
    ) -> None:
        if (plaintext is None) == (ciphertext is None):
            raise ValueError("Secret needs exactly one of plaintext or ciphertext")
        self._plaintext = plaintext
        self._ciphertext = ciphertext
        self._secure = secure or ciphertext is not None

    @property
    def is_secure(self) -> bool:
        """True when the value is (or was decrypted from) a Pulumi secret."""
        return self._secure

    @property
    def has_plaintext(self) -> bool:
        """True when the plaintext is known (decrypted by Pulumi, or a plain value on `local`)."""
        return self._plaintext is not None

    @property
    def ciphertext(self) -> str | None:
        """The `secure:` ciphertext when read from the stack file without decrypting."""
        return self._ciphertext

    def reveal(self) -> str:
        """The plaintext; raises when only ciphertext is known (read without the Pulumi CLI)."""
        if self._plaintext is None:
            raise ValueError(
                "secret is still encrypted (read from the stack file without decrypting); "
                "run through the Pulumi program to get its value"
            )
        return self._plaintext

    def fingerprint(self) -> str:
        """A SHA-256 hex digest of the plaintext: lets state detect rotation without holding it."""
        return hashlib.sha256(self.reveal().encode()).hexdigest()

    def __repr__(self) -> str:
        if self._ciphertext is not None:
            return "Secret(<secure ciphertext>)"
        return "Secret(<secure>)" if self._secure else "Secret(<plaintext, not shown>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return (self._plaintext, self._ciphertext, self._secure) == (
            other._plaintext,
            other._ciphertext,
            other._secure,
        )

    def __hash__(self) -> int:
        return hash((self._plaintext, self._ciphertext, self._secure))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_secret, when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dict(SECRET_JSON_SCHEMA)


SECRET_JSON_SCHEMA: dict[str, Any] = {
    "description": "A Pulumi secret: {secure: <ciphertext>}; plain text only on the local stack",
    "anyOf": [
        {
            "type": "object",
            "properties": {"secure": {"type": "string", "minLength": 1}},
            "required": ["secure"],
            "additionalProperties": False,
        },
        {"type": "string"},
    ],
}


def _serialize_secret(value: Secret) -> Any:
    """Dumps keep ciphertext as `{secure: ...}` and never dump plaintext."""
    if value.ciphertext is not None:
        return {"secure": value.ciphertext}
    return "[secret]"


def _validate_secret(value: Any, info: core_schema.ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    ctx = SpecContext.of(info)
    if isinstance(value, Mapping):
        keys = set(value)
        if keys != {"secure"}:
            raise PydanticCustomError(
                "secret_shape",
                "a secret is a plain string or {secure: <ciphertext>}; found keys {keys}",
                {"keys": ", ".join(sorted(map(str, keys))) or "none"},
            )
        ciphertext = value["secure"]
        if not isinstance(ciphertext, str) or not ciphertext.strip():
            raise PydanticCustomError(
                "secret_shape",
                "secure: must hold the ciphertext string written by `pulumi config set --secret`",
            )
        return Secret(ciphertext=ciphertext)
    if isinstance(value, str):
        return Secret(plaintext=value, secure=ctx.secrets_decrypted)
    raise PydanticCustomError(
        "secret_type",
        "expected a string or {secure: <ciphertext>}, got {kind}",
        {"kind": type(value).__name__},
    )
