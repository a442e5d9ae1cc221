"""Errors raised by the Twilio client and the dynamic providers, worded for the CLI user."""

from __future__ import annotations

from collections.abc import Iterable

# Hints for the Twilio error codes people meet most while provisioning voice resources.
_HINTS: dict[int, str] = {
    20003: (
        "the credentials were rejected: check twilio:accountSid with twilio:authToken (or "
        "twilio:apiKey + twilio:apiSecret), or TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / "
        "TWILIO_API_KEY / TWILIO_API_SECRET, and that twilio:region/TWILIO_REGION matches the "
        "region the credentials were created in"
    ),
    20404: (
        "the resource does not exist in this account (deleted out of band?): run "
        "`pulumi refresh` so the stack forgets it, then `pulumi up` recreates it"
    ),
    20429: "Twilio is rate limiting this account; retries gave up, try again in a minute",
    21248: (
        "trunk domain names are unique across all of Twilio, and a deleted trunk's domain stays "
        "reserved for up to 30 days (even after its subaccount is closed): choose another "
        "domain_name in the stack's environment spec, or wait; rename a trunk in place rather "
        "than deleting and re-creating it"
    ),
    21422: "the phone number is not available to this account",
    21450: "a resource with this unique name already exists in the account",
}
_HINT_21XXX = (
    "Twilio rejected a parameter value; fix the field named in the message in the stack's "
    "environment spec"
)


def hint_for(code: int | None) -> str | None:
    """A short how-to-fix for a Twilio error code, if one is known."""
    if code is None:
        return None
    if code in _HINTS:
        return _HINTS[code]
    if 21000 <= code < 22000:
        return _HINT_21XXX
    return None


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of a secret value in `text`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ProviderError(Exception):
    """Base class of every error the providers raise on purpose."""


class ConfigurationError(ProviderError):
    """Credentials or settings are missing or inconsistent."""


class AccountMismatchError(ProviderError):
    """The configured credentials belong to another account than the stack's resources."""


class TwilioApiError(ProviderError):
    """A Twilio REST error: `Twilio <code>: <message> (<kind> <name>)` plus a hint."""

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        *,
        resource: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.resource = resource
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        code = self.code if self.code is not None else self.status
        text = f"Twilio {code}: {self.message}"
        if self.resource:
            text += f" ({self.resource})"
        hint = hint_for(self.code)
        if hint:
            text += f"; hint: {hint}"
        return text

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500

    def for_resource(self, resource: str, secrets: Iterable[str | None] = ()) -> TwilioApiError:
        """The same error, naming the resource and with any secret value scrubbed."""
        return type(self)(
            self.status,
            self.code,
            scrub(self.message, secrets),
            resource=resource,
            retry_after=self.retry_after,
        )


class NotFoundError(TwilioApiError):
    """HTTP 404 from Twilio."""


class TransportError(TwilioApiError):
    """No HTTP answer: connection refused, reset or timed out (always retryable)."""

    def __init__(
        self,
        status: int = 0,
        code: int | None = None,
        message: str = "no response from Twilio",
        *,
        resource: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, resource=resource, retry_after=retry_after)

    def __str__(self) -> str:
        text = f"Twilio unreachable: {self.message}"
        if self.resource:
            text += f" ({self.resource})"
        return text

    @property
    def retryable(self) -> bool:
        return True
