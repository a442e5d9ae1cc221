"""Domain auth: a credential list for SIP registrations on a domain.

Twilio path: `/SIP/Domains/{SD}/Auth/Registrations/CredentialListMappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CredentialListSid, DomainSid


class SipDomainRegistrationsCredentialListMappingArgs(ArgsBase):
    domain_sid: DomainSid
    credential_list_sid: CredentialListSid


FIELDS = (
    Field("domain_sid", mode="replace", output=False),
    Field("credential_list_sid", "CredentialListSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name")


def sip_domain_registrations_credential_list_mapping_params(
    args: SipDomainRegistrationsCredentialListMappingArgs,
) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_sip_domain_registrations_credential_list_mapping(
    record: Mapping[str, Any],
) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="SipDomainRegistrationsCredentialListMapping",
    args=SipDomainRegistrationsCredentialListMappingArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Registrations/CredentialListMappings.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Registrations/CredentialListMappings/{sid}.json",
    lookup_by_get="credential_list_sid",
    name_fields=("credential_list_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=sip_domain_registrations_credential_list_mapping_params,
    normaliser=normalise_sip_domain_registrations_credential_list_mapping,
)


class SipDomainRegistrationsCredentialListMappingProvider(
    TwilioProvider[SipDomainRegistrationsCredentialListMappingArgs]
):
    kind = KIND


class SipDomainRegistrationsCredentialListMapping(
    TwilioResource, module="twilio", name="SipDomainRegistrationsCredentialListMapping"
):
    """Adopted when the association already exists (looked up by `credential_list_sid`)."""

    provider_class = SipDomainRegistrationsCredentialListMappingProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    domain_sid: pulumi.Output[str]
    credential_list_sid: pulumi.Output[str]
