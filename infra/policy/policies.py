"""Voice guardrails as Pulumi policies, importable without starting the analyzer server.

Levels: MANDATORY blocks `pulumi up`/`preview` for what is a security, legal or irreversible
risk (plain-HTTP webhooks, open SIP domains, unencrypted prod trunks, recording without notice
or consent, unprotected numbers, passwords outside secrets, a single SBC for prod BYOC, prod
calls the app hangs up on). ADVISORY only warns where a working estate may choose otherwise on
purpose (edges: latency and data residency; outside production, calls the app hangs up on).
Any level can be overridden per policy with `--policy-pack-config`.

Each policy reads the environment from policy config `environment`, else from the stack in the
resource URN. `local` (the emulator stack) is exempt from the HTTPS, edge, trunk/route
recording-notice and calls-end-with-a-person rules; the call flows' consent rule holds everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.kinds import KIND_META
from infra.policy import callflows
from infra.policy.context import (
    URL_PROPS,
    environment,
    flow_of,
    is_local,
    is_production,
    names,
    sip_params,
    spec_edge,
    twilio_kind,
)
from infra.resources.call_flows import TYPE as CALL_FLOWS_TYPE
from infra.spec.fields import EDGES

PACK_NAME = "twilio-voice-guardrails"

_ENV_SCHEMA: dict[str, dict[str, Any]] = {
    "environment": {"type": "string", "description": "override the stack name as environment"},
    "localEnvironments": {"type": "array", "items": {"type": "string"}},
}
_PROD_SCHEMA: dict[str, dict[str, Any]] = {
    **_ENV_SCHEMA,
    "productionEnvironments": {"type": "array", "items": {"type": "string"}},
}


def _of_kind(resources: Iterable[PolicyResource], kind: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == KIND_META[kind].type_token]


def _children(
    resources: Iterable[PolicyResource], parent: PolicyResource, kind: str, ref: str
) -> list[PolicyResource]:
    """Resources of `kind` under `parent`: by parent URN, or by `ref` SID once SIDs are known."""
    sid = parent.props.get("sid")
    found = []
    for r in _of_kind(resources, kind):
        if (r.parent is not None and r.parent.urn == parent.urn) or (
            sid and r.props.get(ref) == sid
        ):
            found.append(r)
    return found


def _stack_urn(args: StackValidationArgs) -> str | None:
    return args.resources[0].urn if args.resources else None


# -- webhooks ------------------------------------------------------------------------------


def _https_webhooks(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) is None or is_local(args.get_config(), args.urn):
        return
    for prop in URL_PROPS:
        url = args.props.get(prop)
        if url and not str(url).startswith("https://"):
            report_violation(
                f"{prop} is {url!r}: Twilio webhooks must use https:// outside local (set "
                "public_base_url to the app's https:// address)",
                args.urn,
            )


https_webhooks = ResourceValidationPolicy(
    name="voice-https-webhooks",
    description="Webhook URLs (voice, fallback, status callback, disaster recovery) use HTTPS "
    "outside the local stack.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_https_webhooks,
    config_schema=PolicyConfigSchema(properties=_ENV_SCHEMA),
)


# -- SIP domain call authentication --------------------------------------------------------


def _domain_call_auth(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for domain in _of_kind(args.resources, "SipDomain"):
        mappings = [
            *_children(args.resources, domain, "SipDomainCallsCredentialListMapping", "domain_sid"),
            *_children(
                args.resources, domain, "SipDomainCallsIpAccessControlListMapping", "domain_sid"
            ),
        ]
        if not mappings:
            report_violation(
                f"SIP domain {domain.props.get('domain_name') or domain.name} has no call "
                "authentication: map a credential list or IP ACL under "
                "sip_domains[].auth.calls",
                domain.urn,
            )


sip_domain_call_auth = StackValidationPolicy(
    name="voice-sip-domain-call-auth",
    description="Every SIP domain authenticates calls (a calls credential list or IP ACL "
    "mapping targets it).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_domain_call_auth,
)


# -- trunks ----------------------------------------------------------------------------------


def _prod_trunks_secure(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) != "Trunk" or not is_production(args.get_config(), args.urn):
        return
    if args.props.get("secure") is not True:
        report_violation(
            f"trunk {args.props.get('domain_name') or args.name} is not secure in "
            f"{environment(args.get_config(), args.urn)}: set secure: true (TLS signalling and "
            "SRTP media) and use ;transport=tls origination URLs",
            args.urn,
        )


prod_trunks_secure = ResourceValidationPolicy(
    name="voice-prod-trunks-secure",
    description="Elastic SIP trunks in production use secure trunking (TLS + SRTP).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_prod_trunks_secure,
    config_schema=PolicyConfigSchema(properties=_PROD_SCHEMA),
)


# -- recording consent ------------------------------------------------------------------------

# Flows whose TwiML records (voicemail: <Record>; warm transfer: <Conference record=...>).
RECORDING_FLOWS = ("voicemail", "conference_transfer")
# Flows that announce the recording before it starts (the voicemail prompt precedes the beep).
CONSENT_FLOWS = ("voicemail",)
ENTRY_KINDS = ("IncomingPhoneNumber", "Application", "SipDomain", "ByocTrunk")


def _recording_consent(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    if is_local(config, _stack_urn(args)):
        return
    recording = names(config, "recordingFlows", RECORDING_FLOWS)
    consent = names(config, "consentFlows", CONSENT_FLOWS)
    notice_trunks = names(config, "noticeTrunks", ())
    for trunk in _of_kind(args.resources, "Trunk"):
        mode = trunk.props.get("recording_mode")
        domain = trunk.props.get("domain_name") or trunk.name
        if mode and mode != "do-not-record" and domain not in notice_trunks:
            report_violation(
                f"trunk {domain} records ({mode}) but nothing attests a recording notice: "
                "calls on a trunk run no TwiML, so the PBX must announce it; once it does, add "
                f"{domain!r} to policy config noticeTrunks, or set recording.mode do-not-record",
                trunk.urn,
            )
    for kind in ENTRY_KINDS:
        for res in _of_kind(args.resources, kind):
            flow = flow_of(res.props.get("voice_url"))
            if flow in recording and flow not in consent:
                report_violation(
                    f"{kind} {res.name} sends callers straight to flow {flow!r}, which records "
                    f"without a notice; route them through a consent flow ({', '.join(consent)}) "
                    "or add a notice to that flow and list it in consentFlows",
                    res.urn,
                )


recording_consent = StackValidationPolicy(
    name="voice-recording-consent",
    description="Recording needs a notice: recording trunks are attested in noticeTrunks; "
    "numbers, apps, SIP domains and BYOC trunks never enter a recording flow that is not a "
    "consent flow.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_recording_consent,
    config_schema=PolicyConfigSchema(
        properties={
            **_ENV_SCHEMA,
            "noticeTrunks": {"type": "array", "items": {"type": "string"}},
            "recordingFlows": {"type": "array", "items": {"type": "string"}},
            "consentFlows": {"type": "array", "items": {"type": "string"}},
        }
    ),
)


# -- numbers -------------------------------------------------------------------------------


def _numbers_protected(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) != "IncomingPhoneNumber":
        return
    if not args.opts.protect:
        report_violation(
            f"number {args.props.get('phone_number') or args.name} is not protected: pass "
            "ResourceOptions(protect=True) so removing it from the spec cannot release or reset "
            "it by accident",
            args.urn,
        )


numbers_protected = ResourceValidationPolicy(
    name="voice-numbers-protected",
    description="Phone numbers carry Pulumi `protect`.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_numbers_protected,
)


# -- edges ----------------------------------------------------------------------------------


def _edge_of(uri: Any) -> str | None:
    return sip_params(uri).get("edge") if isinstance(uri, str) else None


def _one_edge(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    if is_local(config, _stack_urn(args)):
        return
    used: dict[str, list[str]] = {}
    for res in _of_kind(args.resources, "OriginationUrl"):
        edge = _edge_of(res.props.get("sip_url"))
        if edge:
            used.setdefault(edge, []).append(res.name)
    for res in _of_kind(args.resources, "ConnectionPolicyTarget"):
        edge = _edge_of(res.props.get("target"))
        if edge:
            used.setdefault(edge, []).append(res.name)
    expected = config.get("edge") or spec_edge()
    if isinstance(expected, str) and expected:
        for edge, who in sorted(used.items()):
            if edge != expected:
                report_violation(
                    f"edge={edge} on {', '.join(who)}, but this environment's edge is "
                    f"{expected}; use edge={expected}",
                    None,
                )
    elif len(used) > 1:
        detail = "; ".join(f"{e}: {', '.join(w)}" for e, w in sorted(used.items()))
        report_violation(
            f"{len(used)} edges in one environment ({detail}); pick one edge for the "
            "environment (spec `edge`) and use it in every SIP URI",
            None,
        )


one_edge = StackValidationPolicy(
    name="voice-one-edge",
    description="All SIP URIs of an environment name the same Twilio edge: the policy config "
    "`edge`, else the stack spec's `edge` when the engine passes stack config, else any one.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_one_edge,
    config_schema=PolicyConfigSchema(
        properties={**_ENV_SCHEMA, "edge": {"type": "string", "enum": list(EDGES)}}
    ),
)


def _origination_edge(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) != "OriginationUrl" or is_local(args.get_config(), args.urn):
        return
    uri = args.props.get("sip_url")
    edge = _edge_of(uri)
    if edge is None:
        report_violation(
            f"origination URL {uri!r} names no edge: append ;edge=<edge> (e.g. ;edge=ashburn) "
            "so Twilio sends calls from a known location, not the roaming edge",
            args.urn,
        )
    elif edge not in EDGES:
        report_violation(
            f"origination URL {uri!r} names unknown edge {edge!r}; use one of {', '.join(EDGES)}",
            args.urn,
        )


origination_edge = ResourceValidationPolicy(
    name="voice-origination-url-edge",
    description="Origination URLs carry an `edge=` parameter with a known Twilio edge.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_origination_edge,
    config_schema=PolicyConfigSchema(properties=_ENV_SCHEMA),
)


# -- secrets ---------------------------------------------------------------------------------


def _password_secret(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    # pulumi_policy unwraps secret values before `validate` runs, so the input's secretness is
    # invisible here; the resource options are what a policy can check.
    if twilio_kind(args.resource_type) != "Credential":
        return
    secret = set(args.opts.additional_secret_outputs or ())
    # A credential whose password is not managed (imported) has no password input to protect.
    wanted = {"password", "password_hash"} if args.props.get("password") else {"password_hash"}
    missing = sorted(wanted - secret)
    if missing:
        report_violation(
            f"credential {args.props.get('username') or args.name}: {', '.join(missing)} not in "
            "additional_secret_outputs; mark them secret so the password (and its fingerprint) "
            "is encrypted wherever the engine records it",
            args.urn,
        )


credential_password_secret = ResourceValidationPolicy(
    name="voice-credential-password-secret",
    description="SIP credential passwords (and their fingerprints) are Pulumi secrets.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_password_secret,
)


# -- BYOC redundancy ---------------------------------------------------------------------------


def _policy_redundancy(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    if not is_production(config, _stack_urn(args)):
        return
    minimum = int(config.get("minTargets", 2))
    for policy in _of_kind(args.resources, "ConnectionPolicy"):
        targets = _children(
            args.resources, policy, "ConnectionPolicyTarget", "connection_policy_sid"
        )
        enabled = [t for t in targets if t.props.get("enabled", True) is not False]
        if len(enabled) < minimum:
            report_violation(
                f"connection policy {policy.props.get('friendly_name') or policy.name} has "
                f"{len(enabled)} enabled target(s) in production; add targets up to {minimum} "
                "so one SBC outage does not stop inbound BYOC calls",
                policy.urn,
            )


prod_connection_policy_redundancy = StackValidationPolicy(
    name="voice-prod-connection-policy-redundancy",
    description="In production every BYOC connection policy has at least two enabled targets.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_policy_redundancy,
    config_schema=PolicyConfigSchema(
        properties={**_PROD_SCHEMA, "minTargets": {"type": "integer", "minimum": 1}}
    ),
)


# -- dialing permissions (toll fraud) ----------------------------------------------------------


def _prod_no_tollfraud(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) != "DialingPermissionsCountry":
        return
    if not is_production(args.get_config(), args.urn):
        return
    if args.props.get("high_risk_tollfraud_numbers_enabled"):
        iso = args.props.get("iso_code") or args.name
        report_violation(
            f"dialing_permissions country {iso} allows high_risk_tollfraud in production: these "
            "are the number ranges international revenue share fraud dials through a leaked "
            "SIP credential; remove high_risk_tollfraud from its risk_classes",
            args.urn,
        )


prod_no_tollfraud_dialing = ResourceValidationPolicy(
    name="voice-prod-no-tollfraud-dialing",
    description="In production no country allows dialing high-risk toll-fraud number ranges.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_prod_no_tollfraud,
    config_schema=PolicyConfigSchema(properties=_PROD_SCHEMA),
)


def _dialing_allowlist(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if twilio_kind(args.resource_type) != "DialingPermissionsCountry":
        return
    allowed = args.get_config().get("allowedCountries")
    if allowed is None:
        return  # no allowlist configured: nothing to compare with
    iso = args.props.get("iso_code")
    if iso and iso not in allowed:
        report_violation(
            f"dialing_permissions country {iso} is not in the policy's allowedCountries "
            f"({', '.join(allowed) or 'none'}): confirm the business calls it, then add it to "
            "allowedCountries in the policy config, or remove it from the stack",
            args.urn,
        )


dialing_allowlist = ResourceValidationPolicy(
    name="voice-dialing-allowlist",
    description="Countries the stack may dial are in the policy config's `allowedCountries`.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_dialing_allowlist,
    config_schema=PolicyConfigSchema(
        properties={
            **_ENV_SCHEMA,
            "allowedCountries": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
            },
        }
    ),
)


# -- call flows (the stack's `CallFlows` resource) ------------------------------------------


def _declared_flows(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> callflows.Declared | None:
    """The flows of the stack's `CallFlows` resource; None for any other resource."""
    if args.resource_type != CALL_FLOWS_TYPE:
        return None
    try:
        return callflows.read(args.props)
    except callflows.UnreadableCallFlows as exc:
        report_violation(
            f"the stack's call_flows cannot be checked: {exc}; run `twilio-voice validate "
            "--stack <stack>`",
            args.urn,
        )
        return None


