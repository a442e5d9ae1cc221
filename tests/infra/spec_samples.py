"""A small but complete valid environment spec, and a helper that writes it as a Pulumi project."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
PROJECT_YAML = "name: twilio-voice\nruntime: python\nmain: infra/\n"

_BASE: dict[str, Any] = {
    "public_base_url": "https://voice.example.com",
    "edge": "ashburn",
    "region": "us1",
    "credentials": {"account_sid": ACCOUNT_SID, "auth": "auth_token"},
    "numbers": [
        {
            "e164": "+14155550100",
            "flow": "ivr_main",
            "fallback_flow": "voice_fallback",
            "status_callback_flow": "call_status",
            "region": "us1",
        },
        {"e164": "+14155550101", "application": "main-app"},
        {"e164": "+12125550102", "trunk": "pbx-trunk"},
    ],
    "applications": [{"name": "main-app", "flow": "ivr_main", "fallback_flow": "voice_fallback"}],
    "sip_domains": [
        {
            "name": "pbx",
            "domain_name": "acme-pbx.sip.twilio.com",
            "flow": "sip_inbound",
            "sip_registration": True,
            "secure": True,
            "auth": {
                "calls": {"credential_lists": ["pbx-users"], "ip_access_control_lists": ["office"]},
                "registrations": {"credential_lists": ["pbx-users"]},
            },
        },
        {
            "name": "soft",
            "domain_name": "acme-soft.sip.twilio.com",
            "flow": "sip_inbound",
            "byoc_trunk": "carrier-a",
            "auth": {"calls": {"credential_lists": ["soft-users"]}},
        },
    ],
    "credential_lists": [
        {
            "name": "pbx-users",
            "credentials": [
                {"username": "alice", "password": {"secure": "v1:bm9uY2Ux:Y2lwaGVydGV4dDE="}},
                {"username": "bob", "password": {"secure": "v1:bm9uY2Uy:Y2lwaGVydGV4dDI="}},
            ],
        },
        {
            "name": "soft-users",
            "credentials": [
                {"username": "carol", "password": {"secure": "v1:bm9uY2Uz:Y2lwaGVydGV4dDM="}}
            ],
        },
    ],
    "ip_access_control_lists": [
        {
            "name": "office",
            "ip_addresses": [
                {"name": "hq", "ip_address": "203.0.113.10", "cidr_prefix_length": 32},
                {"name": "branch", "ip_address": "203.0.113.16", "cidr_prefix_length": 28},
            ],
        }
    ],
    "trunks": [
        {
            "name": "pbx-trunk",
            "domain_name": "acme-pbx.pstn.twilio.com",
            "secure": True,
            "transfer_mode": "enable-all",
            "recording": {"mode": "record-from-answer-dual", "trim": "trim-silence"},
            "disaster_recovery_flow": "trunk_disaster_recovery",
            "region": "us1",
            "origination_urls": [
                {
                    "name": "primary",
                    "sip_url": "sip:pbx1.example.com:5061;transport=tls;edge=ashburn",
                    "priority": 10,
                    "weight": 10,
                    "enabled": True,
                },
                {"name": "backup", "sip_url": "sip:pbx2.example.com", "priority": 20, "weight": 10},
            ],
            "termination": {
                "credential_lists": ["pbx-users"],
                "ip_access_control_lists": ["office"],
            },
        }
    ],
    "byoc_trunks": [
        {
            "name": "carrier-a",
            "flow": "byoc_inbound",
            "connection_policy": "carrier-a",
            "from_domain": "pbx",
        }
    ],
    "connection_policies": [
        {
            "name": "carrier-a",
            "targets": [
                {"name": "sbc-1", "target": "sip:sbc1.carrier.example.net"},
                {"name": "sbc-2", "target": "sip:sbc2.carrier.example.net:5060", "priority": 20},
            ],
        }
    ],
    "ip_records": [{"name": "sbc1", "ip_address": "198.51.100.10"}],
    "source_ip_mappings": [{"ip_record": "sbc1", "sip_domain": "pbx"}],
}


def valid_spec() -> dict[str, Any]:
    """A fresh deep copy of a valid spec for a non-local stack (secure passwords)."""
    return copy.deepcopy(_BASE)


def write_project(
    root: Path, stack: str, environment: Any, extra_config: dict[str, Any] | None = None
) -> Path:
    """Write Pulumi.yaml and Pulumi.<stack>.yaml (with `environment` under the config key)."""
    (root / "Pulumi.yaml").write_text(PROJECT_YAML, encoding="utf-8")
    document = {"config": {**(extra_config or {}), "twilio-voice:environment": environment}}
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return root


def on_call_flows(raw: dict[str, Any], call_flows: dict[str, Any], flow: str = "main") -> None:
    """Move every entry point of `raw` from an app route (`flow:`) to call flow `flow`, and
    declare `call_flows`."""
    for key in ("numbers", "applications", "sip_domains", "byoc_trunks"):
        for entry in raw.get(key, []):
            if entry.pop("flow", None) is not None:
                entry["call_flow"] = flow
    raw["call_flows"] = call_flows
