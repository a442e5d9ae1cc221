"""The provider props each spec entry declares, apart from references to other resources.

Only the plan (`infra.plan`) calls these; the program and drift both read its nodes, so
`pulumi up` and `python -m infra drift` always mean the same thing by "declared". Webhook URLs
and methods come from `infra.urls`.
"""

from __future__ import annotations

from typing import Any, Protocol

import phonenumbers

from infra.spec import models as spec
from infra.urls import CALL_FLOW_ROUTES, disaster_recovery_props, voice_props

Props = dict[str, Any]


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def friendly_name(self) -> str | None: ...


def named(entry: _Named) -> Props:
    """The friendly name of a list, ACL, application, policy or record: its own, else its name."""
    return {"friendly_name": entry.friendly_name or entry.name}


credential_list_props = ip_access_control_list_props = connection_policy_props = named


def credential_props(cred: spec.Credential) -> Props:
    """The password stays a spec `Secret`: the program makes it a Pulumi secret again."""
    return {"username": cred.username, "password": cred.password}


def ip_address_props(ip: spec.IpAddress) -> Props:
    return {
        "friendly_name": ip.name,
        "ip_address": ip.ip_address,
        "cidr_prefix_length": ip.cidr_prefix_length,
    }


def application_props(base: str, app: spec.Application) -> Props:
    return {**named(app), **voice_props(base, app)}


def connection_policy_target_props(target: spec.ConnectionPolicyTarget) -> Props:
    return {"target": target.target, **_weighted(target)}


def sip_domain_props(base: str, domain: spec.SipDomain) -> Props:
    """Without `byoc_trunk_sid` (a reference)."""
    return {
        "domain_name": domain.domain_name,
        **named(domain),
        **voice_props(base, domain, "voice_status_callback_url", CALL_FLOW_ROUTES["sip_domains"]),
        "sip_registration": domain.sip_registration,
        "secure": domain.secure,
        "emergency_calling_enabled": domain.emergency_calling_enabled,
    }


def byoc_trunk_props(base: str, byoc: spec.ByocTrunk) -> Props:
    """Without `connection_policy_sid` and `from_domain_sid` (references)."""
    return {
        **named(byoc),
        **voice_props(base, byoc, "status_callback_url", CALL_FLOW_ROUTES["byoc_trunks"]),
        "cnam_lookup_enabled": byoc.cnam_lookup_enabled,
    }


def trunk_props(base: str, trunk: spec.Trunk) -> Props:
    return {
        "domain_name": trunk.domain_name,
        **named(trunk),
        "secure": trunk.secure,
        "cnam_lookup_enabled": trunk.cnam_lookup_enabled,
        "transfer_mode": trunk.transfer_mode,
        "transfer_caller_id": trunk.transfer_caller_id,
        **disaster_recovery_props(base, trunk),
        "recording_mode": trunk.recording.mode,
        "recording_trim": trunk.recording.trim,
    }


def origination_url_props(url: spec.OriginationUrl) -> Props:
    # an `edge=` parameter in the URI is how an origination URL picks its edge
    return {"sip_url": url.sip_url, **_weighted(url)}


def _weighted(entry: spec.ConnectionPolicyTarget | spec.OriginationUrl) -> Props:
    """A policy target's or origination URL's name and SIP routing weights."""
    return {
        "friendly_name": entry.name,
        "priority": entry.priority,
        "weight": entry.weight,
        "enabled": entry.enabled,
    }


def incoming_phone_number_props(base: str, number: spec.PhoneNumber) -> Props:
    """Without `voice_application_sid` / `trunk_sid` (references).

    A number without a `friendly_name` in the spec gets Twilio's default name back, so removing
    the name from the spec resets it rather than leaving the old one stuck.
    """
    return {
        "phone_number": number.e164,
        "friendly_name": number.friendly_name or default_number_name(number.e164),
        **voice_props(base, number),
        "release_on_destroy": number.release_on_destroy,
    }


def default_number_name(e164: str) -> str:
    """Twilio's default friendly name of a number: the number in national format."""
    parsed = phonenumbers.parse(e164, None)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


# A spec risk class -> the Twilio country flag that allows it.
RISK_FLAGS: dict[str, str] = {
    "low_risk": "low_risk_numbers_enabled",
    "high_risk_special": "high_risk_special_numbers_enabled",
    "high_risk_tollfraud": "high_risk_tollfraud_numbers_enabled",
}


def dialing_country_props(country: spec.DialingCountry) -> Props:
    """Every flag explicitly: a risk class not listed is switched off."""
    return {
        "iso_code": country.iso_code,
        **{flag: risk in country.risk_classes for risk, flag in RISK_FLAGS.items()},
    }


def dialing_settings_props(permissions: spec.DialingPermissions) -> Props:
    """The declared countries are managed one by one; every other one must be off."""
    return {
        "dialing_permissions_inheritance": permissions.inherit,
        "managed_countries": sorted(c.iso_code for c in permissions.countries),
        "other_countries_enabled": [],
    }


def ip_record_props(record: spec.IpRecord) -> Props:
    return {
        **named(record),
        "ip_address": record.ip_address,
        "cidr_prefix_length": record.cidr_prefix_length,
    }
