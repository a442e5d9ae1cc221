"""Trunk termination auth: a credential list on a trunk (`/v1/Trunks/{TK}/CredentialLists`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CredentialListSid, TrunkSid


class TrunkCredentialListArgs(ArgsBase):
    trunk_sid: TrunkSid
    credential_list_sid: CredentialListSid


FIELDS = (
    Field("trunk_sid", mode="replace", output=True),
    Field("credential_list_sid", "CredentialListSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name")


def trunk_credential_list_params(args: TrunkCredentialListArgs) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_trunk_credential_list(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="TrunkCredentialList",
    args=TrunkCredentialListArgs,
    fields=FIELDS,
    host="trunking",
    list_path="/v1/Trunks/{trunk_sid}/CredentialLists",
    instance_path="/v1/Trunks/{trunk_sid}/CredentialLists/{sid}",
    lookup_by_get="credential_list_sid",
    name_fields=("credential_list_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=trunk_credential_list_params,
    normaliser=normalise_trunk_credential_list,
)


class TrunkCredentialListProvider(TwilioProvider[TrunkCredentialListArgs]):
    kind = KIND


class TrunkCredentialList(TwilioResource, module="twilio", name="TrunkCredentialList"):
    """Adopted when the association already exists (looked up by `credential_list_sid`)."""

    provider_class = TrunkCredentialListProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    trunk_sid: pulumi.Output[str]
    credential_list_sid: pulumi.Output[str]
