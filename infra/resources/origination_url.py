"""Trunk origination URL (trunking v1 `/v1/Trunks/{TK}/OriginationUrls`): where calls go out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import FriendlyName, Priority, SipUri, TrunkSid, Weight


class OriginationUrlArgs(ArgsBase):
    trunk_sid: TrunkSid
    friendly_name: FriendlyName
    sip_url: SipUri
    priority: Priority = 10
    weight: Weight = 10
    enabled: bool = True


FIELDS = (
    Field("trunk_sid", mode="replace"),
    Field("friendly_name", "FriendlyName"),
    Field("sip_url", "SipUrl"),
    Field("priority", "Priority"),
    Field("weight", "Weight"),
    Field("enabled", "Enabled"),
)


def origination_url_params(args: OriginationUrlArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_origination_url(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="OriginationUrl",
    args=OriginationUrlArgs,
    fields=FIELDS,
    host="trunking",
    list_path="/v1/Trunks/{trunk_sid}/OriginationUrls",
    instance_path="/v1/Trunks/{trunk_sid}/OriginationUrls/{sid}",
    key=("sip_url",),
    name_fields=("sip_url",),
    params=origination_url_params,
    update_params=origination_url_params,
    normaliser=normalise_origination_url,
)


class OriginationUrlProvider(TwilioProvider[OriginationUrlArgs]):
    kind = KIND


class OriginationUrl(TwilioResource, module="twilio", name="OriginationUrl"):
    """An origination URL; adopted by `sip_url` within the trunk."""

    provider_class = OriginationUrlProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    trunk_sid: pulumi.Output[str]
    sip_url: pulumi.Output[str]
