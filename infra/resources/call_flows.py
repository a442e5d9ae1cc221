"""The stack's call flows as state (`CallFlows`): what the policy pack and `pulumi preview` see.

Not a Twilio record: the provider makes no API call and needs no credentials. One per stack that
declares `call_flows`; its inputs are the section as JSON data, its content hash (the value the
app's `/healthz` reports when it serves an artifact made from this stack), the countries a SIP
user may dial, and the entry points (`number +14155550100` -> the flow it enters). Create
returns a fixed id and echoes the inputs, read returns what state has, delete does nothing, and a
changed hash (or a changed entry point) is an update, never a replace.

Why it exists: a policy sees resources only, so the call-flow policies (consent before recording,
production calls end with a person) read the flows here. It also makes a flow change visible in
`pulumi preview` as an update of this resource, although no Twilio resource changes; `pulumi
refresh` never changes it, and drift and the main job's inventory do not list it (it is not in
`infra.kinds`).

The provider class is pickled into users' state at `infra.resources.call_flows:CallFlowsProvider`
(tests/infra/golden/test_state_compat.py lists it): never rename or move it without an alias.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydanticField

from infra.kinds import KINDS
from infra.resources.base import _stock_pickler
from infra.resources.kind import PROVIDER_KEY, without_provider
from infra.spec import Environment
from infra.spec.models import ENTRY_POINT_KEYS
from webhook_app.callflow import artifact
from webhook_app.callflow.model import CallFlows as CallFlowsModel

RESOURCE_NAME = "call-flows"  # the logical name: one per stack
STATE_ID = "call-flows"  # the id: stable, nothing on Twilio's side to name
TYPE = "pulumi-python:dynamic/voice:CallFlows"
HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"

# How an entry point is named in `entries` and in policy messages, per spec list: its kind's
# noun (infra.kinds).
ENTRY_LABELS: dict[str, str] = {
    k.spec_key: k.noun for k in KINDS if k.spec_key in ENTRY_POINT_KEYS and k.parent is None
}


class CallFlowsArgs(BaseModel):
    """The inputs: the section as JSON data, its hash, the dialable countries, the entries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hash: str = PydanticField(pattern=HASH_PATTERN)
    call_flows: dict[str, Any]
    dial_countries: list[str] | None = None  # None: the stack does not declare them
    entries: dict[str, str] = PydanticField(default_factory=dict)


INPUTS = tuple(CallFlowsArgs.model_fields)


# -- what the stack declares (pure) --------------------------------------------------------------


def stack_call_flows(env: Environment) -> CallFlowsModel:
    """The flows the app should serve for this stack: its section, else the built-in flow."""
    return env.call_flows if env.call_flows is not None else artifact.DEFAULT_CALL_FLOWS


def stack_hash(env: Environment) -> str:
    """The content hash of what the app serves for this stack (its `/healthz` `call_flows`)."""
    return artifact.content_hash(stack_call_flows(env), env.dial_countries())


def entry_label(key: str, entry: Any) -> str:
    """`number +14155550100`, `SIP domain pbx`: an entry point as messages name it."""
    name = entry.e164 if key == "numbers" else entry.name
    return f"{ENTRY_LABELS[key]} {name}"


def stack_entries(env: Environment) -> dict[str, str]:
    """Entry point label -> the call flow it enters, for the entries that name one."""
    found: dict[str, str] = {}
    for path, entry in env.entry_points():
        if entry.call_flow is not None:
            found[entry_label(path.split("[", 1)[0], entry)] = entry.call_flow
    return found


def call_flows_args(env: Environment) -> CallFlowsArgs | None:
    """The resource's inputs for `env`; None when it declares no `call_flows`."""
    if env.call_flows is None:
        return None
    return CallFlowsArgs(
        hash=stack_hash(env),
        call_flows=env.call_flows.model_dump(mode="json", exclude_none=True),
        dial_countries=env.dial_countries(),
        entries=stack_entries(env),
    )


# -- the provider ---------------------------------------------------------------------------------


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in without_provider(props).items() if k in INPUTS and v is not None}


def _checked(values: dict[str, Any]) -> CallFlowsArgs | list[CheckFailure]:
    """The inputs with the section in canonical form (ints, not the host's floats), or why not."""
    prefix = ""
    try:
        args = CallFlowsArgs.model_validate(values)
        prefix = "call_flows."  # the section is validated on its own: its paths are below it
        flows = CallFlowsModel.model_validate(args.call_flows)
    except ValidationError as exc:
        return [
            CheckFailure(
                (prefix + ".".join(map(str, err["loc"]))).rstrip(".") or "call_flows", err["msg"]
            )
            for err in exc.errors(include_input=False, include_url=False)
        ]
    if artifact.content_hash(flows, args.dial_countries) != args.hash:
        return [
            CheckFailure(
                "hash",
                "is not the content hash of call_flows and dial_countries "
                "(webhook_app.callflow.artifact.content_hash): the program computes it",
            )
        ]
    return args.model_copy(update={"call_flows": flows.model_dump(mode="json", exclude_none=True)})


class CallFlowsProvider(ResourceProvider):
    """State only: no Twilio call, no credentials; create/update echo the inputs."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        values = _inputs(news)
        if any(isinstance(v, Unknown) for v in values.values()):
            return CheckResult(news, [])
        args = _checked(values)
        if isinstance(args, list):
            return CheckResult(news, args)
        checked = args.model_dump(mode="json")
        if PROVIDER_KEY in news:
            checked[PROVIDER_KEY] = news[PROVIDER_KEY]
        return CheckResult(checked, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # The hash covers the flows and the countries; the entries are compared on their own.
        changed = [k for k in ("hash", "entries") if (olds.get(k) or None) != (news.get(k) or None)]
        return DiffResult(changes=bool(changed), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(STATE_ID, _inputs(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_ or STATE_ID, _inputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_inputs(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class CallFlows(Resource, module="voice", name="CallFlows"):
    """The stack's call flows in state (type `pulumi-python:dynamic/voice:CallFlows`)."""

    hash: pulumi.Output[str]
    call_flows: pulumi.Output[dict[str, Any]]
    dial_countries: pulumi.Output[list[str] | None]
    entries: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        args: CallFlowsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {name: None for name in INPUTS}
        props.update(args.model_dump(mode="json", exclude_none=True))
        with _stock_pickler():
            super().__init__(CallFlowsProvider(), resource_name, props, opts)


__all__ = [
    "ENTRY_LABELS",
    "RESOURCE_NAME",
    "STATE_ID",
    "TYPE",
    "CallFlows",
    "CallFlowsArgs",
    "CallFlowsProvider",
    "call_flows_args",
    "entry_label",
    "stack_call_flows",
    "stack_entries",
    "stack_hash",
]
