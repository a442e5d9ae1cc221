"""Inbound processing region (routes v2): which Twilio region handles a target's inbound calls.

The target is exactly one of `phone_number` (E.164), `sip_domain` (`*.sip.twilio.com`) or
`sip_trunk_domain` (`*.pstn.twilio.com`); Twilio keys these by that natural key, not a SID, so
the resource id is `<field>/<key>`. Routes have no create or delete: create sets the region
(idempotent), destroy puts it back to `us1`, Twilio's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import model_validator

from infra.client import Record, TwilioApi
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import E164, FriendlyName, SipDomainName, TrunkDomainName, VoiceRegion

DEFAULT_REGION = "us1"
# target field -> routes v2 collection
TARGETS: dict[str, str] = {
    "phone_number": "PhoneNumbers",
    "sip_domain": "SipDomains",
    "sip_trunk_domain": "Trunks",
}


class InboundProcessingRegionArgs(ArgsBase):
    phone_number: E164 | None = None
    sip_domain: SipDomainName | None = None
    sip_trunk_domain: TrunkDomainName | None = None
    voice_region: VoiceRegion
    friendly_name: FriendlyName | None = None

    @model_validator(mode="after")
    def _one_target(self) -> InboundProcessingRegionArgs:
        if sum(1 for name in TARGETS if getattr(self, name)) != 1:
            raise ValueError("set exactly one of phone_number, sip_domain, sip_trunk_domain")
        return self


FIELDS = (
    Field("phone_number", mode="replace"),
    Field("sip_domain", mode="replace"),
    Field("sip_trunk_domain", mode="replace"),
    Field("voice_region", "VoiceRegion"),
    Field("friendly_name", "FriendlyName", clear=False),
)


def target_of(values: Mapping[str, Any]) -> tuple[str, str]:
    """(target field, natural key) of an args dump, outputs or resource id."""
    for name in TARGETS:
        if values.get(name):
            return name, str(values[name])
    raise ValueError("no phone_number, sip_domain or sip_trunk_domain")


def route_path(field: str, key: str) -> str:
    return f"/v2/{TARGETS[field]}/{key}"


def route_id(field: str, key: str) -> str:
    return f"{field}/{key}"


def inbound_processing_region_params(args: InboundProcessingRegionArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_inbound_processing_region(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="InboundProcessingRegion",
    args=InboundProcessingRegionArgs,
    fields=FIELDS,
    host="routes",
    list_path="",
    instance_path="",
    name_fields=("phone_number", "sip_domain", "sip_trunk_domain"),
    params=inbound_processing_region_params,
    update_params=inbound_processing_region_params,
    normaliser=normalise_inbound_processing_region,
)


class InboundProcessingRegionProvider(TwilioProvider[InboundProcessingRegionArgs]):
    kind = KIND

    def instance_path(self, api: TwilioApi, values: Mapping[str, Any], sid: str) -> str:
        if any(values.get(name) for name in TARGETS):
            return route_path(*target_of(values))
        field, _, key = sid.partition("/")
        return route_path(field, key)

    def record_id(self, record: Mapping[str, Any]) -> str:
        return route_id(*target_of(record))

    def create_record(self, api: TwilioApi, args: InboundProcessingRegionArgs) -> Record:
        path = route_path(*target_of(args.model_dump()))
        return api.update(self.kind.host, path, inbound_processing_region_params(args))

    def delete_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> None:
        path = self.instance_path(api, props, sid)
        api.update(self.kind.host, path, {"VoiceRegion": DEFAULT_REGION})


class InboundProcessingRegion(TwilioResource, module="twilio", name="InboundProcessingRegion"):
    """Pins inbound processing of one number, SIP domain or trunk to `voice_region`."""

    provider_class = InboundProcessingRegionProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    voice_region: pulumi.Output[str]
