"""What each Twilio resource kind is, in one place: names, labels, keys, where it is declared.

Pure data (no Pulumi, no HTTP). The plan (`infra.plan`) names and keys its nodes with it, drift
lists and labels the live account with it, the policy pack and the validate summary read their
kind names and type tokens from it. The provider side of a kind (field table, REST paths, diff
rules) lives in `infra.resources.<kind>`; `name` is the key between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TYPE_PREFIX = "pulumi-python:dynamic/twilio:"


@dataclass(frozen=True)
class KindMeta:
    """One kind as the spec, the plan, drift and the policy pack see it.

    `key_fields`: the natural key Twilio and the providers identify a resource by (joined with
    "/"), prefixed by the parent's key for a child; an association is keyed by the key of the
    resource it maps instead. `list_path`: (host, path) drift lists the kind with, `{account}`
    and `{parent}` (the parent's SID) filled in; None: drift does not list it.
    """

    name: str
    label: str  # what a report calls one
    spec_path: str  # where to declare one
    key_fields: tuple[str, ...] = ("friendly_name",)
    parent: str | None = None  # the kind it is a child of
    parent_field: str | None = None  # the input naming the parent's SID
    association: bool = False  # compared as a set of keys, no fields
    list_path: tuple[str, str] | None = None
    unmanaged_fails: bool = True  # numbers: the account may own numbers no stack declares
    compared: bool = True  # drift compares it (region pins: no list endpoint)
    noun: str = ""  # what spec messages and the validate summary call one (default: label)

    def __post_init__(self) -> None:
        if not self.noun:
            object.__setattr__(self, "noun", self.label)

    @property
    def plural(self) -> str:
        if self.noun.endswith("y"):
            return self.noun[:-1] + "ies"
        return self.noun + ("es" if self.noun.endswith("s") else "s")

    @property
    def spec_key(self) -> str | None:
        """The top-level spec list that declares one (`sip_domains`); None for nested ones."""
        path = self.spec_path.removesuffix("[]")
        return path if path != self.spec_path and "." not in path and "[" not in path else None

    @property
    def type_token(self) -> str:
        """The Pulumi type (`pulumi-python:dynamic/twilio:<Kind>`)."""
        return TYPE_PREFIX + self.name

    def natural_key(
        self, values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> str:
        """The key part of `values` (a spec props mapping or a live Twilio record)."""
        parts = (values.get(f, (defaults or {}).get(f)) for f in self.key_fields)
        return "/".join("" if v is None else str(v) for v in parts)


_API = "/2010-04-01/Accounts/{account}"
_DOMAIN_AUTH = _API + "/SIP/Domains/{parent}/Auth"

# In report order.
KINDS: tuple[KindMeta, ...] = (
    KindMeta(
        "IncomingPhoneNumber",
        "phone number",
        "numbers[]",
        key_fields=("phone_number",),
        list_path=("api", _API + "/IncomingPhoneNumbers.json"),
        unmanaged_fails=False,
        noun="number",
    ),
    KindMeta(
        "Application",
        "TwiML application",
        "applications[]",
        noun="application",
        list_path=("api", _API + "/Applications.json"),
    ),
    KindMeta(
        "SipDomain",
        "SIP domain",
        "sip_domains[]",
        key_fields=("domain_name",),
        list_path=("api", _API + "/SIP/Domains.json"),
    ),
    KindMeta(
        "SipDomainCallsCredentialListMapping",
        "SIP domain calls credential list mapping",
        "sip_domains[].auth.calls.credential_lists",
        parent="SipDomain",
        parent_field="domain_sid",
        association=True,
        list_path=("api", _DOMAIN_AUTH + "/Calls/CredentialListMappings.json"),
    ),
    KindMeta(
        "SipDomainCallsIpAccessControlListMapping",
        "SIP domain calls IP ACL mapping",
        "sip_domains[].auth.calls.ip_access_control_lists",
        parent="SipDomain",
        parent_field="domain_sid",
        association=True,
        list_path=("api", _DOMAIN_AUTH + "/Calls/IpAccessControlListMappings.json"),
    ),
    KindMeta(
        "SipDomainRegistrationsCredentialListMapping",
        "SIP domain registrations credential list mapping",
        "sip_domains[].auth.registrations.credential_lists",
        parent="SipDomain",
        parent_field="domain_sid",
        association=True,
        list_path=("api", _DOMAIN_AUTH + "/Registrations/CredentialListMappings.json"),
    ),
    KindMeta(
        "CredentialList",
        "credential list",
        "credential_lists[]",
        list_path=("api", _API + "/SIP/CredentialLists.json"),
    ),
    KindMeta(
        "Credential",
        "SIP credential",
        "credential_lists[].credentials[]",
        noun="credential",
        key_fields=("username",),
        parent="CredentialList",
        parent_field="credential_list_sid",
        list_path=("api", _API + "/SIP/CredentialLists/{parent}/Credentials.json"),
    ),
    KindMeta(
        "IpAccessControlList",
        "IP access control list",
        "ip_access_control_lists[]",
        list_path=("api", _API + "/SIP/IpAccessControlLists.json"),
    ),
    KindMeta(
        "IpAddress",
        "IP ACL entry",
        "ip_access_control_lists[].ip_addresses[]",
        noun="IP address",
        key_fields=("ip_address",),
        parent="IpAccessControlList",
        parent_field="ip_access_control_list_sid",
        list_path=("api", _API + "/SIP/IpAccessControlLists/{parent}/IpAddresses.json"),
    ),
    KindMeta(
        "Trunk",
        "Elastic SIP trunk",
        "trunks[]",
        noun="trunk",
        key_fields=("domain_name",),
        list_path=("trunking", "/v1/Trunks"),
    ),
    KindMeta(
        "OriginationUrl",
        "origination URL",
        "trunks[].origination_urls[]",
        key_fields=("sip_url",),
        parent="Trunk",
        parent_field="trunk_sid",
        list_path=("trunking", "/v1/Trunks/{parent}/OriginationUrls"),
    ),
    KindMeta(
        "TrunkCredentialList",
        "trunk termination credential list",
        "trunks[].termination.credential_lists",
        parent="Trunk",
        parent_field="trunk_sid",
        association=True,
        list_path=("trunking", "/v1/Trunks/{parent}/CredentialLists"),
    ),
    KindMeta(
        "TrunkIpAccessControlList",
        "trunk termination IP ACL",
        "trunks[].termination.ip_access_control_lists",
        parent="Trunk",
        parent_field="trunk_sid",
        association=True,
        list_path=("trunking", "/v1/Trunks/{parent}/IpAccessControlLists"),
    ),
    # A number's trunk is its own `trunk_sid` (one resource owns that Twilio field): drift
    # derives these from the numbers list, the program never registers one.
    KindMeta(
        "TrunkPhoneNumber",
        "trunk phone number",
        "numbers[].trunk",
        key_fields=("phone_number",),
        parent="Trunk",
        parent_field="trunk_sid",
        association=True,
    ),
    KindMeta(
        "ByocTrunk",
        "BYOC trunk",
        "byoc_trunks[]",
        list_path=("voice", "/v1/ByocTrunks"),
    ),
    KindMeta(
        "ConnectionPolicy",
        "connection policy",
        "connection_policies[]",
        list_path=("voice", "/v1/ConnectionPolicies"),
    ),
    KindMeta(
        "ConnectionPolicyTarget",
        "connection policy target",
        "connection_policies[].targets[]",
        noun="target",
        key_fields=("target",),
        parent="ConnectionPolicy",
        parent_field="connection_policy_sid",
        list_path=("voice", "/v1/ConnectionPolicies/{parent}/Targets"),
    ),
    KindMeta(
        "IpRecord",
        "IP record",
        "ip_records[]",
        key_fields=("ip_address", "cidr_prefix_length"),
        list_path=("voice", "/v1/IpRecords"),
    ),
    KindMeta(
        "SourceIpMapping",
        "source IP mapping",
        "source_ip_mappings[]",
        parent="IpRecord",
        parent_field="ip_record_sid",
        association=True,
        list_path=("voice", "/v1/SourceIpMappings"),
    ),
    # Voice geo permissions: a country is keyed by its ISO code; drift lists the countries only
    # for a stack that declares dialing_permissions, and a country on in Twilio that the stack
    # does not declare is unmanaged (switched on in the Console).
    KindMeta(
        "DialingPermissionsCountry",
        "dialing permissions country",
        "dialing_permissions.countries[]",
        key_fields=("iso_code",),
        list_path=("voice", "/v1/DialingPermissions/Countries"),
        noun="country",
    ),
    # One per account: the inheritance setting, and "every undeclared country off".
    KindMeta(
        "DialingPermissionsSettings",
        "dialing permissions settings",
        "dialing_permissions",
        key_fields=(),
        noun="dialing permissions",
    ),
    KindMeta(
        "InboundProcessingRegion",
        "inbound processing region",
        "region (of a number, SIP domain or trunk)",
        key_fields=(),
        compared=False,
    ),
)
KIND_META: dict[str, KindMeta] = {k.name: k for k in KINDS}


def kind_of_type(resource_type: str) -> str | None:
    """`pulumi-python:dynamic/twilio:Trunk` -> `Trunk`; None for any other type."""
    return (
        resource_type.removeprefix(TYPE_PREFIX) if resource_type.startswith(TYPE_PREFIX) else None
    )
