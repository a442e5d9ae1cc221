"""Every resource kind the emulator serves, as data (paths, SID prefix, fields, keys, parents).

Field names, types, enums and required parameters follow Twilio's OpenAPI specs
(`@twilio/cli-core` 9.0.0); the team reference is shared/reference/twilio-api.md.
"""

from __future__ import annotations

from typing import Any

from emulator import errors
from emulator.fields import Field, check_password, domain_suffix_check
from emulator.kinds import Kind, Parent, Reference

ACCOUNT = "/2010-04-01/Accounts/{AccountSid}"
SIP = f"{ACCOUNT}/SIP"
FRIENDLY = Field("friendly_name", max_length=255)
# Twilio's inbound processing regions (routes v2 `VoiceRegion`).
REGIONS = ("us1", "us2", "ie1", "de1", "au1", "jp1", "sg1", "br1")


def _url(name: str, **kw: Any) -> Field:
    return Field(name, "url", **kw)


def _method(name: str, **kw: Any) -> Field:
    return Field(name, "method", default="POST", **kw)


def _bool(name: str, default: bool = False, **kw: Any) -> Field:
    return Field(name, "bool", default=default, **kw)


def _sid(name: str, prefix: str, ref: str = "", **kw: Any) -> Field:
    return Field(name, "sid", prefix=prefix, ref=ref, **kw)


def _out(name: str, default: object = None) -> Field:
    return Field(name, default=default, create=False, update=False)


VOICE_CALLBACKS = (
    _url("voice_url"),
    _method("voice_method"),
    _url("voice_fallback_url"),
    _method("voice_fallback_method"),
)

SMS_CALLBACKS = (
    _url("sms_url"),
    _method("sms_method"),
    _url("sms_fallback_url"),
    _method("sms_fallback_method"),
)

NUMBER_FIELDS = (
    FRIENDLY,
    _out("phone_number"),
    *VOICE_CALLBACKS,
    *SMS_CALLBACKS,
    _url("status_callback"),
    _method("status_callback_method"),
    _bool("voice_caller_id_lookup"),
    _sid("voice_application_sid", "AP", "application"),
    _sid("sms_application_sid", "AP", "application"),
    _sid("trunk_sid", "TK", "trunk"),
    Field("voice_receive_mode", "enum", default="voice", enum=("voice", "fax")),
    Field("emergency_status", "enum", default="Inactive", enum=("Active", "Inactive")),
    _sid("emergency_address_sid", "AD"),
    _sid("address_sid", "AD"),
    _sid("identity_sid", "RI"),
    _sid("bundle_sid", "BU"),
    Field("api_version", default="2010-04-01"),
    _out("emergency_address_status", "unregistered"),
    _out("address_requirements", "none"),
    _out("beta", False),
    _out("origin", "twilio"),
    _out("status", "in-use"),
    _out("type", "local"),
    _out("capabilities", {"voice": True, "sms": True, "mms": True, "fax": False}),
)

INCOMING_PHONE_NUMBER = Kind(
    "incoming_phone_number",
    "api",
    f"{ACCOUNT}/IncomingPhoneNumbers.json",
    f"{ACCOUNT}/IncomingPhoneNumbers/{{Sid}}.json",
    "PN",
    "incoming_phone_numbers",
    NUMBER_FIELDS,
    unique=("phone_number",),
    unique_code=errors.PHONE_NUMBER_UNAVAILABLE,
    strategy="number",
)

APPLICATION = Kind(
    "application",
    "api",
    f"{ACCOUNT}/Applications.json",
    f"{ACCOUNT}/Applications/{{Sid}}.json",
    "AP",
    "applications",
    (
        FRIENDLY,
        Field("api_version", default="2010-04-01"),
        *VOICE_CALLBACKS,
        _url("status_callback"),
        _method("status_callback_method"),
        _bool("voice_caller_id_lookup"),
        *SMS_CALLBACKS,
        _url("sms_status_callback"),
        _url("message_status_callback"),
        _bool("public_application_connect_enabled", default=True),
    ),
)

