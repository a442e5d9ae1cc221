"""Connection policy (voice v1 `/v1/ConnectionPolicies`): where BYOC calls to your SBCs go."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import FriendlyName


class ConnectionPolicyArgs(ArgsBase):
    friendly_name: FriendlyName


FIELDS = (Field("friendly_name", "FriendlyName"),)


def connection_policy_params(args: ConnectionPolicyArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_connection_policy(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="ConnectionPolicy",
    args=ConnectionPolicyArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/ConnectionPolicies",
    instance_path="/v1/ConnectionPolicies/{sid}",
    key=("friendly_name",),
    params=connection_policy_params,
    update_params=connection_policy_params,
    normaliser=normalise_connection_policy,
)


class ConnectionPolicyProvider(TwilioProvider[ConnectionPolicyArgs]):
    kind = KIND


class ConnectionPolicy(TwilioResource, module="twilio", name="ConnectionPolicy"):
    """A connection policy; adopted by `friendly_name` (keep names unique in the account)."""

    provider_class = ConnectionPolicyProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
