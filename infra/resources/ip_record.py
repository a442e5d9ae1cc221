"""IP record (voice v1 `/v1/IpRecords`): a carrier address BYOC traffic may come from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CidrPrefixLength, FriendlyName, IPv4


class IpRecordArgs(ArgsBase):
    ip_address: IPv4
    cidr_prefix_length: CidrPrefixLength = 32
    friendly_name: FriendlyName | None = None


FIELDS = (
    Field("ip_address", "IpAddress", mode="replace"),
    Field("cidr_prefix_length", "CidrPrefixLength", mode="replace"),
    Field("friendly_name", "FriendlyName", clear=False),
)


def ip_record_params(args: IpRecordArgs) -> dict[str, str]:
    """Create params; only FriendlyName can be updated (see ip_record_update_params)."""
    return form_params(args, FIELDS)


def ip_record_update_params(args: IpRecordArgs) -> dict[str, str]:
    return form_params(args, FIELDS, update=True)


def normalise_ip_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="IpRecord",
    args=IpRecordArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/IpRecords",
    instance_path="/v1/IpRecords/{sid}",
    key=("ip_address", "cidr_prefix_length"),
    name_fields=("friendly_name", "ip_address"),
    params=ip_record_params,
    update_params=ip_record_update_params,
    normaliser=normalise_ip_record,
)


class IpRecordProvider(TwilioProvider[IpRecordArgs]):
    kind = KIND


class IpRecord(TwilioResource, module="twilio", name="IpRecord"):
    """An IP record; adopted by `ip_address` + `cidr_prefix_length`."""

    provider_class = IpRecordProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    ip_address: pulumi.Output[str]