SIP_DOMAIN = Kind(
    "sip_domain",
    "api",
    f"{SIP}/Domains.json",
    f"{SIP}/Domains/{{Sid}}.json",
    "SD",
    "domains",
    (
        Field(
            "domain_name",
            required=True,
            check=domain_suffix_check("sip.twilio.com", errors.SIP_DOMAIN_INVALID),
        ),
        FRIENDLY,
        Field("api_version", default="2010-04-01", create=False, update=False),
        *VOICE_CALLBACKS,
        _url("voice_status_callback_url"),
        _method("voice_status_callback_method"),
        _bool("sip_registration"),
        _bool("emergency_calling_enabled"),
        _bool("secure"),
        _sid("byoc_trunk_sid", "BY", "byoc_trunk"),
        _sid("emergency_caller_sid", "PN", "incoming_phone_number"),
        _out("auth_type", ""),
    ),
    unique=("domain_name",),
    unique_scope="global",
    unique_code=errors.SIP_DOMAIN_TAKEN,
    subresources={
        "credential_list_mappings": "/CredentialListMappings.json",
        "ip_access_control_list_mappings": "/IpAccessControlListMappings.json",
        "auth_calls_credential_list_mappings": "/Auth/Calls/CredentialListMappings.json",
        "auth_calls_ip_access_control_list_mappings": (
            "/Auth/Calls/IpAccessControlListMappings.json"
        ),
        "auth_registrations_credential_list_mappings": (
            "/Auth/Registrations/CredentialListMappings.json"
        ),
    },
)

CREDENTIAL_LIST = Kind(
    "sip_credential_list",
    "api",
    f"{SIP}/CredentialLists.json",
    f"{SIP}/CredentialLists/{{Sid}}.json",
    "CL",
    "credential_lists",
    (Field("friendly_name", required=True, required_update=True, max_length=64),),
    subresources={"credentials": "/Credentials.json"},
)

CREDENTIAL = Kind(
    "sip_credential",
    "api",
    f"{SIP}/CredentialLists/{{CredentialListSid}}/Credentials.json",
    f"{SIP}/CredentialLists/{{CredentialListSid}}/Credentials/{{Sid}}.json",
    "CR",
    "credentials",
    (
        Field("username", required=True, update=False, max_length=32),
        Field("password", required=True, output=False, check=check_password),
    ),
    parent=Parent("CredentialListSid", "sip_credential_list", "credential_list_sid"),
    unique=("username",),
)

IP_ACCESS_CONTROL_LIST = Kind(
    "sip_ip_access_control_list",
    "api",
    f"{SIP}/IpAccessControlLists.json",
    f"{SIP}/IpAccessControlLists/{{Sid}}.json",
    "AL",
    "ip_access_control_lists",
    (Field("friendly_name", required=True, required_update=True, max_length=255),),
    subresources={"ip_addresses": "/IpAddresses.json"},
)

IP_ADDRESS = Kind(
    "sip_ip_address",
    "api",
    f"{SIP}/IpAccessControlLists/{{IpAccessControlListSid}}/IpAddresses.json",
    f"{SIP}/IpAccessControlLists/{{IpAccessControlListSid}}/IpAddresses/{{Sid}}.json",
    "IP",
    "ip_addresses",
    (
        Field("friendly_name", required=True, max_length=255),
        Field("ip_address", "ip", required=True),
        Field("cidr_prefix_length", "int", default=32, minimum=0, maximum=32),
    ),
    parent=Parent(
        "IpAccessControlListSid", "sip_ip_access_control_list", "ip_access_control_list_sid"
    ),
)