def _call_recording_consent(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    declared = _declared_flows(args, report_violation)
    if declared is None:
        return
    for problem in callflows.recording_without_consent(declared):
        report_violation(problem, args.urn)


call_recording_consent = ResourceValidationPolicy(
    name="voice-call-recording-consent",
    description="Every path a call takes through the declared call flows, from an entry point "
    "(every flow when the entries are unknown) to a step that records, plays the recording "
    "flow's consent prompt first.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_call_recording_consent,
    config_schema=PolicyConfigSchema(properties=_ENV_SCHEMA),
)


def _calls_end_with_a_person(
    production: bool,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != CALL_FLOWS_TYPE:
            return
        config = args.get_config()
        if is_production(config, args.urn) != production:
            return  # the other policy of the pair judges this environment
        if is_local(config, args.urn):
            return  # the emulator stack: no caller to lose
        declared = _declared_flows(args, report_violation)
        if declared is None:
            return
        for problem in callflows.app_hangups(declared):
            report_violation(problem, args.urn)

    return validate


_END_DESCRIPTION = (
    "no reachable step of the declared call flows ends a call with a hang-up the app chose "
    "(an explicit hangup, 'no answer: goodbye', 'goodbye' when a menu's retries run out "
    "with no operator, first_silence: hangup); calls end with a person or a voicemail. A "
    "hang-up the caller picks from a menu is fine."
)

# One rule at two levels: mandatory in production, advisory elsewhere (each policy runs only in
# its environments, like voice-prod-trunks-secure; a policy's level is fixed per pack).
prod_calls_end_with_a_person = ResourceValidationPolicy(
    name="voice-prod-calls-end-with-a-person",
    description="In production, " + _END_DESCRIPTION,
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_calls_end_with_a_person(production=True),
    config_schema=PolicyConfigSchema(properties=_PROD_SCHEMA),
)
calls_end_with_a_person = ResourceValidationPolicy(
    name="voice-calls-end-with-a-person",
    description="Outside production and local (advisory), " + _END_DESCRIPTION,
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_calls_end_with_a_person(production=False),
    config_schema=PolicyConfigSchema(properties=_PROD_SCHEMA),
)


ALL = [
    https_webhooks,
    sip_domain_call_auth,
    prod_trunks_secure,
    recording_consent,
    numbers_protected,
    one_edge,
    origination_edge,
    credential_password_secret,
    prod_connection_policy_redundancy,
    prod_no_tollfraud_dialing,
    dialing_allowlist,
    call_recording_consent,
    prod_calls_end_with_a_person,
    calls_end_with_a_person,
]
