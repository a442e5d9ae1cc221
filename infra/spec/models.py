"""The environment spec: one frozen pydantic model tree per stack (`twilio-voice:environment`).

Field names are the YAML keys documented in docs/environment-spec.md. Checks that need only one
value live in `infra.spec.fields`; checks across the tree (names, references, duplicates) live in
`infra.spec.rules`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Annotated, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from infra.spec.context import SpecContext
from infra.spec.fields import (
    E164,
    MIN_PASSWORD_LENGTH,
    AccountSid,
    ApiKeySid,
    Bool,
    CallbackFlow,
    CidrPrefix,
    Edge,
    Flow,
    FriendlyName,
    IPv4,
    Name,
    Priority,
    PublicUrl,
    Region,
    SipDomainName,
    SipUri,
    TrunkDomainName,
    Username,
    Weight,
)
from infra.spec.secret import Secret
from infra.twilio_enums import RecordingMode, RecordingTrim, TransferCallerId, TransferMode
from infra.urls import CALL_FLOW_ROUTES
from webhook_app.callflow.model import CallFlows

AuthMode = Literal["auth_token", "api_key"]


class SpecModel(BaseModel):
    """Base of every spec model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


HttpMethod = Literal["GET", "POST"]


def _check_external_url(value: str, info: ValidationInfo) -> str:
    """A webhook the app does not serve (Studio flow, Function, third party): an absolute
    https:// URL (http only on `local`), no credentials in it."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise PydanticCustomError("url", "'{value}' is not a valid URL", {"value": value}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError(
            "url",
            "'{value}' must be an absolute https:// URL (a Studio flow's webhook, a Function, a "
            "third-party endpoint)",
            {"value": value[:200]},
        )
    if parts.scheme == "http" and not SpecContext.of(info).is_local:
        raise PydanticCustomError(
            "url",
            "'{value}' uses plain http; Twilio webhooks outside the `local` stack must use "
            "https://",
            {"value": value[:200]},
        )
    if parts.username or parts.password:
        raise PydanticCustomError(
            "url",
            "an external URL must not embed credentials (they would sit in the stack file in "
            "clear text)",
        )
    return value


ExternalUrl = Annotated[
    str,
    AfterValidator(_check_external_url),
    WithJsonSchema({"type": "string", "format": "uri"}),
]


class ExternalTargets(SpecModel):
    """Mixin fields: webhooks outside the app, for what a flow cannot name (import writes these).

    `external_url` (+ `external_method`) replaces `flow`; `fallback_external_url` replaces
    `fallback_flow`; `status_callback_external_url` replaces `status_callback_flow`.
    """

    external_url: ExternalUrl | None = None
    external_method: HttpMethod = "POST"
    fallback_external_url: ExternalUrl | None = None
    status_callback_external_url: ExternalUrl | None = None

    def _one_of_each(self) -> None:
        for flow_key, url_key in (
            ("flow", "external_url"),
            ("fallback_flow", "fallback_external_url"),
            ("status_callback_flow", "status_callback_external_url"),
        ):
            if getattr(self, flow_key, None) is not None and getattr(self, url_key) is not None:
                raise PydanticCustomError(
                    "external_url",
                    "{flow_key} and {url_key} both set: a webhook is either one of the app's "
                    "flows or an external URL; keep one",
                    {"flow_key": flow_key, "url_key": url_key},
                )

    def _voice_targets(self) -> list[str]:
        """Which of flow, call_flow and external_url are set (a voice URL has one source)."""
        return [
            k for k in ("flow", "call_flow", "external_url") if getattr(self, k, None) is not None
        ]

    def _at_most_one_voice_target(self) -> list[str]:
        self._one_of_each()
        targets = self._voice_targets()
        if len(targets) > 1:
            raise PydanticCustomError(
                "voice_target",
                "{found} set: the voice URL comes from exactly one of flow (one of the app's "
                "routes), call_flow (a flow of call_flows) or external_url; keep one",
                {"found": " and ".join(targets) + (" both" if len(targets) == 2 else " all")},
            )
        return targets

    def _one_voice_target(self) -> None:
        if not self._at_most_one_voice_target():
            raise PydanticCustomError(
                "voice_target",
                "needs a flow (one of the app's), a call_flow (one of call_flows.flows) or an "
                "external_url",
            )


class Credentials(SpecModel):
    """How the providers authenticate, and which account this stack belongs to."""

    account_sid: AccountSid | None = None
    auth: AuthMode = "auth_token"
    api_key_sid: ApiKeySid | None = None

    @model_validator(mode="after")
    def _api_key_pairing(self) -> Credentials:
        if self.auth == "api_key" and self.api_key_sid is None:
            raise PydanticCustomError(
                "credentials",
                "auth: api_key needs api_key_sid (SK...); add it, or use auth: auth_token",
            )
        if self.auth == "auth_token" and self.api_key_sid is not None:
            raise PydanticCustomError(
                "credentials",
                "api_key_sid is set but auth is auth_token; set auth: api_key or remove "
                "api_key_sid",
            )
        return self


class PhoneNumber(ExternalTargets):
    """An adopted number (never bought). Exactly one of flow / call_flow / external_url /
    application / trunk routes calls."""

    e164: E164
    friendly_name: FriendlyName | None = None
    flow: Flow | None = None
    call_flow: Name | None = None  # a flow of call_flows.flows
    fallback_flow: Flow | None = None
    status_callback_flow: CallbackFlow | None = None
    application: Name | None = None
    trunk: Name | None = None
    region: Region | None = None
    release_on_destroy: Bool = False

    @model_validator(mode="after")
    def _one_route(self) -> PhoneNumber:
        self._one_of_each()
        routes = [
            k
            for k in ("flow", "call_flow", "external_url", "application", "trunk")
            if getattr(self, k) is not None
        ]
        if len(routes) != 1:
            found = ", ".join(routes) if routes else "none"
            raise PydanticCustomError(
                "number_route",
                "number {e164} must route by exactly one of flow, call_flow, external_url, "
                "application or trunk (found: {found}); keep one",
                {"e164": self.e164, "found": found},
            )
        if self.flow is None and self.call_flow is None and self.external_url is None:
            extra = [
                k
                for k in (
                    "fallback_flow",
                    "status_callback_flow",
                    "fallback_external_url",
                    "status_callback_external_url",
                )
                if getattr(self, k)
            ]
            if extra:
                raise PydanticCustomError(
                    "number_route",
                    "{keys}: Twilio ignores a number's own fallback and status callback URLs "
                    "when it routes by {route}; remove them",
                    {"keys": " and ".join(extra), "route": routes[0]},
                )
        return self


class Application(ExternalTargets):
    """A TwiML App: its voice URL is one of the app's flows or an external URL."""

    name: Name
    friendly_name: FriendlyName | None = None
    flow: Flow | None = None
    call_flow: Name | None = None  # a flow of call_flows.flows
    fallback_flow: Flow | None = None
    status_callback_flow: CallbackFlow | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Application:
        self._one_voice_target()
        return self