def _domain_mapping(name: str, path: str, items_key: str, target: str, legacy: bool) -> Kind:
    param = "CredentialListSid" if target == "sip_credential_list" else "IpAccessControlListSid"
    return Kind(
        name,
        "api",
        f"{SIP}/Domains/{{DomainSid}}/{path}.json",
        f"{SIP}/Domains/{{DomainSid}}/{path}/{{Sid}}.json",
        "CL" if target == "sip_credential_list" else "AL",
        items_key,
        (_out("friendly_name"),),
        parent=Parent("DomainSid", "sip_domain", "domain_sid"),
        reference=Reference(param, target),
        operations=frozenset({"create", "fetch", "list", "delete"}),
        self_link=legacy,
        on_ref_delete="block",
    )


DOMAIN_MAPPINGS = (
    _domain_mapping(
        "auth_calls_credential_list_mapping",
        "Auth/Calls/CredentialListMappings",
        "contents",
        "sip_credential_list",
        legacy=False,
    ),
    _domain_mapping(
        "auth_calls_ip_access_control_list_mapping",
        "Auth/Calls/IpAccessControlListMappings",
        "contents",
        "sip_ip_access_control_list",
        legacy=False,
    ),
    _domain_mapping(
        "auth_registrations_credential_list_mapping",
        "Auth/Registrations/CredentialListMappings",
        "contents",
        "sip_credential_list",
        legacy=False,
    ),
    _domain_mapping(
        "credential_list_mapping",
        "CredentialListMappings",
        "credential_list_mappings",
        "sip_credential_list",
        legacy=True,
    ),
    _domain_mapping(
        "ip_access_control_list_mapping",
        "IpAccessControlListMappings",
        "ip_access_control_list_mappings",
        "sip_ip_access_control_list",
        legacy=True,
    ),
)

TRUNK = Kind(
    "trunk",
    "trunking",
    "/v1/Trunks",
    "/v1/Trunks/{Sid}",
    "TK",
    "trunks",
    (
        FRIENDLY,
        Field(
            "domain_name",
            check=domain_suffix_check("pstn.twilio.com", errors.TRUNK_DOMAIN_INVALID),
        ),
        _url("disaster_recovery_url"),
        _method("disaster_recovery_method"),
        Field(
            "transfer_mode",
            "enum",
            default="disable-all",
            enum=("disable-all", "enable-all", "sip-only"),
        ),
        Field(
            "transfer_caller_id",
            "enum",
            default="from-transferee",
            enum=("from-transferee", "from-transferor"),
        ),
        _bool("secure"),
        _bool("cnam_lookup_enabled"),
        _out("symmetric_rtp_enabled", False),
        _out("recording", {"mode": "do-not-record", "trim": "do-not-trim"}),
    ),
    unique=("domain_name",),
    unique_scope="global",
    unique_code=errors.TRUNK_DOMAIN_TAKEN,
    subresources={
        "origination_urls": "/OriginationUrls",
        "credential_lists": "/CredentialLists",
        "ip_access_control_lists": "/IpAccessControlLists",
        "phone_numbers": "/PhoneNumbers",
        "recording": "/Recording",
    },
)

TRUNK_PARENT = Parent("TrunkSid", "trunk", "trunk_sid")

ORIGINATION_URL = Kind(
    "origination_url",
    "trunking",
    "/v1/Trunks/{TrunkSid}/OriginationUrls",
    "/v1/Trunks/{TrunkSid}/OriginationUrls/{Sid}",
    "OU",
    "origination_urls",
    (
        Field("weight", "int", default=10, required=True, minimum=0, maximum=65535),
        Field("priority", "int", default=10, required=True, minimum=0, maximum=65535),
        _bool("enabled", default=True, required=True),
        Field("friendly_name", required=True, max_length=255),
        Field("sip_url", "sip_uri", required=True),
    ),
    parent=TRUNK_PARENT,
)


