"""Source IP mapping (voice v1 `/v1/SourceIpMappings`): an IP record's calls go to a SIP domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import DomainSid, IpRecordSid


class SourceIpMappingArgs(ArgsBase):
    ip_record_sid: IpRecordSid
    sip_domain_sid: DomainSid


FIELDS = (
    Field("ip_record_sid", "IpRecordSid", mode="replace"),
    Field("sip_domain_sid", "SipDomainSid"),
)


def source_ip_mapping_params(args: SourceIpMappingArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def source_ip_mapping_update_params(args: SourceIpMappingArgs) -> dict[str, str]:
    return form_params(args, FIELDS, update=True)


def normalise_source_ip_mapping(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="SourceIpMapping",
    args=SourceIpMappingArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/SourceIpMappings",
    instance_path="/v1/SourceIpMappings/{sid}",
    key=("ip_record_sid",),
    name_fields=("ip_record_sid",),
    params=source_ip_mapping_params,
    update_params=source_ip_mapping_update_params,
    normaliser=normalise_source_ip_mapping,
)


class SourceIpMappingProvider(TwilioProvider[SourceIpMappingArgs]):
    kind = KIND


class SourceIpMapping(TwilioResource, module="twilio", name="SourceIpMapping"):
    """Maps an IP record to a SIP domain; adopted by `ip_record_sid`."""

    provider_class = SourceIpMappingProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    ip_record_sid: pulumi.Output[str]
    sip_domain_sid: pulumi.Output[str]
