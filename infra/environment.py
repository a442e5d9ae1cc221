"""`VoiceEnvironment`: the whole voice estate of one stack as one Pulumi component.

The plan (`infra.plan`) says what to register: every node's kind, logical name, parent, props,
references and ordering. This component only turns references into the SIDs of the resources
it registered before, makes spec secrets Pulumi secrets again, and registers each node under
its parent (the component, or the resource it belongs to). docs/program.md has the table.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra import resources as twilio
from infra import spec
from infra.plan import Node, Ref, SpecGraphError, plan

COMPONENT_TYPE = "twilio-voice:index:VoiceEnvironment"

__all__ = ["COMPONENT_TYPE", "SpecGraphError", "VoiceEnvironment"]


def _sid(resource: pulumi.Resource) -> pulumi.Output[str]:
    sid: pulumi.Output[str] = resource.sid  # type: ignore[attr-defined]
    return sid


class VoiceEnvironment(pulumi.ComponentResource):
    """Twilio numbers, apps, SIP domains, lists, trunks and BYOC of one environment spec."""

    def __init__(
        self,
        name: str,
        env: spec.Environment,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        estate = plan(env)
        self._account = env.credentials.account_sid
        self._built: dict[Ref, pulumi.Resource] = {}
        for node in estate.order:
            self._built[node.id] = self._register(node)

        def sids(kind: str) -> dict[str, pulumi.Output[str]]:
            return {n.name: _sid(self._built[n.id]) for n in estate.of_kind(kind)}

        self.sip_domain_sids = sids("SipDomain")
        self.trunk_sids = sids("Trunk")
        self.byoc_trunk_sids = sids("ByocTrunk")
        self.number_sids = sids("IncomingPhoneNumber")
        self.register_outputs(
            {
                "sip_domain_sids": self.sip_domain_sids,
                "trunk_sids": self.trunk_sids,
                "byoc_trunk_sids": self.byoc_trunk_sids,
                "number_sids": self.number_sids,
            }
        )

    def _register(self, node: Node) -> pulumi.Resource:
        inputs: dict[str, Any] = dict(node.props)
        for name in node.secret:
            # require_object hands the program decrypted plaintext: make it secret again
            inputs[name] = pulumi.Output.secret(node.props[name].reveal())
        for name, ref in node.refs.items():
            inputs[name] = None if ref is None else _sid(self._built[ref])
        # Every provider checks the configured credentials against the spec's account.
        inputs["expected_account_sid"] = self._account
        depends_on = [self._built[ref] for ref in node.depends_on]
        opts = pulumi.ResourceOptions(
            parent=self._built[node.parent] if node.parent else self,
            depends_on=depends_on or None,
            # Numbers are adopted, not bought: `protect` makes removing one a deliberate act.
            # No retain_on_delete: the provider's delete resets the voice config (or releases
            # the number when release_on_destroy is set), which is what destroy should do.
            protect=True if node.protect else None,
            additional_secret_outputs=list(node.secret) or None,
        )
        cls: Any = getattr(twilio, node.kind)
        resource: pulumi.Resource = cls(
            node.name, opts=opts, **{k: v for k, v in inputs.items() if v is not None}
        )
        return resource
