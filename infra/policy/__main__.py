"""Serve the voice policy pack to the Pulumi engine (started by `--policy-pack infra/policy`).

`PolicyPack(...)` starts the analyzer gRPC server and blocks: never import this module.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from infra.policy.policies import ALL, PACK_NAME

PolicyPack(
    name=PACK_NAME,
    policies=ALL,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Voice guardrails for Twilio numbers, SIP domains, trunks and BYOC.",
)
