"""BYOC trunk (voice v1 `/v1/ByocTrunks`): calls from your own carrier into Twilio."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import ConnectionPolicySid, DomainSid, FriendlyName, HttpMethod, Url


class ByocTrunkArgs(ArgsBase):
    friendly_name: FriendlyName
    voice_url: Url | None = None
    voice_method: HttpMethod = "POST"
    voice_fallback_url: Url | None = None
    voice_fallback_method: HttpMethod = "POST"
    status_callback_url: Url | None = None
    status_callback_method: HttpMethod = "POST"
    cnam_lookup_enabled: bool = False
    connection_policy_sid: ConnectionPolicySid | None = None
    from_domain_sid: DomainSid | None = None


FIELDS = (
    Field("friendly_name", "FriendlyName"),
    Field("voice_url", "VoiceUrl"),
    Field("voice_method", "VoiceMethod"),
    Field("voice_fallback_url", "VoiceFallbackUrl"),
    Field("voice_fallback_method", "VoiceFallbackMethod"),
    Field("status_callback_url", "StatusCallbackUrl"),
    Field("status_callback_method", "StatusCallbackMethod"),
    Field("cnam_lookup_enabled", "CnamLookupEnabled"),
    Field("connection_policy_sid", "ConnectionPolicySid"),
    Field("from_domain_sid", "FromDomainSid"),
)


def byoc_trunk_params(args: ByocTrunkArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_byoc_trunk(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="ByocTrunk",
    args=ByocTrunkArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/ByocTrunks",
    instance_path="/v1/ByocTrunks/{sid}",
    key=("friendly_name",),
    params=byoc_trunk_params,
    update_params=byoc_trunk_params,
    normaliser=normalise_byoc_trunk,
)


class ByocTrunkProvider(TwilioProvider[ByocTrunkArgs]):
    kind = KIND


class ByocTrunk(TwilioResource, module="twilio", name="ByocTrunk"):
    """A BYOC trunk; adopted by `friendly_name` (keep names unique in the account)."""

    provider_class = ByocTrunkProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
