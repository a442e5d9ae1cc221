"""Drift test support: the `local` spec applied to an emulator, and the account fixture type.

`apply_spec` creates the spec's resources directly with the Twilio SDK, the way the providers
would (adopt numbers, create the rest by natural key), so drift can be checked against a known
converged account without the Pulumi engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.emulator_testing import RunningEmulator
from infra.spec import Environment
from infra.urls import entry_webhooks, optional_webhook

ROOT = Path(__file__).resolve().parents[3]
EXTRA_NUMBER = "+15005550006"  # owned by the account, declared by no stack
API_KEY = "SK" + "5" * 32
API_SECRET = "drift-api-key-secret"


def _hook(env: Environment, flow: str | None, url: str, method: str) -> dict[str, Any]:
    hook = optional_webhook(env.public_base_url, flow)
    return {url: hook.url, method: hook.method} if hook else {}


def _entry(env: Environment, key: str, entry: Any, status: str) -> dict[str, Any]:
    """An entry point's voice, fallback and status hooks as declared (a call_flow's URLs carry
    ?flow=), the way the providers set them."""
    hooks = entry_webhooks(env.public_base_url, key, entry)
    out: dict[str, Any] = {}
    for url, method, hook in (
        ("voice_url", "voice_method", hooks.voice),
        ("voice_fallback_url", "voice_fallback_method", hooks.fallback),
        (status, f"{status.removesuffix('_url')}_method", hooks.status_callback),
    ):
        if hook is not None:
            out.update({url: hook.url, method: hook.method})
    return out


def apply_spec(client: Any, env: Environment) -> None:
    """Converge the emulator's account to `env` with plain SDK calls."""
    acct = client.api.v2010.account
    clists: dict[str, str] = {}
    for cl in env.credential_lists:
        sid = acct.sip.credential_lists.create(friendly_name=cl.friendly_name or cl.name).sid
        clists[cl.name] = sid
        for cred in cl.credentials:
            acct.sip.credential_lists(sid).credentials.create(
                username=cred.username, password=cred.password.reveal()
            )
    acls: dict[str, str] = {}
    for acl in env.ip_access_control_lists:
        sid = acct.sip.ip_access_control_lists.create(
            friendly_name=acl.friendly_name or acl.name
        ).sid
        acls[acl.name] = sid
        for ip in acl.ip_addresses:
            acct.sip.ip_access_control_lists(sid).ip_addresses.create(
                friendly_name=ip.name,
                ip_address=ip.ip_address,
                cidr_prefix_length=ip.cidr_prefix_length,
            )
    apps: dict[str, str] = {}
    for app in env.applications:
        apps[app.name] = acct.applications.create(
            friendly_name=app.friendly_name or app.name,
            **_entry(env, "applications", app, "status_callback"),
        ).sid
    voice = client.voice.v1
    policies: dict[str, str] = {}
    for policy in env.connection_policies:
        sid = voice.connection_policies.create(
            friendly_name=policy.friendly_name or policy.name
        ).sid
        policies[policy.name] = sid
        for t in policy.targets:
            voice.connection_policies(sid).targets.create(
                target=t.target,
                friendly_name=t.name,
                priority=t.priority,
                weight=t.weight,
                enabled=t.enabled,
            )
    domains: dict[str, str] = {}
    for d in env.sip_domains:
        sid = acct.sip.domains.create(
            domain_name=d.domain_name,
            friendly_name=d.friendly_name or d.name,
            sip_registration=d.sip_registration,
            secure=d.secure,
            emergency_calling_enabled=d.emergency_calling_enabled,
            **_entry(env, "sip_domains", d, "voice_status_callback_url"),
        ).sid
        domains[d.name] = sid
        auth = acct.sip.domains(sid).auth
        for name in d.auth.calls.credential_lists:
            auth.calls.credential_list_mappings.create(credential_list_sid=clists[name])
        for name in d.auth.calls.ip_access_control_lists:
            auth.calls.ip_access_control_list_mappings.create(ip_access_control_list_sid=acls[name])
        for name in d.auth.registrations.credential_lists:
            auth.registrations.credential_list_mappings.create(credential_list_sid=clists[name])
    byocs: dict[str, str] = {}
    for b in env.byoc_trunks:
        extra: dict[str, Any] = {}
        if b.connection_policy:
            extra["connection_policy_sid"] = policies[b.connection_policy]
        if b.from_domain:
            extra["from_domain_sid"] = domains[b.from_domain]
        byocs[b.name] = voice.byoc_trunks.create(
            friendly_name=b.friendly_name or b.name,
            cnam_lookup_enabled=b.cnam_lookup_enabled,
            **_entry(env, "byoc_trunks", b, "status_callback_url"),
            **extra,
        ).sid
    for d in env.sip_domains:
        if d.byoc_trunk:
            acct.sip.domains(domains[d.name]).update(byoc_trunk_sid=byocs[d.byoc_trunk])
    trunking = client.trunking.v1
    trunks: dict[str, str] = {}
    for t in env.trunks:
        sid = trunking.trunks.create(
            domain_name=t.domain_name,
            friendly_name=t.friendly_name or t.name,
            secure=t.secure,
            cnam_lookup_enabled=t.cnam_lookup_enabled,
            transfer_mode=t.transfer_mode,
            transfer_caller_id=t.transfer_caller_id,
            **_hook(
                env, t.disaster_recovery_flow, "disaster_recovery_url", "disaster_recovery_method"
            ),
        ).sid
        trunks[t.name] = sid
        trunking.trunks(sid).recordings().update(mode=t.recording.mode, trim=t.recording.trim)
        for url in t.origination_urls:
            trunking.trunks(sid).origination_urls.create(
                friendly_name=url.name,
                sip_url=url.sip_url,
                priority=url.priority,
                weight=url.weight,
                enabled=url.enabled,
            )
        for name in t.termination.credential_lists:
            trunking.trunks(sid).credentials_lists.create(credential_list_sid=clists[name])
        for name in t.termination.ip_access_control_lists:
            trunking.trunks(sid).ip_access_control_lists.create(
                ip_access_control_list_sid=acls[name]
            )
    owned = {n.phone_number: n.sid for n in acct.incoming_phone_numbers.list(page_size=1000)}
    for n in env.numbers:
        sid = owned[n.e164]
        update: dict[str, Any] = {
            **_entry(env, "numbers", n, "status_callback"),
        }
        if n.friendly_name:
            update["friendly_name"] = n.friendly_name
        if n.application:
            update["voice_application_sid"] = apps[n.application]
        if update:
            acct.incoming_phone_numbers(sid).update(**update)
        if n.trunk:
            trunking.trunks(trunks[n.trunk]).phone_numbers.create(phone_number_sid=sid)
    for r in env.ip_records:
        sid = voice.ip_records.create(
            ip_address=r.ip_address,
            friendly_name=r.friendly_name or r.name,
            cidr_prefix_length=r.cidr_prefix_length,
        ).sid
        for m in env.source_ip_mappings:
            if m.ip_record == r.name:
                voice.source_ip_mappings.create(
                    ip_record_sid=sid, sip_domain_sid=domains[m.sip_domain]
                )


@dataclass
class Account:
    emu: RunningEmulator
    client: Any
    env: Environment
    project: Path