class CallsAuth(SpecModel):
    credential_lists: tuple[Name, ...] = ()
    ip_access_control_lists: tuple[Name, ...] = ()


class RegistrationsAuth(SpecModel):
    credential_lists: tuple[Name, ...] = ()


class SipDomainAuth(SpecModel):
    calls: CallsAuth = CallsAuth()
    registrations: RegistrationsAuth = RegistrationsAuth()


class SipDomain(ExternalTargets):
    name: Name
    domain_name: SipDomainName
    friendly_name: FriendlyName | None = None
    flow: Flow | None = None
    call_flow: Name | None = None  # a flow of call_flows.flows
    fallback_flow: Flow | None = None
    status_callback_flow: CallbackFlow | None = None
    sip_registration: Bool = False
    secure: Bool = False
    emergency_calling_enabled: Bool = False
    byoc_trunk: Name | None = None
    region: Region | None = None
    auth: SipDomainAuth = SipDomainAuth()

    @model_validator(mode="after")
    def _one_target(self) -> SipDomain:
        self._one_voice_target()
        return self


class Credential(SpecModel):
    """A SIP credential. The password is a Pulumi secret outside `local`.

    Without `password` the credential exists in Twilio and is adopted by username, but its
    password is not managed (never sent, never rotated): what import writes, since Twilio never
    returns a password. Set one to manage it from then on.
    """

    username: Username
    password: Secret | None = None

    @field_validator("password")
    @classmethod
    def _password_rules(cls, value: Secret | None, info: ValidationInfo) -> Secret | None:
        if value is None:
            return None
        ctx = SpecContext.of(info)
        if not value.is_secure and not ctx.is_local:
            raise PydanticCustomError(
                "plaintext_secret",
                "password is plain text; outside the `local` stack it must be a Pulumi secret "
                "({secure: ...})",
            )
        if value.has_plaintext:
            check_password_strength(value.reveal())
        return value


class CredentialList(SpecModel):
    name: Name
    friendly_name: FriendlyName | None = None
    credentials: tuple[Credential, ...] = ()


