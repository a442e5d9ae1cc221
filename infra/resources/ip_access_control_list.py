"""SIP IP Access Control List (api v2010 `/SIP/IpAccessControlLists`): allowed source IPs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import FriendlyName


class IpAccessControlListArgs(ArgsBase):
    friendly_name: FriendlyName


FIELDS = (Field("friendly_name", "FriendlyName"),)


def ip_access_control_list_params(args: IpAccessControlListArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_ip_access_control_list(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="IpAccessControlList",
    args=IpAccessControlListArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/IpAccessControlLists.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/IpAccessControlLists/{sid}.json",
    key=("friendly_name",),
    params=ip_access_control_list_params,
    update_params=ip_access_control_list_params,
    normaliser=normalise_ip_access_control_list,
)


class IpAccessControlListProvider(TwilioProvider[IpAccessControlListArgs]):
    kind = KIND


class IpAccessControlList(TwilioResource, module="twilio", name="IpAccessControlList"):
    """An IP ACL; adopted by `friendly_name` (keep names unique in the account)."""

    provider_class = IpAccessControlListProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
