"""The environment spec of a stack: models, loading and validation.

`load_environment(raw, stack, secrets_decrypted=...)` for the Pulumi program, and
`load_stack_file(project_dir, stack)` for offline commands; both raise `SpecError`.
"""

from infra.spec.context import LOCAL_STACK, SpecContext
from infra.spec.fields import EDGES, REGIONS, twilio_flows
from infra.spec.issues import SpecError, SpecIssue
from infra.spec.load import load_environment, spec_warnings
from infra.spec.models import (
    Application,
    ByocTrunk,
    CallsAuth,
    ConnectionPolicy,
    ConnectionPolicyTarget,
    Credential,
    CredentialList,
    Credentials,
    Environment,
    IpAccessControlList,
    IpAddress,
    IpRecord,
    OriginationUrl,
    PhoneNumber,
    Recording,
    RegistrationsAuth,
    SipDomain,
    SipDomainAuth,
    SourceIpMapping,
    Trunk,
    TrunkTermination,
)
from infra.spec.secret import Secret
from infra.spec.stackfile import StackFileError, config_key, load_stack_file, read_stack_environment

__all__ = [
    "EDGES",
    "LOCAL_STACK",
    "REGIONS",
    "Application",
    "ByocTrunk",
    "CallsAuth",
    "ConnectionPolicy",
    "ConnectionPolicyTarget",
    "Credential",
    "CredentialList",
    "Credentials",
    "Environment",
    "IpAccessControlList",
    "IpAddress",
    "IpRecord",
    "OriginationUrl",
    "PhoneNumber",
    "Recording",
    "RegistrationsAuth",
    "Secret",
    "SipDomain",
    "SipDomainAuth",
    "SourceIpMapping",
    "SpecContext",
    "SpecError",
    "SpecIssue",
    "StackFileError",
    "Trunk",
    "TrunkTermination",
    "config_key",
    "load_environment",
    "load_stack_file",
    "read_stack_environment",
    "spec_warnings",
    "twilio_flows",
]
