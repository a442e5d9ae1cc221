"""The account's dialing permissions settings (voice v1 `/v1/Settings`), and "everything else off".

One per stack that declares `dialing_permissions`. It sets the subaccount's inheritance of the
parent account's permissions when declared, and switches off every country the stack does not
declare (`managed_countries`, kept in state): create and update list the countries once (one
page of 1,000 holds them all) and send one bulk update for those still on. Read reports the
undeclared countries that are on as `other_countries_enabled`, so `pulumi refresh` sees a
country switched on in the Console and `pulumi up --refresh` switches it off again. Destroy
puts inheritance back to Twilio's default (`true`) and leaves the countries alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import Field as PydanticField

from infra.client import Record, TwilioApi
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.dialing_permissions_country import FLAGS, switch
from infra.resources.kind import ArgsBase, Field, Kind, form_params

SETTINGS_PATH = "/v1/Settings"
COUNTRIES_PATH = "/v1/DialingPermissions/Countries"
SETTINGS_ID = "dialing-permissions"
DEFAULT_INHERITANCE = True
MAX_BULK = 300


class DialingPermissionsSettingsArgs(ArgsBase):
    dialing_permissions_inheritance: bool | None = None
    managed_countries: list[str] = PydanticField(default_factory=list)
    # Declared: always []; read: the undeclared countries that are on.
    other_countries_enabled: list[str] = PydanticField(default_factory=list)


FIELDS = (
    Field("dialing_permissions_inheritance", "DialingPermissionsInheritance", clear=False),
    Field("managed_countries", mode="local"),
    Field("other_countries_enabled", mode="local"),
)


def dialing_permissions_settings_params(args: DialingPermissionsSettingsArgs) -> dict[str, str]:
    return form_params(args, FIELDS)


def normalise_dialing_permissions_settings(record: Mapping[str, Any]) -> dict[str, Any]:
    outs: dict[str, Any] = {
        "sid": SETTINGS_ID,
        "other_countries_enabled": sorted(record.get("other_countries_enabled") or []),
    }
    if record.get("dialing_permissions_inheritance") is not None:
        outs["dialing_permissions_inheritance"] = bool(record["dialing_permissions_inheritance"])
    return outs


KIND = Kind(
    name="DialingPermissionsSettings",
    args=DialingPermissionsSettingsArgs,
    fields=FIELDS,
    host="voice",
    list_path=COUNTRIES_PATH,
    instance_path=SETTINGS_PATH,
    name_fields=(),
    extra_outputs=("sid", "account_sid"),
    params=dialing_permissions_settings_params,
    update_params=dialing_permissions_settings_params,
    normaliser=normalise_dialing_permissions_settings,
)


def enabled_countries(api: TwilioApi) -> list[str]:
    """ISO codes of every country with any risk class on (one list call)."""
    return sorted(
        str(c["iso_code"])
        for c in api.list(KIND.host, COUNTRIES_PATH)
        if any(c.get(f) for f in FLAGS)
    )


class DialingPermissionsSettingsProvider(TwilioProvider[DialingPermissionsSettingsArgs]):
    kind = KIND

    def label(self, values: Mapping[str, Any], fallback: str = "") -> str:
        return "DialingPermissionsSettings"

    def record_id(self, record: Mapping[str, Any]) -> str:
        return SETTINGS_ID

    def _live(self, api: TwilioApi, inheritance: bool, managed: list[str]) -> Record:
        record: Record = {
            "other_countries_enabled": [c for c in enabled_countries(api) if c not in managed]
        }
        if inheritance:
            record.update(api.fetch(self.kind.host, SETTINGS_PATH))
        return record

    def fetch_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> Record:
        declared = props.get("dialing_permissions_inheritance") is not None
        return self._live(api, declared, list(props.get("managed_countries") or []))

    def create_record(self, api: TwilioApi, args: DialingPermissionsSettingsArgs) -> Record:
        record: Record = {}
        params = dialing_permissions_settings_params(args)
        if params:
            record.update(api.update(self.kind.host, SETTINGS_PATH, params))
        others = [c for c in enabled_countries(api) if c not in args.managed_countries]
        for start in range(0, len(others), MAX_BULK):
            switch(api, [{"iso_code": iso} for iso in others[start : start + MAX_BULK]])
        record["other_countries_enabled"] = []
        return record

    def update_record(
        self,
        api: TwilioApi,
        sid: str,
        args: DialingPermissionsSettingsArgs,
        olds: Mapping[str, Any],
    ) -> Record:
        return self.create_record(api, args)

    def delete_record(self, api: TwilioApi, sid: str, props: Mapping[str, Any]) -> None:
        if props.get("dialing_permissions_inheritance") is not None:
            api.update(
                self.kind.host,
                SETTINGS_PATH,
                {"DialingPermissionsInheritance": "true" if DEFAULT_INHERITANCE else "false"},
            )


class DialingPermissionsSettings(
    TwilioResource, module="twilio", name="DialingPermissionsSettings"
):
    """Inheritance from the parent account, and every country the stack does not declare off."""

    provider_class = DialingPermissionsSettingsProvider
    account_sid: pulumi.Output[str]
    dialing_permissions_inheritance: pulumi.Output[bool]
    managed_countries: pulumi.Output[list[str]]
    other_countries_enabled: pulumi.Output[list[str]]
