"""Connection policy target (voice v1 `/v1/ConnectionPolicies/{NY}/Targets`): one SBC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import ConnectionPolicySid, FriendlyName, Priority, SipUri, Weight


class ConnectionPolicyTargetArgs(ArgsBase):
    connection_policy_sid: ConnectionPolicySid
    target: SipUri
    friendly_name: FriendlyName | None = None
    priority: Priority = 10
    weight: Weight = 10
    enabled: bool = True


FIELDS = (
    Field("connection_policy_sid", mode="replace"),
    Field("target", "Target"),
    Field("friendly_name", "FriendlyName", clear=False),
    Field("priority", "Priority"),
    Field("weight", "Weight"),
    Field("enabled", "Enabled"),
)


def connection_policy_target_params(args: ConnectionPolicyTargetArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_connection_policy_target(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="ConnectionPolicyTarget",
    args=ConnectionPolicyTargetArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/ConnectionPolicies/{connection_policy_sid}/Targets",
    instance_path="/v1/ConnectionPolicies/{connection_policy_sid}/Targets/{sid}",
    key=("target",),
    name_fields=("target",),
    params=connection_policy_target_params,
    update_params=connection_policy_target_params,
    normaliser=normalise_connection_policy_target,
)


class ConnectionPolicyTargetProvider(TwilioProvider[ConnectionPolicyTargetArgs]):
    kind = KIND


class ConnectionPolicyTarget(TwilioResource, module="twilio", name="ConnectionPolicyTarget"):
    """A target SBC; adopted by `target` within the policy."""

    provider_class = ConnectionPolicyTargetProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    connection_policy_sid: pulumi.Output[str]
    target: pulumi.Output[str]