def _trunk_association(name: str, path: str, prefix: str, param: str, target: str) -> Kind:
    return Kind(
        name,
        "trunking",
        f"/v1/Trunks/{{TrunkSid}}/{path}",
        f"/v1/Trunks/{{TrunkSid}}/{path}/{{Sid}}",
        prefix,
        "credential_lists" if path == "CredentialLists" else "ip_access_control_lists",
        (_out("friendly_name"),),
        parent=TRUNK_PARENT,
        reference=Reference(param, target),
        operations=frozenset({"create", "fetch", "list", "delete"}),
        on_ref_delete="block",
    )


TRUNK_CREDENTIAL_LIST = _trunk_association(
    "trunk_credential_list", "CredentialLists", "CL", "CredentialListSid", "sip_credential_list"
)
TRUNK_IP_ACCESS_CONTROL_LIST = _trunk_association(
    "trunk_ip_access_control_list",
    "IpAccessControlLists",
    "AL",
    "IpAccessControlListSid",
    "sip_ip_access_control_list",
)

TRUNK_PHONE_NUMBER = Kind(
    "trunk_phone_number",
    "trunking",
    "/v1/Trunks/{TrunkSid}/PhoneNumbers",
    "/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}",
    "PN",
    "phone_numbers",
    (),
    parent=TRUNK_PARENT,
    reference=Reference("PhoneNumberSid", "incoming_phone_number"),
    operations=frozenset({"create", "fetch", "list", "delete"}),
    strategy="trunk_phone_number",
)

TRUNK_RECORDING = Kind(
    "trunk_recording",
    "trunking",
    "",
    "/v1/Trunks/{TrunkSid}/Recording",
    "",
    "",
    (
        Field(
            "mode",
            "enum",
            default="do-not-record",
            enum=(
                "do-not-record",
                "record-from-ringing",
                "record-from-answer",
                "record-from-ringing-dual",
                "record-from-answer-dual",
            ),
        ),
        Field("trim", "enum", default="do-not-trim", enum=("trim-silence", "do-not-trim")),
    ),
    operations=frozenset({"fetch", "update"}),
    strategy="recording",
)

BYOC_TRUNK = Kind(
    "byoc_trunk",
    "voice",
    "/v1/ByocTrunks",
    "/v1/ByocTrunks/{Sid}",
    "BY",
    "byoc_trunks",
    (
        FRIENDLY,
        *VOICE_CALLBACKS,
        _url("status_callback_url"),
        _method("status_callback_method"),
        _bool("cnam_lookup_enabled"),
        _sid("connection_policy_sid", "NY", "connection_policy"),
        _sid("from_domain_sid", "SD", "sip_domain"),
    ),
)

CONNECTION_POLICY = Kind(
    "connection_policy",
    "voice",
    "/v1/ConnectionPolicies",
    "/v1/ConnectionPolicies/{Sid}",
    "NY",
    "connection_policies",
    (FRIENDLY,),
    subresources={"targets": "/Targets"},
)

CONNECTION_POLICY_TARGET = Kind(
    "connection_policy_target",
    "voice",
    "/v1/ConnectionPolicies/{ConnectionPolicySid}/Targets",
    "/v1/ConnectionPolicies/{ConnectionPolicySid}/Targets/{Sid}",
    "NE",
    "targets",
    (
        FRIENDLY,
        Field("target", "sip_uri", required=True),
        Field("priority", "int", default=10, minimum=0, maximum=65535),
        Field("weight", "int", default=10, minimum=0, maximum=65535),
        _bool("enabled", default=True),
    ),
    parent=Parent("ConnectionPolicySid", "connection_policy", "connection_policy_sid"),
)

IP_RECORD = Kind(
    "ip_record",
    "voice",
    "/v1/IpRecords",
    "/v1/IpRecords/{Sid}",
    "IL",
    "ip_records",
    (
        FRIENDLY,
        Field("ip_address", "ip", required=True, update=False),
        Field("cidr_prefix_length", "int", default=32, minimum=0, maximum=32, update=False),
    ),
)

