"""SIP Credential (api v2010 `/SIP/CredentialLists/{CL}/Credentials`): one username/password.

Twilio never returns the password. Outputs keep `password_hash` (scrypt, random salt) instead,
so a rotated password is detected by diff and applied by update, with no perpetual diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from infra.client import Record, TwilioApi
from infra.errors import ProviderError
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.kind import ArgsBase, Field, Kind, form_params, normalise_fields
from infra.resources.types import CredentialListSid, Password, Username


class CredentialArgs(ArgsBase):
    credential_list_sid: CredentialListSid
    username: Username
    # None: the credential exists and is adopted by username, its password is not managed.
    password: Password | None = None


FIELDS = (
    Field("credential_list_sid", mode="replace"),
    Field("username", "Username", mode="replace"),
    Field("password", "Password", mode="write_only"),
)


def credential_params(args: CredentialArgs) -> dict[str, str]:
    """Create params: Username and Password."""
    return form_params(args, FIELDS)


def credential_update_params(args: CredentialArgs) -> dict[str, str]:
    """Update params: only Password can change in place."""
    return form_params(args, FIELDS, update=True)


def normalise_credential(record: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_fields(record, FIELDS)


KIND = Kind(
    name="Credential",
    args=CredentialArgs,
    fields=FIELDS,
    host="api",
    list_path="/2010-04-01/Accounts/{account_sid}/SIP/CredentialLists/{credential_list_sid}/Credentials.json",
    instance_path=(
        "/2010-04-01/Accounts/{account_sid}/SIP/CredentialLists/{credential_list_sid}"
        "/Credentials/{sid}.json"
    ),
    key=("username",),
    name_fields=("username",),
    secret_outputs=("password_hash",),
    params=credential_params,
    update_params=credential_update_params,
    normaliser=normalise_credential,
)


class CredentialProvider(TwilioProvider[CredentialArgs]):
    kind = KIND

    def create_record(self, api: TwilioApi, args: CredentialArgs) -> Record:
        if args.password is None and self.lookup(api, args) is None:
            # Adopting needs the credential to exist; creating one needs a password.
            raise ProviderError(
                f"Credential {args.username}: not in its credential list, and no password is "
                "declared (the password is not managed); set a password to create it"
            )
        return super().create_record(api, args)


class Credential(TwilioResource, module="twilio", name="Credential"):
    """A SIP credential; pass `password` as a Pulumi secret. `password_hash` is marked secret."""

    provider_class = CredentialProvider
    sid: pulumi.Output[str]
    account_sid: pulumi.Output[str]
    credential_list_sid: pulumi.Output[str]
    username: pulumi.Output[str]
    password_hash: pulumi.Output[str]
