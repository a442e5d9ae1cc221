"""Dialing permissions of one country (voice v1 `/v1/DialingPermissions/Countries/{IsoCode}`).

Which of Twilio's risk classes of a country's numbers the account may call: low-risk numbers,
high-risk special services (premium, shared cost, ...) and high-risk toll-fraud (IRSF) ranges.
Countries are not created or deleted in Twilio, only switched: create and update send one
`BulkCountryUpdates` request with every flag of this country (idempotent, so retried directly),
delete switches all three off. The id is the ISO code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import pulumi
from pydantic import Field as PydanticField

from infra.client import Record, TwilioApi
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, normalise_fields

IsoCode = Annotated[str, PydanticField(pattern=r"^[A-Z]{2}$")]
BULK_PATH = "/v1/DialingPermissions/BulkCountryUpdates"
COUNTRY_PATH = "/v1/DialingPermissions/Countries/{iso_code}"
FLAGS = (
    "low_risk_numbers_enabled",
    "high_risk_special_numbers_enabled",
    "high_risk_tollfraud_numbers_enabled",
)


class DialingPermissionsCountryArgs(ArgsBase):
    iso_code: IsoCode
    low_risk_numbers_enabled: bool = False
    high_risk_special_numbers_enabled: bool = False
    high_risk_tollfraud_numbers_enabled: bool = False


# No field is a form param of its own: they travel together as the JSON `UpdateRequest`.
FIELDS = (Field("iso_code", mode="replace"), *(Field(name) for name in FLAGS))


def update_request(updates: list[Mapping[str, Any]]) -> dict[str, str]:
    """The form of a bulk update: flags as the strings "true"/"false", as Twilio documents."""
    body = [
        {"iso_code": u["iso_code"], **{f: "true" if u.get(f) else "false" for f in FLAGS}}
        for u in updates
    ]
    return {"UpdateRequest": json.dumps(body, separators=(",", ":"))}


def dialing_permissions_country_params(args: DialingPermissionsCountryArgs) -> dict[str, str]:
    return update_request([args.model_dump()])


def normalise_dialing_permissions_country(record: Mapping[str, Any]) -> dict[str, Any]:
    outs = normalise_fields(record, FIELDS, ("account_sid",))
    for name in FLAGS:
        outs[name] = bool(outs.get(name))
    outs["sid"] = outs.get("iso_code")  # a country's id is its ISO code
    return outs


KIND = Kind(
    name="DialingPermissionsCountry",
    args=DialingPermissionsCountryArgs,
    fields=FIELDS,
    host="voice",
    list_path="/v1/DialingPermissions/Countries",
    instance_path=COUNTRY_PATH,
    key=("iso_code",),
    name_fields=("iso_code",),
    extra_outputs=("sid", "account_sid"),
    params=dialing_permissions_country_params,
    update_params=dialing_permissions_country_params,
    normaliser=normalise_dialing_permissions_country,
)


def switch(api: TwilioApi, updates: list[Mapping[str, Any]]) -> None:
    """One bulk update (setting flags is idempotent: a retry sets the same values again)."""
    api.update(KIND.host, BULK_PATH, update_request(updates))


class DialingPermissionsCountryProvider(TwilioProvider[DialingPermissionsCountryArgs]):
    kind = KIND

    def record_id(self, record: Mapping[str, Any]) -> str:
        return str(record["iso_code"])

    def fetch_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> Record:
        return api.fetch(self.kind.host, COUNTRY_PATH.format(iso_code=props.get("iso_code") or sid))

    def create_record(self, api: TwilioApi, args: DialingPermissionsCountryArgs) -> Record:
        switch(api, [args.model_dump()])
        return self.fetch_record(api, args.iso_code, args.model_dump())

    def update_record(
        self,
        api: TwilioApi,
        sid: str,
        args: DialingPermissionsCountryArgs,
        olds: Mapping[str, Any],
    ) -> Record:
        return self.create_record(api, args)

    def delete_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> None:
        switch(api, [{"iso_code": props.get("iso_code") or sid}])


class DialingPermissionsCountry(TwilioResource, module="twilio", name="DialingPermissionsCountry"):
    """The risk classes of one country's numbers the account may dial; destroy switches all off."""

    provider_class = DialingPermissionsCountryProvider
    account_sid: pulumi.Output[str]
    iso_code: pulumi.Output[str]
    low_risk_numbers_enabled: pulumi.Output[bool]
    high_risk_special_numbers_enabled: pulumi.Output[bool]
    high_risk_tollfraud_numbers_enabled: pulumi.Output[bool]