class IpAddress(SpecModel):
    """An IP ACL entry: `ip_address` must be the network address of its CIDR."""

    name: Name
    # Before ip_address, so the network-address check sees the prefix length.
    cidr_prefix_length: CidrPrefix = 32
    ip_address: IPv4

    @field_validator("ip_address")
    @classmethod
    def _network_address(cls, value: str, info: ValidationInfo) -> str:
        check_network_address(value, info.data.get("cidr_prefix_length", 32))
        return value


class IpAccessControlList(SpecModel):
    name: Name
    friendly_name: FriendlyName | None = None
    ip_addresses: tuple[IpAddress, ...] = ()


class Recording(SpecModel):
    mode: RecordingMode = "do-not-record"
    trim: RecordingTrim = "do-not-trim"


class OriginationUrl(SpecModel):
    name: Name
    sip_url: SipUri
    priority: Priority = 10
    weight: Weight = 10
    enabled: Bool = True


class TrunkTermination(SpecModel):
    credential_lists: tuple[Name, ...] = ()
    ip_access_control_lists: tuple[Name, ...] = ()


class Trunk(SpecModel):
    """An Elastic SIP trunk. Its phone numbers are declared on the numbers (`trunk:`)."""

    name: Name
    domain_name: TrunkDomainName
    friendly_name: FriendlyName | None = None
    secure: Bool = False
    cnam_lookup_enabled: Bool = False
    transfer_mode: TransferMode = "disable-all"
    transfer_caller_id: TransferCallerId = "from-transferee"
    recording: Recording = Recording()
    disaster_recovery_flow: Flow | None = None
    region: Region | None = None
    origination_urls: tuple[OriginationUrl, ...] = ()
    termination: TrunkTermination = TrunkTermination()


class ByocTrunk(ExternalTargets):
    name: Name
    friendly_name: FriendlyName | None = None
    flow: Flow | None = None
    call_flow: Name | None = None  # a flow of call_flows.flows
    fallback_flow: Flow | None = None
    status_callback_flow: CallbackFlow | None = None
    cnam_lookup_enabled: Bool = False
    connection_policy: Name | None = None
    from_domain: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ByocTrunk:
        self._at_most_one_voice_target()
        return self


class ConnectionPolicyTarget(SpecModel):
    name: Name
    target: SipUri
    priority: Priority = 10
    weight: Weight = 10
    enabled: Bool = True


class ConnectionPolicy(SpecModel):
    name: Name
    friendly_name: FriendlyName | None = None
    targets: tuple[ConnectionPolicyTarget, ...] = Field(min_length=1)


class IpRecord(SpecModel):
    name: Name
    friendly_name: FriendlyName | None = None
    # Before ip_address, so the network-address check sees the prefix length.
    cidr_prefix_length: CidrPrefix = 32
    ip_address: IPv4

    @field_validator("ip_address")
    @classmethod
    def _network_address(cls, value: str, info: ValidationInfo) -> str:
        check_network_address(value, info.data.get("cidr_prefix_length", 32))
        return value


class SourceIpMapping(SpecModel):
    ip_record: Name
    sip_domain: Name


def _check_iso_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code of a country with a numbering plan (what Twilio lists)."""
    if value not in phonenumbers.SUPPORTED_REGIONS:
        hint = (
            f"; write it in capitals ({value.upper()})"
            if value.upper() in phonenumbers.SUPPORTED_REGIONS
            else ""
        )
        raise PydanticCustomError(
            "iso_country",
            "'{value}' is not an ISO 3166-1 alpha-2 country code Twilio can dial (e.g. US, GB, "
            "DE){hint}",
            {"value": value[:20], "hint": hint},
        )
    return value


IsoCountry = Annotated[
    str,
    AfterValidator(_check_iso_country),
    WithJsonSchema({"type": "string", "enum": sorted(phonenumbers.SUPPORTED_REGIONS)}),
]
RiskClass = Literal["low_risk", "high_risk_special", "high_risk_tollfraud"]
RISK_CLASSES: tuple[RiskClass, ...] = ("low_risk", "high_risk_special", "high_risk_tollfraud")


class DialingCountry(SpecModel):
    """A country the account may call, and which of Twilio's risk classes of its numbers."""

    iso_code: IsoCountry
    risk_classes: tuple[RiskClass, ...] = ("low_risk",)

    @field_validator("risk_classes")
    @classmethod
    def _some_distinct(cls, value: tuple[RiskClass, ...]) -> tuple[RiskClass, ...]:
        if not value:
            raise PydanticCustomError(
                "risk_classes",
                "is empty: list at least low_risk, or remove the country (undeclared countries "
                "are switched off)",
            )
        if len(set(value)) != len(value):
            raise PydanticCustomError("risk_classes", "names a risk class twice; keep one")
        return value


