"""Every kind's pure `*_params` mapping: PascalCase names, "true"/"false", "" clears."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from infra.resources import (
    application,
    byoc_trunk,
    connection_policy,
    connection_policy_target,
    credential,
    credential_list,
    dialing_permissions_country,
    dialing_permissions_settings,
    inbound_processing_region,
    incoming_phone_number,
    ip_access_control_list,
    ip_address,
    ip_record,
    origination_url,
    sip_domain,
    sip_domain_calls_credential_list_mapping,
    sip_domain_calls_ip_access_control_list_mapping,
    sip_domain_registrations_credential_list_mapping,
    source_ip_mapping,
    trunk,
    trunk_credential_list,
    trunk_ip_access_control_list,
    trunk_phone_number,
)

AP, TK, SD, CL, AL, PN, BY, NY, IL = (
    p + "a" * 32 for p in ("AP", "TK", "SD", "CL", "AL", "PN", "BY", "NY", "IL")
)

CASES: list[
    tuple[str, type[BaseModel], Callable[[Any], dict[str, str]], dict[str, Any], dict[str, str]]
] = [
    (
        "dialing country: every flag in one bulk update, unset ones off",
        dialing_permissions_country.DialingPermissionsCountryArgs,
        dialing_permissions_country.dialing_permissions_country_params,
        {"iso_code": "GB", "high_risk_special_numbers_enabled": True},
        {
            "UpdateRequest": '[{"iso_code":"GB","low_risk_numbers_enabled":"false",'
            '"high_risk_special_numbers_enabled":"true",'
            '"high_risk_tollfraud_numbers_enabled":"false"}]'
        },
    ),
    (
        "dialing settings: inheritance only when declared",
        dialing_permissions_settings.DialingPermissionsSettingsArgs,
        dialing_permissions_settings.dialing_permissions_settings_params,
        {"dialing_permissions_inheritance": False, "managed_countries": ["US"]},
        {"DialingPermissionsInheritance": "false"},
    ),
    (
        "dialing settings: inheritance not declared, nothing sent",
        dialing_permissions_settings.DialingPermissionsSettingsArgs,
        dialing_permissions_settings.dialing_permissions_settings_params,
        {"managed_countries": ["US"]},
        {},
    ),
    (
        "number routed by url",
        incoming_phone_number.IncomingPhoneNumberArgs,
        incoming_phone_number.incoming_phone_number_params,
        {"phone_number": "+14155550100", "voice_url": "https://h.example/v"},
        {
            "VoiceUrl": "https://h.example/v",
            "VoiceMethod": "POST",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "StatusCallback": "",
            "StatusCallbackMethod": "POST",
            "VoiceCallerIdLookup": "false",
            "VoiceReceiveMode": "voice",
            "VoiceApplicationSid": "",
            "TrunkSid": "",
        },
    ),
    (
        "number routed to a trunk: only TrunkSid is sent",
        incoming_phone_number.IncomingPhoneNumberArgs,
        incoming_phone_number.incoming_phone_number_params,
        {"phone_number": "+14155550100", "trunk_sid": TK, "friendly_name": "Main"},
        {
            "FriendlyName": "Main",
            "VoiceUrl": "",
            "VoiceMethod": "POST",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "StatusCallback": "",
            "StatusCallbackMethod": "POST",
            "VoiceCallerIdLookup": "false",
            "VoiceReceiveMode": "voice",
            "TrunkSid": TK,
        },
    ),
    (
        "number routed to an app: only VoiceApplicationSid is sent",
        incoming_phone_number.IncomingPhoneNumberArgs,
        incoming_phone_number.incoming_phone_number_params,
        {
            "phone_number": "+14155550100",
            "voice_application_sid": AP,
            "voice_caller_id_lookup": True,
        },
        {
            "VoiceUrl": "",
            "VoiceMethod": "POST",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "StatusCallback": "",
            "StatusCallbackMethod": "POST",
            "VoiceCallerIdLookup": "true",
            "VoiceReceiveMode": "voice",
            "VoiceApplicationSid": AP,
        },
    ),
    (
        "application",
        application.ApplicationArgs,
        application.application_params,
        {"friendly_name": "ivr", "voice_url": "https://h.example/v", "voice_method": "GET"},
        {
            "FriendlyName": "ivr",
            "VoiceUrl": "https://h.example/v",
            "VoiceMethod": "GET",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "StatusCallback": "",
            "StatusCallbackMethod": "POST",
            "VoiceCallerIdLookup": "false",
        },
    ),
    (
        "sip domain",
        sip_domain.SipDomainArgs,
        sip_domain.sip_domain_params,
        {"domain_name": "acme.sip.twilio.com", "sip_registration": True, "byoc_trunk_sid": BY},
        {
            "DomainName": "acme.sip.twilio.com",
            "VoiceUrl": "",
            "VoiceMethod": "POST",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "VoiceStatusCallbackUrl": "",
            "VoiceStatusCallbackMethod": "POST",
            "SipRegistration": "true",
            "EmergencyCallingEnabled": "false",
            "Secure": "false",
            "ByocTrunkSid": BY,
            "EmergencyCallerSid": "",
        },
    ),
    (
        "credential list",
        credential_list.CredentialListArgs,
        credential_list.credential_list_params,
        {"friendly_name": "pbx-users"},
        {"FriendlyName": "pbx-users"},
    ),
    (
        "credential create",
        credential.CredentialArgs,
        credential.credential_params,
        {"credential_list_sid": CL, "username": "alice", "password": "Str0ngPassw0rd"},
        {"Username": "alice", "Password": "Str0ngPassw0rd"},
    ),
    (
        "credential update sends only the password",
        credential.CredentialArgs,
        credential.credential_update_params,
        {"credential_list_sid": CL, "username": "alice", "password": "Str0ngPassw0rd"},
        {"Password": "Str0ngPassw0rd"},
    ),
    (
        "ip acl",
        ip_access_control_list.IpAccessControlListArgs,
        ip_access_control_list.ip_access_control_list_params,
        {"friendly_name": "office"},
        {"FriendlyName": "office"},
    ),
    (
        "ip address with default prefix",
        ip_address.IpAddressArgs,
        ip_address.ip_address_params,
        {"ip_access_control_list_sid": AL, "friendly_name": "hq", "ip_address": "203.0.113.10"},
        {"FriendlyName": "hq", "IpAddress": "203.0.113.10", "CidrPrefixLength": "32"},
    ),
    (
        "calls credential list mapping",
        sip_domain_calls_credential_list_mapping.SipDomainCallsCredentialListMappingArgs,
        sip_domain_calls_credential_list_mapping.sip_domain_calls_credential_list_mapping_params,
        {"domain_sid": SD, "credential_list_sid": CL},
        {"CredentialListSid": CL},
    ),
    (
        "calls ip acl mapping",
        sip_domain_calls_ip_access_control_list_mapping.SipDomainCallsIpAccessControlListMappingArgs,
        sip_domain_calls_ip_access_control_list_mapping.sip_domain_calls_ip_access_control_list_mapping_params,
        {"domain_sid": SD, "ip_access_control_list_sid": AL},
        {"IpAccessControlListSid": AL},
    ),
    (
        "registrations credential list mapping",
        sip_domain_registrations_credential_list_mapping.SipDomainRegistrationsCredentialListMappingArgs,
        sip_domain_registrations_credential_list_mapping.sip_domain_registrations_credential_list_mapping_params,
        {"domain_sid": SD, "credential_list_sid": CL},
        {"CredentialListSid": CL},
    ),
    (
        "trunk without recording params",
        trunk.TrunkArgs,
        trunk.trunk_params,
        {
            "domain_name": "pbx.pstn.twilio.com",
            "secure": True,
            "recording_mode": "record-from-answer",
        },
        {
            "DomainName": "pbx.pstn.twilio.com",
            "DisasterRecoveryUrl": "",
            "DisasterRecoveryMethod": "POST",
            "TransferMode": "disable-all",
            "TransferCallerId": "from-transferee",
            "Secure": "true",
            "CnamLookupEnabled": "false",
        },
    ),
    (
        "trunk recording",
        trunk.TrunkArgs,
        trunk.trunk_recording_params,
        {"domain_name": "pbx.pstn.twilio.com", "recording_mode": "record-from-answer-dual"},
        {"Mode": "record-from-answer-dual", "Trim": "do-not-trim"},
    ),
    (
        "origination url, floats from the host become integers",
        origination_url.OriginationUrlArgs,
        origination_url.origination_url_params,
        {"trunk_sid": TK, "friendly_name": "o", "sip_url": "sip:pbx.example.com", "weight": 20.0},
        {
            "FriendlyName": "o",
            "SipUrl": "sip:pbx.example.com",
            "Priority": "10",
            "Weight": "20",
            "Enabled": "true",
        },
    ),
    (
        "trunk credential list",
        trunk_credential_list.TrunkCredentialListArgs,
        trunk_credential_list.trunk_credential_list_params,
        {"trunk_sid": TK, "credential_list_sid": CL},
        {"CredentialListSid": CL},
    ),
    (
        "trunk ip acl",
        trunk_ip_access_control_list.TrunkIpAccessControlListArgs,
        trunk_ip_access_control_list.trunk_ip_access_control_list_params,
        {"trunk_sid": TK, "ip_access_control_list_sid": AL},
        {"IpAccessControlListSid": AL},
    ),
    (
        "trunk phone number",
        trunk_phone_number.TrunkPhoneNumberArgs,
        trunk_phone_number.trunk_phone_number_params,
        {"trunk_sid": TK, "phone_number_sid": PN},
        {"PhoneNumberSid": PN},
    ),
    (
        "byoc trunk",
        byoc_trunk.ByocTrunkArgs,
        byoc_trunk.byoc_trunk_params,
        {"friendly_name": "carrier", "connection_policy_sid": NY, "from_domain_sid": SD},
        {
            "FriendlyName": "carrier",
            "VoiceUrl": "",
            "VoiceMethod": "POST",
            "VoiceFallbackUrl": "",
            "VoiceFallbackMethod": "POST",
            "StatusCallbackUrl": "",
            "StatusCallbackMethod": "POST",
            "CnamLookupEnabled": "false",
            "ConnectionPolicySid": NY,
            "FromDomainSid": SD,
        },
    ),
    (
        "connection policy",
        connection_policy.ConnectionPolicyArgs,
        connection_policy.connection_policy_params,
        {"friendly_name": "carrier"},
        {"FriendlyName": "carrier"},
    ),
    (
        "connection policy target without friendly name (not clearable: not sent)",
        connection_policy_target.ConnectionPolicyTargetArgs,
        connection_policy_target.connection_policy_target_params,
        {"connection_policy_sid": NY, "target": "sip:sbc.example.com", "enabled": False},
        {"Target": "sip:sbc.example.com", "Priority": "10", "Weight": "10", "Enabled": "false"},
    ),
    (
        "ip record create",
        ip_record.IpRecordArgs,
        ip_record.ip_record_params,
        {"ip_address": "198.51.100.10", "friendly_name": "sbc"},
        {"IpAddress": "198.51.100.10", "CidrPrefixLength": "32", "FriendlyName": "sbc"},
    ),
    (
        "ip record update sends only the name",
        ip_record.IpRecordArgs,
        ip_record.ip_record_update_params,
        {"ip_address": "198.51.100.10", "friendly_name": "sbc"},
        {"FriendlyName": "sbc"},
    ),
    (
        "source ip mapping create",
        source_ip_mapping.SourceIpMappingArgs,
        source_ip_mapping.source_ip_mapping_params,
        {"ip_record_sid": IL, "sip_domain_sid": SD},
        {"IpRecordSid": IL, "SipDomainSid": SD},
    ),
    (
        "source ip mapping update",
        source_ip_mapping.SourceIpMappingArgs,
        source_ip_mapping.source_ip_mapping_update_params,
        {"ip_record_sid": IL, "sip_domain_sid": SD},
        {"SipDomainSid": SD},
    ),
    (
        "inbound processing region",
        inbound_processing_region.InboundProcessingRegionArgs,
        inbound_processing_region.inbound_processing_region_params,
        {"sip_trunk_domain": "pbx.pstn.twilio.com", "voice_region": "ie1"},
        {"VoiceRegion": "ie1"},
    ),
]


@pytest.mark.parametrize(
    ("model", "mapping", "inputs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_params(
    model: type[BaseModel],
    mapping: Callable[[Any], dict[str, str]],
    inputs: dict[str, Any],
    expected: dict[str, str],
) -> None:
    assert mapping(model.model_validate(inputs)) == expected


def test_every_kind_has_a_params_case() -> None:
    from infra.resources import KINDS

    covered = {model.__name__.removesuffix("Args") for _, model, *_ in CASES}
    assert covered == set(KINDS)
