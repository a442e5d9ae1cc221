"""Trunk termination auth: an IP ACL on a trunk (`/v1/Trunks/{TK}/IpAccessControlLists`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import IpAccessControlListSid, TrunkSid


class TrunkIpAccessControlListArgs(ArgsBase):
    trunk_sid: TrunkSid
    ip_access_control_list_sid: IpAccessControlListSid


FIELDS = (
    Field("trunk_sid", mode="replace", output=True),
    Field("ip_access_control_list_sid", "IpAccessControlListSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name")


def trunk_ip_access_control_list_params(args: TrunkIpAccessControlListArgs) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_trunk_ip_access_control_list(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="TrunkIpAccessControlList",
    args=TrunkIpAccessControlListArgs,
    fields=FIELDS,
    host="trunking",
    list_path="/v1/Trunks/{trunk_sid}/IpAccessControlLists",
    instance_path="/v1/Trunks/{trunk_sid}/IpAccessControlLists/{sid}",
    lookup_by_get="ip_access_control_list_sid",
    name_fields=("ip_access_control_list_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=trunk_ip_access_control_list_params,
    normaliser=normalise_trunk_ip_access_control_list,
)


class TrunkIpAccessControlListProvider(TwilioProvider[TrunkIpAccessControlListArgs]):
    kind = KIND


class TrunkIpAccessControlList(TwilioResource, module="twilio", name="TrunkIpAccessControlList"):
    """Adopted when the association already exists (looked up by `ip_access_control_list_sid`)."""

    provider_class = TrunkIpAccessControlListProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    trunk_sid: pulumi.Output[str]
    ip_access_control_list_sid: pulumi.Output[str]
