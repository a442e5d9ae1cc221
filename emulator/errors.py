"""Twilio's error JSON and the codes the emulator answers with.

Codes marked "documented" appear in Twilio's error dictionary or the project's reference files;
where no specific code is known the emulator uses Twilio's generic 20001 (invalid parameter)
with a message that names the field.
"""

from __future__ import annotations

from dataclasses import dataclass

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

INVALID_PARAMETER = 20001  # generic 400
AUTHENTICATE = 20003  # documented: 401 "Authenticate"
METHOD_NOT_ALLOWED = 20004
NOT_FOUND = 20404  # documented
TOO_MANY_REQUESTS = 20429  # documented
INTERNAL_ERROR = 20500
SERVICE_UNAVAILABLE = 20503
SIP_DOMAIN_INVALID = 21231  # "Invalid Domain Name"
SIP_DOMAIN_TAKEN = 21232  # the choice for "domain name already in use"
PHONE_NUMBER_INVALID = 21421  # "PhoneNumber is invalid"
PHONE_NUMBER_UNAVAILABLE = 21422  # "PhoneNumber is not available"
TRUNK_DOMAIN_TAKEN = 21248  # documented: "Trunk Domain already taken"
TRUNK_DOMAIN_INVALID = INVALID_PARAMETER


@dataclass
class TwilioError(Exception):
    """An error the emulator answers with Twilio's JSON shape."""

    status: int
    code: int
    message: str

    def __str__(self) -> str:
        return f"HTTP {self.status} (Twilio {self.code}): {self.message}"

    def body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }


def invalid(message: str, code: int = INVALID_PARAMETER) -> TwilioError:
    """A 400 for a parameter Twilio would reject."""
    return TwilioError(400, code, message)


def not_found(path: str) -> TwilioError:
    return TwilioError(404, NOT_FOUND, f"The requested resource {path} was not found")


def missing(param: str) -> TwilioError:
    return invalid(f"Missing required parameter {param} in the post body")


__all__ = ["TwilioError", "invalid", "missing", "not_found"]
