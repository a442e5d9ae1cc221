"""Elastic SIP trunk (trunking v1 `/v1/Trunks`), including its recording singleton.

Recording (`recording_mode`, `recording_trim`) lives on `/v1/Trunks/{TK}/Recording`; the trunk
JSON echoes it as `recording: {mode, trim}`, which the normaliser flattens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import model_validator

from infra.client import Record, TwilioApi
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, comparable, form_params, normalise_fields
from infra.resources.types import FriendlyName, HttpMethod, TrunkDomainName, Url
from infra.twilio_enums import RecordingMode, RecordingTrim, TransferCallerId, TransferMode


class TrunkArgs(ArgsBase):
    friendly_name: FriendlyName | None = None
    domain_name: TrunkDomainName | None = None
    disaster_recovery_url: Url | None = None
    disaster_recovery_method: HttpMethod = "POST"
    transfer_mode: TransferMode = "disable-all"
    transfer_caller_id: TransferCallerId = "from-transferee"
    secure: bool = False
    cnam_lookup_enabled: bool = False
    recording_mode: RecordingMode = "do-not-record"
    recording_trim: RecordingTrim = "do-not-trim"

    @model_validator(mode="after")
    def _has_key(self) -> TrunkArgs:
        if not (self.domain_name or self.friendly_name):
            raise ValueError(
                "set domain_name (or at least friendly_name): it is how a retried create finds "
                "the trunk instead of making a second one"
            )
        return self


FIELDS = (
    Field("friendly_name", "FriendlyName", clear=False),
    Field("domain_name", "DomainName"),
    Field("disaster_recovery_url", "DisasterRecoveryUrl"),
    Field("disaster_recovery_method", "DisasterRecoveryMethod"),
    Field("transfer_mode", "TransferMode"),
    Field("transfer_caller_id", "TransferCallerId"),
    Field("secure", "Secure"),
    Field("cnam_lookup_enabled", "CnamLookupEnabled"),
    # Sent to the Recording sub-resource, not the trunk (see trunk_recording_params).
    Field("recording_mode"),
    Field("recording_trim"),
)


def trunk_params(args: TrunkArgs) -> dict[str, str]:
    """Trunk create/update params (recording excluded)."""
    return form_params(args, FIELDS)


def trunk_recording_params(args: TrunkArgs) -> dict[str, str]:
    """Params for POST /v1/Trunks/{TK}/Recording."""
    return {"Mode": args.recording_mode, "Trim": args.recording_trim}


def normalise_trunk(record: Mapping[str, Any]) -> dict[str, Any]:
    outs = normalise_fields(record, FIELDS)
    recording = record.get("recording")
    recording = recording if isinstance(recording, Mapping) else {}
    outs["recording_mode"] = comparable(recording.get("mode"))
    outs["recording_trim"] = comparable(recording.get("trim"))
    return outs


KIND = Kind(
    name="Trunk",
    args=TrunkArgs,
    fields=FIELDS,
    host="trunking",
    list_path="/v1/Trunks",
    instance_path="/v1/Trunks/{sid}",
    key=("domain_name",),
    name_fields=("domain_name", "friendly_name"),
    params=trunk_params,
    update_params=trunk_params,
    normaliser=normalise_trunk,
)


class TrunkProvider(TwilioProvider[TrunkArgs]):
    kind = KIND

    def matches(self, args: TrunkArgs, record: Mapping[str, Any]) -> bool:
        if args.domain_name:
            return record.get("domain_name") == args.domain_name
        return record.get("friendly_name") == args.friendly_name

    def lookup(self, api: TwilioApi, args: TrunkArgs) -> Record | None:
        for record in api.list(self.kind.host, self.kind.list_path):
            if self.matches(args, record):
                return record
        return None

    def _sync_recording(self, api: TwilioApi, args: TrunkArgs, record: Record) -> Record:
        current = normalise_trunk(record)
        if (current["recording_mode"], current["recording_trim"]) == (
            args.recording_mode,
            args.recording_trim,
        ):
            return record
        path = f"/v1/Trunks/{record['sid']}/Recording"
        recording = api.update(self.kind.host, path, trunk_recording_params(args))
        return {**record, "recording": recording}

    def after_create(self, api: TwilioApi, args: TrunkArgs, record: Record) -> Record:
        return self._sync_recording(api, args, record)

    def update_record(
        self, api: TwilioApi, sid: str, args: TrunkArgs, olds: Mapping[str, Any]
    ) -> Record:
        record = api.update(self.kind.host, f"/v1/Trunks/{sid}", trunk_params(args))
        return self._sync_recording(api, args, record)


class Trunk(TwilioResource, module="twilio", name="Trunk"):
    """An Elastic SIP trunk; adopted by `domain_name` (else `friendly_name`)."""

    provider_class = TrunkProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    domain_name: pulumi.Output[str | None]
    recording_mode: pulumi.Output[str]
    recording_trim: pulumi.Output[str]
