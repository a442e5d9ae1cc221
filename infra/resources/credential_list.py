"""SIP Credential List (api v2010 `/SIP/CredentialLists`): usernames/passwords for SIP auth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import FriendlyName


class CredentialListArgs(ArgsBase):
    friendly_name: FriendlyName


FIELDS = (Field("friendly_name", "FriendlyName"),)


def credential_list_params(args: CredentialListArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_credential_list(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="CredentialList",
    args=CredentialListArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/CredentialLists.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/SIP/CredentialLists/{sid}.json",
    key=("friendly_name",),
    params=credential_list_params,
    update_params=credential_list_params,
    normaliser=normalise_credential_list,
)


class CredentialListProvider(TwilioProvider[CredentialListArgs]):
    kind = KIND


class CredentialList(TwilioResource, module="twilio", name="CredentialList"):
    """A credential list; adopted by `friendly_name` (keep names unique in the account)."""

    provider_class = CredentialListProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
