"""Domain auth: a credential list authenticating calls to a SIP domain.

Twilio path: `/SIP/Domains/{SD}/Auth/Calls/CredentialListMappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CredentialListSid, DomainSid


class SipDomainCallsCredentialListMappingArgs(ArgsBase):
    domain_sid: DomainSid
    credential_list_sid: CredentialListSid


FIELDS = (
    Field("domain_sid", mode="replace", output=False),
    Field("credential_list_sid", "CredentialListSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name")


def sip_domain_calls_credential_list_mapping_params(
    args: SipDomainCallsCredentialListMappingArgs,
) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_sip_domain_calls_credential_list_mapping(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="SipDomainCallsCredentialListMapping",
    args=SipDomainCallsCredentialListMappingArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Calls/CredentialListMappings.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Calls/CredentialListMappings/{sid}.json",
    lookup_by_get="credential_list_sid",
    name_fields=("credential_list_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=sip_domain_calls_credential_list_mapping_params,
    normaliser=normalise_sip_domain_calls_credential_list_mapping,
)


class SipDomainCallsCredentialListMappingProvider(
    TwilioProvider[SipDomainCallsCredentialListMappingArgs]
):
    kind = KIND


class SipDomainCallsCredentialListMapping(
    TwilioResource, module="twilio", name="SipDomainCallsCredentialListMapping"
):
    """Adopted when the association already exists (looked up by `credential_list_sid`)."""

    provider_class = SipDomainCallsCredentialListMappingProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    domain_sid: pulumi.Output[str]
    credential_list_sid: pulumi.Output[str]
