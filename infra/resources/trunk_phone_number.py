"""A number routed to an Elastic SIP trunk (`/v1/Trunks/{TK}/PhoneNumbers`).

Prefer `IncomingPhoneNumber.trunk_sid` when the number is also managed here: both set the same
Twilio field, and two resources owning one field fight.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import PhoneNumberSid, TrunkSid


class TrunkPhoneNumberArgs(ArgsBase):
    trunk_sid: TrunkSid
    phone_number_sid: PhoneNumberSid


FIELDS = (
    Field("trunk_sid", mode="replace", output=True),
    Field("phone_number_sid", "PhoneNumberSid", mode="replace", output=False),
)
EXTRA_OUTPUTS = ("sid", "account_sid", "friendly_name", "phone_number")


def trunk_phone_number_params(args: TrunkPhoneNumberArgs) -> dict[str, str]:
    """Create params (an association has no update: any change replaces it)."""
    return form_params(args, FIELDS)


def normalise_trunk_phone_number(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS, EXTRA_OUTPUTS)


KIND = Kind(
    name="TrunkPhoneNumber",
    args=TrunkPhoneNumberArgs,
    fields=FIELDS,
    host="trunking",
    list_path="/v1/Trunks/{trunk_sid}/PhoneNumbers",
    instance_path="/v1/Trunks/{trunk_sid}/PhoneNumbers/{sid}",
    lookup_by_get="phone_number_sid",
    name_fields=("phone_number_sid",),
    extra_outputs=EXTRA_OUTPUTS,
    params=trunk_phone_number_params,
    normaliser=normalise_trunk_phone_number,
)


class TrunkPhoneNumberProvider(TwilioProvider[TrunkPhoneNumberArgs]):
    kind = KIND


class TrunkPhoneNumber(TwilioResource, module="twilio", name="TrunkPhoneNumber"):
    """Adopted when the association already exists (looked up by `phone_number_sid`)."""

    provider_class = TrunkPhoneNumberProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    trunk_sid: pulumi.Output[str]
    phone_number_sid: pulumi.Output[str]
