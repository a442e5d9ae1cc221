"""Run the Pulumi program under mocks and replay what it registered to the policy analyzer.

The analyzer requests are built from the exact `RegisterResource` payloads (secrets still in
their envelope, options as sent), so the policies see what the engine would hand them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import program_mocks
import yaml
from google.protobuf import struct_pb2
from program_mocks import PROJECT, ROOT, engine_config, kind_sid
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from infra.policy.policies import ALL, PACK_NAME

PACK_DIR = ROOT / "infra" / "policy"
PACK_CONFIG = json.loads((PACK_DIR / "config.json").read_text())


def stack_spec(stack: str) -> dict[str, Any]:
    """The stack file's environment spec as a plain dict (to copy and mutate)."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(doc["config"][f"{PROJECT}:environment"])


def good_prod_spec() -> dict[str, Any]:
    """prod's spec with one edge and secure trunks (what the example should declare)."""
    spec = stack_spec("prod")
    for trunk in spec["trunks"]:
        trunk["secure"] = True
        for url in trunk["origination_urls"]:
            uri = (
                url["sip_url"]
                .split(";edge=")[0]
                .replace("5060;transport=udp", "5061;transport=tls")
            )
            url["sip_url"] = uri + ";edge=ashburn"
    return spec


mock_sid = kind_sid  # names repeat across kinds (a BYOC trunk and its policy)


@dataclass
class Registered:
    typ: str
    name: str
    urn: str
    parent: str
    inputs: struct_pb2.Struct
    protect: bool
    additional_secret_outputs: list[str]

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[-1]


def run_program(stack: str, spec: dict[str, Any] | None = None) -> list[Registered]:
    """What `infra.program.main()` registers for `stack` (optionally with another spec)."""
    run = program_mocks.run_program(stack, engine_config(stack, spec), sid=mock_sid)
    return [
        Registered(
            r.typ,
            r.name,
            r.urn,
            r.parent,
            r.struct,
            r.protect,
            r.additional_secret_outputs,
        )
        for r in run.records
        if r.custom
    ]


_RUNS: dict[str, list[Registered]] = {}


def example_run(stack: str) -> list[Registered]:
    """The example stack's registrations, once per process; callers get a deep copy."""
    if stack not in _RUNS:
        _RUNS[stack] = run_program(stack)
    return copy.deepcopy(_RUNS[stack])


def _options(r: Registered) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=r.protect, additionalSecretOutputs=r.additional_secret_outputs, parent=r.parent
    )


def servicer(config: dict[str, Any] | None = None) -> _PolicyAnalyzerServicer:
    """The analyzer the engine talks to, configured like `--policy-pack-config`."""
    s = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL, EnforcementLevel.ADVISORY)
    # Like the engine: a policy's config carries its own level unless the file overrides it.
    defaults = {p.name: p.enforcement_level for p in ALL}
    policy_config = {}
    for name, props in (PACK_CONFIG if config is None else config).items():
        level = props.get("enforcementLevel") or defaults[name].value
        cfg = analyzer_pb2.PolicyConfig(enforcementLevel=PROTO_LEVELS[level])
        cfg.properties.update({k: v for k, v in props.items() if k != "enforcementLevel"})
        policy_config[name] = cfg
    s.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config), None)
    return s


PROTO_LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
}
Diagnostic = tuple[str, str, str]  # (policy, "mandatory" | "advisory", last message line)
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}


def _diags(response: Any) -> list[Diagnostic]:
    return [
        (d.policyName, LEVELS[d.enforcementLevel], d.message.splitlines()[-1])
        for d in response.diagnostics
    ]


def analyze(records: list[Registered], config: dict[str, Any] | None = None) -> list[Diagnostic]:
    """Every diagnostic of Analyze (per resource, inputs) and AnalyzeStack (outputs)."""
    s = servicer(config)
    found: list[Diagnostic] = []
    for r in records:
        request = analyzer_pb2.AnalyzeRequest(
            type=r.typ, urn=r.urn, name=r.name, properties=r.inputs, options=_options(r)
        )
        found += _diags(s.Analyze(request, None))
    resources = []
    for r in records:
        outputs = struct_pb2.Struct()
        outputs.CopyFrom(r.inputs)
        outputs.update({"sid": mock_sid(r.typ, r.name)})
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type=r.typ,
                urn=r.urn,
                name=r.name,
                properties=outputs,
                options=_options(r),
                parent=r.parent,
            )
        )
    found += _diags(s.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), None))
    return found


def policies_hit(diags: list[Diagnostic]) -> set[str]:
    return {d[0] for d in diags}


def find(records: list[Registered], kind: str, pred: Callable[[Registered], bool] = lambda r: True):
    return [r for r in records if r.kind == kind and pred(r)]
