"""TwiML Application (api v2010 `/Applications`): voice URLs shared by numbers and clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import FriendlyName, HttpMethod, Url


class ApplicationArgs(ArgsBase):
    friendly_name: FriendlyName
    voice_url: Url | None = None
    voice_method: HttpMethod = "POST"
    voice_fallback_url: Url | None = None
    voice_fallback_method: HttpMethod = "POST"
    status_callback: Url | None = None
    status_callback_method: HttpMethod = "POST"
    voice_caller_id_lookup: bool = False


FIELDS = (
    Field("friendly_name", "FriendlyName"),
    Field("voice_url", "VoiceUrl"),
    Field("voice_method", "VoiceMethod"),
    Field("voice_fallback_url", "VoiceFallbackUrl"),
    Field("voice_fallback_method", "VoiceFallbackMethod"),
    Field("status_callback", "StatusCallback"),
    Field("status_callback_method", "StatusCallbackMethod"),
    Field("voice_caller_id_lookup", "VoiceCallerIdLookup"),
)


def application_params(args: ApplicationArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_application(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="Application",
    args=ApplicationArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/Applications.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/Applications/{sid}.json",
    key=("friendly_name",),
    list_filters=(("FriendlyName", "friendly_name"),),
    params=application_params,
    update_params=application_params,
    normaliser=normalise_application,
)


class ApplicationProvider(TwilioProvider[ApplicationArgs]):
    kind = KIND


class Application(TwilioResource, module="twilio", name="Application"):
    """A TwiML app; adopted by `friendly_name` (keep names unique in the account)."""

    provider_class = ApplicationProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    friendly_name: pulumi.Output[str]
    voice_url: pulumi.Output[str | None]
