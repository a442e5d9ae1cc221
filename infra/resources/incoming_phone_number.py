"""Incoming phone number (api v2010 `/IncomingPhoneNumbers`): the voice config of an owned number.

Numbers are adopted, never bought: create finds the number by E.164 in the account and applies
the declared voice configuration. Destroy resets that configuration (voice URLs, fallback,
status callback, application, trunk) and leaves the number in the account; it is released
(DELETE) only with `release_on_destroy=True`. Twilio keeps at most one of
`voice_application_sid` and `trunk_sid`; setting one clears the other, so only the declared one
is sent and the other compares as unset: no perpetual diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pulumi
from pydantic import model_validator

from infra.client import Record, TwilioApi
from infra.errors import ProviderError
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import E164, ApplicationSid, FriendlyName, HttpMethod, TrunkSid, Url


class IncomingPhoneNumberArgs(ArgsBase):
    phone_number: E164
    friendly_name: FriendlyName | None = None
    voice_url: Url | None = None
    voice_method: HttpMethod = "POST"
    voice_fallback_url: Url | None = None
    voice_fallback_method: HttpMethod = "POST"
    status_callback: Url | None = None
    status_callback_method: HttpMethod = "POST"
    voice_caller_id_lookup: bool = False
    # "fax" stops the number taking voice calls: declared "voice", so drift and `up` see it.
    voice_receive_mode: Literal["voice", "fax"] = "voice"
    voice_application_sid: ApplicationSid | None = None
    trunk_sid: TrunkSid | None = None
    release_on_destroy: bool = False

    @model_validator(mode="after")
    def _one_router(self) -> IncomingPhoneNumberArgs:
        if self.voice_application_sid and self.trunk_sid:
            raise ValueError(
                "set at most one of voice_application_sid and trunk_sid: Twilio keeps only one"
            )
        return self


FIELDS = (
    Field("phone_number", mode="replace"),
    Field("friendly_name", "FriendlyName", clear=False),
    Field("voice_url", "VoiceUrl"),
    Field("voice_method", "VoiceMethod"),
    Field("voice_fallback_url", "VoiceFallbackUrl"),
    Field("voice_fallback_method", "VoiceFallbackMethod"),
    Field("status_callback", "StatusCallback"),
    Field("status_callback_method", "StatusCallbackMethod"),
    Field("voice_caller_id_lookup", "VoiceCallerIdLookup"),
    Field("voice_receive_mode", "VoiceReceiveMode"),
    Field("voice_application_sid", "VoiceApplicationSid"),
    Field("trunk_sid", "TrunkSid"),
    Field("release_on_destroy", mode="local"),
)

# What destroy sends when the number is kept: no voice routing left pointing at this stack.
RESET_PARAMS: dict[str, str] = {
    "VoiceUrl": "",
    "VoiceFallbackUrl": "",
    "StatusCallback": "",
    "VoiceApplicationSid": "",
    "TrunkSid": "",
}


def incoming_phone_number_params(args: IncomingPhoneNumberArgs) -> dict[str, str]:
    """Update params for the number's voice config (the number itself is never sent)."""
    params = form_params(args, FIELDS)
    # Sending the declared router alone makes Twilio clear the other; sending both would
    # make the result depend on Twilio's processing order.
    if args.voice_application_sid:
        del params["TrunkSid"]
    elif args.trunk_sid:
        del params["VoiceApplicationSid"]
    return params


def normalise_incoming_phone_number(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="IncomingPhoneNumber",
    args=IncomingPhoneNumberArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json",
    instance_path="/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json",
    key=("phone_number",),
    list_filters=(("PhoneNumber", "phone_number"),),
    name_fields=("phone_number",),
    params=incoming_phone_number_params,
    update_params=incoming_phone_number_params,
    normaliser=normalise_incoming_phone_number,
)


class IncomingPhoneNumberProvider(TwilioProvider[IncomingPhoneNumberArgs]):
    kind = KIND

    def create_record(self, api: TwilioApi, args: IncomingPhoneNumberArgs) -> Record:
        found = self.lookup(api, args)
        if found is None:
            raise ProviderError(
                f"IncomingPhoneNumber {args.phone_number}: account {api.account_sid} does not own "
                "this number. This project never buys numbers: buy or port it in the Twilio "
                "Console (or move it into this account), or fix the E.164 in the spec."
            )
        return self.adopt(api, args, found)

    def delete_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> None:
        path = self.instance_path(api, props, sid)
        if props.get("release_on_destroy") is True:
            api.delete(self.kind.host, path)
        else:
            api.update(self.kind.host, path, RESET_PARAMS)


class IncomingPhoneNumber(TwilioResource, module="twilio", name="IncomingPhoneNumber"):
    """Voice config of a number the account owns. Give it `protect=True` in the program."""

    provider_class = IncomingPhoneNumberProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    phone_number: pulumi.Output[str]
    voice_url: pulumi.Output[str | None]
    voice_application_sid: pulumi.Output[str | None]
    trunk_sid: pulumi.Output[str | None]
    voice_receive_mode: pulumi.Output[str]
