"""Domain auth: an IP ACL admitting calls to a SIP domain.

Twilio path: `/SIP/Domains/{SD}/Auth/Calls/IpAccessControlListMappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import DomainSid, IpAccessControlListSid


class SipDomainCallsIpAccessControlListMappingArgs(ArgsBase):
    domain_sid: DomainSid
    ip_access_control_list_sid: IpAccessControlListSid


FIELDS = (
    Field("domain_sid", mode="replace", output=False),
    Field("ip_access_control_list_sid", "IpAccessControlListSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name")


def sip_domain_calls_ip_access_control_list_mapping_params(
    args: SipDomainCallsIpAccessControlListMappingArgs,
) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_sip_domain_calls_ip_access_control_list_mapping(
    record: Mapping[str, Any],
) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="SipDomainCallsIpAccessControlListMapping",
    args=SipDomainCallsIpAccessControlListMappingArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Calls/IpAccessControlListMappings.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/Domains/{domain_sid}/Auth/Calls/IpAccessControlListMappings/{sid}.json",
    lookup_by_get="ip_access_control_list_sid",
    name_fields=("ip_access_control_list_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=sip_domain_calls_ip_access_control_list_mapping_params,
    normaliser=normalise_sip_domain_calls_ip_access_control_list_mapping,
)


class SipDomainCallsIpAccessControlListMappingProvider(
    TwilioProvider[SipDomainCallsIpAccessControlListMappingArgs]
):
    kind = KIND


class SipDomainCallsIpAccessControlListMapping(
    TwilioResource, module="twilio", name="SipDomainCallsIpAccessControlListMapping"
):
    """Adopted when the association already exists (looked up by `ip_access_control_list_sid`)."""

    provider_class = SipDomainCallsIpAccessControlListMappingProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    domain_sid: pulumi.Output[str]
    ip_access_control_list_sid: pulumi.Output[str]
