"""SIP Domain (api v2010 `/SIP/Domains`): the `*.sip.twilio.com` address SIP endpoints call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import (
    ByocTrunkSid,
    FriendlyName,
    HttpMethod,
    PhoneNumberSid,
    SipDomainName,
    Url,
)


class SipDomainArgs(ArgsBase):
    domain_name: SipDomainName
    friendly_name: FriendlyName | None = None
    voice_url: Url | None = None
    voice_method: HttpMethod = "POST"
    voice_fallback_url: Url | None = None
    voice_fallback_method: HttpMethod = "POST"
    voice_status_callback_url: Url | None = None
    voice_status_callback_method: HttpMethod = "POST"
    sip_registration: bool = False
    emergency_calling_enabled: bool = False
    secure: bool = False
    byoc_trunk_sid: ByocTrunkSid | None = None
    emergency_caller_sid: PhoneNumberSid | None = None


FIELDS = (
    Field("domain_name", "DomainName"),
    Field("friendly_name", "FriendlyName", clear=False),
    Field("voice_url", "VoiceUrl"),
    Field("voice_method", "VoiceMethod"),
    Field("voice_fallback_url", "VoiceFallbackUrl"),
    Field("voice_fallback_method", "VoiceFallbackMethod"),
    Field("voice_status_callback_url", "VoiceStatusCallbackUrl"),
    Field("voice_status_callback_method", "VoiceStatusCallbackMethod"),
    Field("sip_registration", "SipRegistration"),
    Field("emergency_calling_enabled", "EmergencyCallingEnabled"),
    Field("secure", "Secure"),
    Field("byoc_trunk_sid", "ByocTrunkSid"),
    Field("emergency_caller_sid", "EmergencyCallerSid"),
)


def sip_domain_params(args: SipDomainArgs) -> dict[str, str]:
    """Create/update form params; unset URLs and SIDs are sent empty so Twilio clears them."""
    return form_params(args, FIELDS)


def normalise_sip_domain(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="SipDomain",
    args=SipDomainArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{sid}.json",
    key=("domain_name",),
    name_fields=("domain_name",),
    params=sip_domain_params,
    update_params=sip_domain_params,
    normaliser=normalise_sip_domain,
)


class SipDomainProvider(TwilioProvider[SipDomainArgs]):
    kind = KIND


class SipDomain(TwilioResource, module="twilio", name="SipDomain"):
    """A SIP domain; adopted by `domain_name` if it already exists in the account."""

    provider_class = SipDomainProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    voice_url: pulumi.Output[str | None]