class DialingPermissions(SpecModel):
    """Voice geo permissions: the declared countries are on, every other country is off.

    `inherit` (subaccounts): true uses the parent account's permissions (Twilio's default for
    a subaccount), false the subaccount's own; unset leaves the setting alone.
    """

    inherit: Bool | None = None
    countries: tuple[DialingCountry, ...] = ()

    @model_validator(mode="after")
    def _inherit_or_own(self) -> DialingPermissions:
        if self.inherit and self.countries:
            raise PydanticCustomError(
                "dialing_inherit",
                "inherit: true makes Twilio use the parent account's permissions, so the "
                "countries declared here would have no effect; set inherit: false or remove "
                "countries",
            )
        return self

    def allowed(self, risk: RiskClass) -> list[str]:
        """ISO codes of the countries allowing `risk`."""
        return [c.iso_code for c in self.countries if risk in c.risk_classes]


# The spec lists whose entries are entry points of calls (they may name a call_flow): the keys
# of infra.urls' table of the route each enters by.
ENTRY_POINT_KEYS: tuple[str, ...] = tuple(CALL_FLOW_ROUTES)


class Environment(SpecModel):
    """The whole voice estate of one stack."""

    public_base_url: PublicUrl
    edge: Edge | None = None
    region: Region | None = None
    credentials: Credentials = Credentials()
    numbers: tuple[PhoneNumber, ...] = ()
    applications: tuple[Application, ...] = ()
    sip_domains: tuple[SipDomain, ...] = ()
    credential_lists: tuple[CredentialList, ...] = ()
    ip_access_control_lists: tuple[IpAccessControlList, ...] = ()
    trunks: tuple[Trunk, ...] = ()
    byoc_trunks: tuple[ByocTrunk, ...] = ()
    connection_policies: tuple[ConnectionPolicy, ...] = ()
    ip_records: tuple[IpRecord, ...] = ()
    source_ip_mappings: tuple[SourceIpMapping, ...] = ()
    dialing_permissions: DialingPermissions | None = None
    call_flows: CallFlows | None = None

    def entry_points(
        self,
    ) -> Iterator[tuple[str, PhoneNumber | Application | SipDomain | ByocTrunk]]:
        """Every number, application, SIP domain and BYOC trunk with its config path."""
        for key in ENTRY_POINT_KEYS:
            for i, entry in enumerate(getattr(self, key)):
                yield f"{key}[{i}]", entry

    def dial_countries(self) -> list[str] | None:
        """The countries the account may call, per dialing_permissions; None: not declared here
        (no section, or inherited from the parent account)."""
        permissions = self.dialing_permissions
        if permissions is None or permissions.inherit:
            return None
        return sorted({c.iso_code for c in permissions.countries})

    def credentials_with_paths(self) -> Iterator[tuple[str, Credential]]:
        """Every credential with its config path (`credential_lists[0].credentials[1]`)."""
        for i, clist in enumerate(self.credential_lists):
            for j, cred in enumerate(clist.credentials):
                yield f"credential_lists[{i}].credentials[{j}]", cred

    def flows_used(self) -> list[str]:
        """Every flow some resource points at, sorted."""
        flows: set[str] = set()
        resources: list[PhoneNumber | Application | SipDomain | ByocTrunk] = [
            *self.numbers,
            *self.applications,
            *self.sip_domains,
            *self.byoc_trunks,
        ]
        for res in resources:
            flows.update(f for f in (res.flow, res.fallback_flow, res.status_callback_flow) if f)
        flows.update(t.disaster_recovery_flow for t in self.trunks if t.disaster_recovery_flow)
        return sorted(flows)


def check_network_address(ip: str, prefix: int) -> None:
    """Twilio matches `ip/prefix` as a network: the address must have no host bits set."""
    network = ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
    if str(network.network_address) != ip:
        raise PydanticCustomError(
            "cidr",
            "{ip}/{prefix} is not a network address: host bits are set; use ip_address "
            "{network} with cidr_prefix_length {prefix}, or a longer prefix",
            {"ip": ip, "prefix": prefix, "network": str(network.network_address)},
        )


def check_password_strength(password: str) -> None:
    """Twilio: at least 12 characters, at least one digit, upper and lower case letters."""
    missing = []
    if len(password) < MIN_PASSWORD_LENGTH:
        missing.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if not any(c.isdigit() for c in password):
        missing.append("a digit")
    if not any(c.isupper() for c in password) or not any(c.islower() for c in password):
        missing.append("upper and lower case letters")
    if missing:
        # Never echo the password itself.
        raise PydanticCustomError(
            "weak_password",
            "password is too weak for Twilio: it needs {missing}; choose a stronger one",
            {"missing": ", ".join(missing)},
        )
