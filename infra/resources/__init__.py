"""Twilio resource kinds as Pulumi dynamic providers, one module per kind (see docs/providers.md).

Every module holds: `<Kind>Args` (frozen pydantic model), `<kind>_params(args)` (PascalCase
form params), `normalise_<kind>(record)` (live JSON -> comparable outputs), `KIND` (the declared
field/diff table), `<Kind>Provider` and the typed `<Kind>` resource.
"""

from __future__ import annotations

from typing import Any

from infra.kinds import TYPE_PREFIX
from infra.resources.application import Application, ApplicationProvider
from infra.resources.base import TwilioProvider, TwilioResource
from infra.resources.byoc_trunk import ByocTrunk, ByocTrunkProvider
from infra.resources.connection_policy import ConnectionPolicy, ConnectionPolicyProvider
from infra.resources.connection_policy_target import (
    ConnectionPolicyTarget,
    ConnectionPolicyTargetProvider,
)
from infra.resources.credential import Credential, CredentialProvider
from infra.resources.credential_list import CredentialList, CredentialListProvider
from infra.resources.dialing_permissions_country import (
    DialingPermissionsCountry,
    DialingPermissionsCountryProvider,
)
from infra.resources.dialing_permissions_settings import (
    DialingPermissionsSettings,
    DialingPermissionsSettingsProvider,
)
from infra.resources.inbound_processing_region import (
    InboundProcessingRegion,
    InboundProcessingRegionProvider,
)
from infra.resources.incoming_phone_number import IncomingPhoneNumber, IncomingPhoneNumberProvider
from infra.resources.ip_access_control_list import IpAccessControlList, IpAccessControlListProvider
from infra.resources.ip_address import IpAddress, IpAddressProvider
from infra.resources.ip_record import IpRecord, IpRecordProvider
from infra.resources.kind import Kind, diff_props
from infra.resources.origination_url import OriginationUrl, OriginationUrlProvider
from infra.resources.sip_domain import SipDomain, SipDomainProvider
from infra.resources.sip_domain_calls_credential_list_mapping import (
    SipDomainCallsCredentialListMapping,
    SipDomainCallsCredentialListMappingProvider,
)
from infra.resources.sip_domain_calls_ip_access_control_list_mapping import (
    SipDomainCallsIpAccessControlListMapping,
    SipDomainCallsIpAccessControlListMappingProvider,
)
from infra.resources.sip_domain_registrations_credential_list_mapping import (
    SipDomainRegistrationsCredentialListMapping,
    SipDomainRegistrationsCredentialListMappingProvider,
)
from infra.resources.source_ip_mapping import SourceIpMapping, SourceIpMappingProvider
from infra.resources.trunk import Trunk, TrunkProvider
from infra.resources.trunk_credential_list import TrunkCredentialList, TrunkCredentialListProvider
from infra.resources.trunk_ip_access_control_list import (
    TrunkIpAccessControlList,
    TrunkIpAccessControlListProvider,
)
from infra.resources.trunk_phone_number import TrunkPhoneNumber, TrunkPhoneNumberProvider

# Every provider class, keyed by kind name. These are pickled into state by reference
# (module + class name): never rename or move one without keeping an alias here.
PROVIDERS: dict[str, type[TwilioProvider[Any]]] = {
    cls.kind.name: cls
    for cls in (
        IncomingPhoneNumberProvider,
        ApplicationProvider,
        SipDomainProvider,
        SipDomainCallsCredentialListMappingProvider,
        SipDomainCallsIpAccessControlListMappingProvider,
        SipDomainRegistrationsCredentialListMappingProvider,
        CredentialListProvider,
        CredentialProvider,
        IpAccessControlListProvider,
        IpAddressProvider,
        TrunkProvider,
        OriginationUrlProvider,
        TrunkCredentialListProvider,
        TrunkIpAccessControlListProvider,
        TrunkPhoneNumberProvider,
        ByocTrunkProvider,
        ConnectionPolicyProvider,
        ConnectionPolicyTargetProvider,
        IpRecordProvider,
        SourceIpMappingProvider,
        InboundProcessingRegionProvider,
        DialingPermissionsCountryProvider,
        DialingPermissionsSettingsProvider,
    )
}
KINDS: dict[str, Kind[Any]] = {name: cls.kind for name, cls in PROVIDERS.items()}

__all__ = [
    "KINDS",
    "PROVIDERS",
    "TYPE_PREFIX",
    "Application",
    "ByocTrunk",
    "ConnectionPolicy",
    "ConnectionPolicyTarget",
    "Credential",
    "CredentialList",
    "DialingPermissionsCountry",
    "DialingPermissionsSettings",
    "InboundProcessingRegion",
    "IncomingPhoneNumber",
    "IpAccessControlList",
    "IpAddress",
    "IpRecord",
    "Kind",
    "OriginationUrl",
    "SipDomain",
    "SipDomainCallsCredentialListMapping",
    "SipDomainCallsIpAccessControlListMapping",
    "SipDomainRegistrationsCredentialListMapping",
    "SourceIpMapping",
    "Trunk",
    "TrunkCredentialList",
    "TrunkIpAccessControlList",
    "TrunkPhoneNumber",
    "TwilioResource",
    "diff_props",
]
