"""Generated estates for scale tests and the deploy benchmark (`nox -s bench-deploy`).

N numbers (every tenth on a trunk, the rest on `ivr_main`), 50 SIP domains with call and
registration auth, 20 trunks with two origination URLs and termination lists, 10 shared credential
lists and IP ACLs: a `local`-stack spec (plain-text test passwords, http URLs).
"""

from __future__ import annotations

from typing import Any

from emulator.numbers import generated_numbers

DOMAINS, TRUNKS, LISTS = 50, 20, 10


def scale_spec(numbers: int) -> dict[str, Any]:
    """The generated environment (a `local` stack: plain-text test passwords, http URLs)."""
    return {
        "public_base_url": "http://127.0.0.1:8080",
        "edge": "ashburn",
        "region": "us1",
        "numbers": [
            {"e164": e164, "flow": "ivr_main"}
            if i % 10
            else {"e164": e164, "trunk": f"trunk-{i // 10 % TRUNKS}"}
            for i, e164 in enumerate(generated_numbers(numbers))
        ],
        "credential_lists": [
            {
                "name": f"users-{i}",
                "credentials": [
                    {"username": f"user-{i}-{j}", "password": f"ScaleTest{i}x{j}Passw0rd"}
                    for j in range(2)
                ],
            }
            for i in range(LISTS)
        ],
        "ip_access_control_lists": [
            {
                "name": f"acl-{i}",
                "ip_addresses": [
                    {
                        "name": f"ip-{j}",
                        "ip_address": f"198.51.{i}.{10 + j}",
                        "cidr_prefix_length": 32,
                    }
                    for j in range(2)
                ],
            }
            for i in range(LISTS)
        ],
        "sip_domains": [
            {
                "name": f"domain-{i}",
                "domain_name": f"scale-{i}.sip.twilio.com",
                "flow": "sip_inbound",
                "sip_registration": True,
                "auth": {
                    "calls": {
                        "credential_lists": [f"users-{i % LISTS}"],
                        "ip_access_control_lists": [f"acl-{i % LISTS}"],
                    },
                    "registrations": {"credential_lists": [f"users-{i % LISTS}"]},
                },
            }
            for i in range(DOMAINS)
        ],
        "trunks": [
            {
                "name": f"trunk-{i}",
                "domain_name": f"scale-{i}.pstn.twilio.com",
                "origination_urls": [
                    {
                        "name": f"pbx-{j}",
                        "sip_url": f"sip:pbx{j}.trunk{i}.example.com:5060",
                        "priority": 10,
                        "weight": 10 + j,
                    }
                    for j in range(2)
                ],
                "termination": {
                    "credential_lists": [f"users-{i % LISTS}"],
                    "ip_access_control_lists": [f"acl-{i % LISTS}"],
                },
            }
            for i in range(TRUNKS)
        ],
    }