SOURCE_IP_MAPPING = Kind(
    "source_ip_mapping",
    "voice",
    "/v1/SourceIpMappings",
    "/v1/SourceIpMappings/{Sid}",
    "IB",
    "source_ip_mappings",
    (
        _sid("ip_record_sid", "IL", "ip_record", required=True, update=False),
        _sid("sip_domain_sid", "SD", "sip_domain", required=True, required_update=True),
    ),
    unique=("ip_record_sid",),
    unique_scope="global",
    on_ref_delete="cascade",
    account_field=False,
)


def _route(name: str, path: str, key_field: str, target: str) -> Kind:
    return Kind(
        name,
        "routes",
        "",
        f"/v2/{path}",
        "QQ",
        "",
        (FRIENDLY, Field("voice_region", "enum", default="us1", enum=REGIONS), _out(key_field)),
        reference=Reference(key_field, target),
        operations=frozenset({"fetch", "update"}),
        strategy="route",
    )


ROUTES = (
    _route(
        "route_phone_number", "PhoneNumbers/{PhoneNumber}", "phone_number", "incoming_phone_number"
    ),
    _route("route_sip_domain", "SipDomains/{SipDomain}", "sip_domain", "sip_domain"),
    _route("route_trunk", "Trunks/{SipTrunkDomain}", "sip_trunk_domain", "trunk"),
)


# Voice Dialing Permissions (emulator.dialing): reference data keyed by ISO code, a bulk update
# that is a create without a stored record, and the account's one settings record.
DIALING_PERMISSIONS_COUNTRY = Kind(
    "dialing_permissions_country",
    "voice",
    "/v1/DialingPermissions/Countries",
    "/v1/DialingPermissions/Countries/{IsoCode}",
    "",
    "content",
    (
        _out("iso_code"),
        _out("name"),
        _out("continent"),
        _out("country_codes"),
        _bool("low_risk_numbers_enabled", create=False, update=False),
        _bool("high_risk_special_numbers_enabled", create=False, update=False),
        _bool("high_risk_tollfraud_numbers_enabled", create=False, update=False),
    ),
    operations=frozenset({"list", "fetch"}),
    strategy="country",
)

DIALING_PERMISSIONS_BULK_UPDATE = Kind(
    "dialing_permissions_bulk_update",
    "voice",
    "/v1/DialingPermissions/BulkCountryUpdates",
    "",
    "",
    "",
    (Field("update_request", required=True),),
    operations=frozenset({"create"}),
    strategy="bulk_update",
)

DIALING_PERMISSIONS_SETTINGS = Kind(
    "dialing_permissions_settings",
    "voice",
    "",
    "/v1/Settings",
    "",
    "",
    (_bool("dialing_permissions_inheritance", default=True),),
    operations=frozenset({"fetch", "update"}),
    strategy="settings",
)

# Monitor alerts (emulator.alerts): read-only over REST, injected through the admin API.
ALERT = Kind(
    "alert",
    "monitor",
    "/v1/Alerts",
    "/v1/Alerts/{Sid}",
    "NO",
    "alerts",
    (
        _out("alert_text"),
        _out("error_code"),
        _out("log_level"),
        _out("request_url"),
        _out("request_method"),
        _out("resource_sid"),
    ),
    operations=frozenset({"list", "fetch"}),
    strategy="alert",
)

