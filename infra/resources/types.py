"""Validated field types shared by the resource args models (what Twilio would reject)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from webhook_app.e164 import check_e164

HttpMethod = Literal["GET", "POST"]
VoiceRegion = Annotated[str, Field(pattern=r"^[a-z]{2}[0-9]$")]
Priority = Annotated[int, Field(ge=0, le=65535)]
Weight = Annotated[int, Field(ge=0, le=65535)]
FriendlyName = Annotated[str, Field(min_length=1, max_length=64)]


def _sid(prefix: str) -> object:
    return Field(pattern=rf"^{prefix}[0-9a-fA-F]{{32}}$")


AccountSid = Annotated[str, _sid("AC")]
ApplicationSid = Annotated[str, _sid("AP")]
TrunkSid = Annotated[str, _sid("TK")]
DomainSid = Annotated[str, _sid("SD")]
CredentialListSid = Annotated[str, _sid("CL")]
IpAccessControlListSid = Annotated[str, _sid("AL")]
PhoneNumberSid = Annotated[str, _sid("PN")]
ByocTrunkSid = Annotated[str, _sid("BY")]
ConnectionPolicySid = Annotated[str, _sid("NY")]
IpRecordSid = Annotated[str, _sid("IL")]


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


def _suffix(suffix: str) -> AfterValidator:
    def check(value: str) -> str:
        label = value[: -len(suffix)] if value.endswith(suffix) else ""
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", label):
            raise ValueError(f"must be <name>{suffix} (lower-case letters, digits, dashes)")
        return value

    return AfterValidator(check)


def _sip_uri(value: str) -> str:
    if not re.match(r"^sip:[^\s]+$", value):
        raise ValueError("must be a sip: URI (sips: is not supported), e.g. sip:pbx.example.com")
    return value


def _ip(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError("must be an IPv4 address such as 203.0.113.10") from exc
    return value


def _password(value: str) -> str:
    if (
        len(value) < 12
        or not re.search(r"\d", value)
        or not re.search(r"[a-z]", value)
        or not re.search(r"[A-Z]", value)
    ):
        # Never echo the value: it is a secret.
        raise ValueError(
            "needs at least 12 characters with a digit, a lower- and an upper-case letter"
        )
    return value


E164 = Annotated[str, AfterValidator(check_e164)]
Url = Annotated[str, AfterValidator(_url)]
SipUri = Annotated[str, AfterValidator(_sip_uri)]
IPv4 = Annotated[str, AfterValidator(_ip)]
CidrPrefixLength = Annotated[int, Field(ge=0, le=32)]
SipDomainName = Annotated[str, _suffix(".sip.twilio.com")]
TrunkDomainName = Annotated[str, _suffix(".pstn.twilio.com")]
Password = Annotated[str, AfterValidator(_password)]
Username = Annotated[str, Field(min_length=1, max_length=32)]
