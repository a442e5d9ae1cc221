"""SIP IP address (api v2010 `/SIP/IpAccessControlLists/{AL}/IpAddresses`): one allowed range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CidrPrefixLength, FriendlyName, IpAccessControlListSid, IPv4


class IpAddressArgs(ArgsBase):
    ip_access_control_list_sid: IpAccessControlListSid
    friendly_name: FriendlyName
    ip_address: IPv4
    cidr_prefix_length: CidrPrefixLength = 32


FIELDS = (
    Field("ip_access_control_list_sid", mode="replace"),
    Field("friendly_name", "FriendlyName"),
    Field("ip_address", "IpAddress"),
    Field("cidr_prefix_length", "CidrPrefixLength"),
)


def ip_address_params(args: IpAddressArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_ip_address(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="IpAddress",
    args=IpAddressArgs,
    fields=FIELDS,
    host="api",
    list_path=(
        "/2010-04-01/Accounts/{account_sid}/SIP/IpAccessControlLists/{ip_access_control_list_sid}"
        "/IpAddresses.json"
    ),
    instance_path=(
        "/2010-04-01/Accounts/{account_sid}/SIP/IpAccessControlLists/{ip_access_control_list_sid}"
        "/IpAddresses/{sid}.json"
    ),
    key=("ip_address",),
    name_fields=("ip_address",),
    params=ip_address_params,
    update_params=ip_address_params,
    normaliser=normalise_ip_address,
)


class IpAddressProvider(TwilioProvider[IpAddressArgs]):
    kind = KIND


class IpAddress(TwilioResource, module="twilio", name="IpAddress"):
    """An address range in an IP ACL; adopted by `ip_address` within the list."""

    provider_class = IpAddressProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    ip_access_control_list_sid: pulumi.Output[str]
    ip_address: pulumi.Output[str]
    cidr_prefix_length: pulumi.Output[int]