# Calls and recordings the call simulator made (emulator.simulate): read and delete over REST.
CALL = Kind(
    "call",
    "api",
    f"{ACCOUNT}/Calls.json",
    f"{ACCOUNT}/Calls/{{Sid}}.json",
    "CA",
    "calls",
    (
        _out("parent_call_sid"),
        _out("to"),
        _out("to_formatted"),
        _out("from"),
        _out("from_formatted"),
        _out("phone_number_sid"),
        _out("status", "queued"),
        _out("start_time"),
        _out("end_time"),
        _out("duration"),
        _out("price"),
        _out("price_unit", "USD"),
        _out("direction"),
        _out("answered_by"),
        _out("api_version", "2010-04-01"),
        _out("forwarded_from"),
        _out("group_sid"),
        _out("caller_name"),
        _out("queue_time", "0"),
        _out("trunk_sid"),
    ),
    # create: an outbound call the simulator places (emulator.outbound)
    operations=frozenset({"create", "list", "fetch", "delete"}),
    subresources={
        "notifications": "/Notifications.json",
        "recordings": "/Recordings.json",
        "events": "/Events.json",
        "payments": "/Payments.json",
        "siprec": "/Siprec.json",
        "streams": "/Streams.json",
        "transcriptions": "/Transcriptions.json",
        "user_defined_message_subscriptions": "/UserDefinedMessageSubscriptions.json",
        "user_defined_messages": "/UserDefinedMessages.json",
    },
    strategy="call",
)

CALL_RECORDING = Kind(
    "call_recording",
    "api",
    f"{ACCOUNT}/Recordings.json",
    f"{ACCOUNT}/Recordings/{{Sid}}.json",
    "RE",
    "recordings",
    (
        _out("call_sid"),
        _out("conference_sid"),
        _out("start_time"),
        _out("duration"),
        _out("price"),
        _out("price_unit", "USD"),
        _out("status", "completed"),
        _out("channels", 1),
        _out("source"),
        _out("error_code"),
        _out("encryption_details"),
        _out("media_url"),
        _out("api_version", "2010-04-01"),
    ),
    operations=frozenset({"list", "fetch", "delete"}),
    subresources={
        "add_on_results": "/AddOnResults.json",
        "transcriptions": "/Transcriptions.json",
    },
    strategy="call_recording",
)

# Conferences the simulator's calls joined, and their participants (emulator.conferences):
# participants are addressed by their call's SID (or label), not a SID of their own.
CONFERENCE = Kind(
    "conference",
    "api",
    f"{ACCOUNT}/Conferences.json",
    f"{ACCOUNT}/Conferences/{{Sid}}.json",
    "CF",
    "conferences",
    (_out("friendly_name"), _out("status", "init"), _out("region", "us1")),
    operations=frozenset({"list", "fetch", "update"}),
    strategy="conference",
)

CONFERENCE_PARTICIPANT = Kind(
    "conference_participant",
    "api",
    f"{ACCOUNT}/Conferences/{{ConferenceSid}}/Participants.json",
    f"{ACCOUNT}/Conferences/{{ConferenceSid}}/Participants/{{CallSid}}.json",
    "CA",
    "participants",
    (_out("label"), _out("muted", False), _out("hold", False), _out("status", "connected")),
    parent=Parent("ConferenceSid", "conference", "conference_sid"),
    strategy="participant",
)

KINDS: tuple[Kind, ...] = (
    INCOMING_PHONE_NUMBER,
    APPLICATION,
    SIP_DOMAIN,
    CREDENTIAL_LIST,
    CREDENTIAL,
    IP_ACCESS_CONTROL_LIST,
    IP_ADDRESS,
    *DOMAIN_MAPPINGS,
    TRUNK,
    ORIGINATION_URL,
    TRUNK_CREDENTIAL_LIST,
    TRUNK_IP_ACCESS_CONTROL_LIST,
    TRUNK_PHONE_NUMBER,
    TRUNK_RECORDING,
    BYOC_TRUNK,
    CONNECTION_POLICY,
    CONNECTION_POLICY_TARGET,
    IP_RECORD,
    SOURCE_IP_MAPPING,
    *ROUTES,
    DIALING_PERMISSIONS_COUNTRY,
    DIALING_PERMISSIONS_BULK_UPDATE,
    DIALING_PERMISSIONS_SETTINGS,
    ALERT,
    CALL,
    CALL_RECORDING,
    CONFERENCE,
    CONFERENCE_PARTICIPANT,
)

BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}

__all__ = ["BY_NAME", "KINDS"]
