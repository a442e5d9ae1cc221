"""State written by the providers before issue 11 keeps working: it unpickles, refreshes, no diff.

`data/state-local.json` (recorded once at commit 9a65cd8 by tests/infra/golden/record_state.py,
which applied the stack with the since-retired offline harness; never re-recorded) holds the
`local` stack as the providers of that time applied it: every serialized provider, the checked
inputs, the outputs and the Twilio answers its `read` fetched. Each blob is unpickled the way
Pulumi's dynamic-provider host does (`dill.loads` of the base64 string), then `read` runs against
those recorded answers and `check` + `diff` against the recorded inputs, as `pulumi refresh` and
`pulumi up` would.
"""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic import ResourceProvider

FIXTURE = Path(__file__).resolve().parent / "data" / "state-local.json"
STATE = json.loads(FIXTURE.read_text())

# Every provider class that has shipped, at the path it is pickled under (module:Class). Users'
# state names these: never remove an entry; a moved class keeps an alias at its old path.
SHIPPED = (
    "infra.resources.incoming_phone_number:IncomingPhoneNumberProvider",
    "infra.resources.application:ApplicationProvider",
    "infra.resources.sip_domain:SipDomainProvider",
    "infra.resources.sip_domain_calls_credential_list_mapping:SipDomainCallsCredentialListMappingProvider",
    "infra.resources.sip_domain_calls_ip_access_control_list_mapping:SipDomainCallsIpAccessControlListMappingProvider",
    "infra.resources.sip_domain_registrations_credential_list_mapping:SipDomainRegistrationsCredentialListMappingProvider",
    "infra.resources.credential_list:CredentialListProvider",
    "infra.resources.credential:CredentialProvider",
    "infra.resources.ip_access_control_list:IpAccessControlListProvider",
    "infra.resources.ip_address:IpAddressProvider",
    "infra.resources.trunk:TrunkProvider",
    "infra.resources.origination_url:OriginationUrlProvider",
    "infra.resources.trunk_credential_list:TrunkCredentialListProvider",
    "infra.resources.trunk_ip_access_control_list:TrunkIpAccessControlListProvider",
    "infra.resources.trunk_phone_number:TrunkPhoneNumberProvider",
    "infra.resources.byoc_trunk:ByocTrunkProvider",
    "infra.resources.connection_policy:ConnectionPolicyProvider",
    "infra.resources.connection_policy_target:ConnectionPolicyTargetProvider",
    "infra.resources.ip_record:IpRecordProvider",
    "infra.resources.source_ip_mapping:SourceIpMappingProvider",
    "infra.resources.inbound_processing_region:InboundProcessingRegionProvider",
    # issue 14: dialing permissions
    "infra.resources.dialing_permissions_country:DialingPermissionsCountryProvider",
    "infra.resources.dialing_permissions_settings:DialingPermissionsSettingsProvider",
    # issue 13: the call flows in state (not a Twilio record)
    "infra.resources.call_flows:CallFlowsProvider",
)


def unpickle(blob: str) -> Any:
    """What `pulumi.dynamic.__main__.get_provider` does with `props['__provider']`."""
    return dill.loads(base64.b64decode(blob))  # noqa: S301 - the recorded fixture


def class_path(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


class RecordedApi:
    """Answers `read`'s GETs from the recording; any write would be a diff, so it fails."""

    def __init__(self, answers: list[dict[str, Any]], account_sid: str) -> None:
        self.answers = answers
        self.account_sid = account_sid

    def fetch(self, host: str, path: str) -> Any:
        return self._answer("fetch", host, path)

    def list(self, host: str, path: str, params: Any = None) -> Any:
        return self._answer("list", host, path)

    def _answer(self, op: str, host: str, path: str) -> Any:
        for answer in self.answers:
            if (answer["op"], answer["host"], answer["path"]) == (op, host, path):
                return answer["answer"]
        raise AssertionError(f"read asked for {op} {host} {path}, which it did not ask before")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"read must not call {name}")


@pytest.mark.parametrize("path", SHIPPED)
def test_every_shipped_provider_class_resolves(path: str) -> None:
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    assert issubclass(cls, ResourceProvider)
    assert f"{cls.__module__}:{cls.__qualname__}" == path


def test_every_provider_today_is_listed_as_shipped() -> None:
    from infra.resources import PROVIDERS

    today = {f"{c.__module__}:{c.__qualname__}" for c in PROVIDERS.values()}
    assert today <= set(SHIPPED), "a new provider class: add it to SHIPPED"


@pytest.mark.parametrize("kind", sorted(STATE["blobs"]))
def test_recorded_provider_blob_unpickles_to_its_class(kind: str) -> None:
    entry = STATE["blobs"][kind]
    assert entry["provider_class"] in SHIPPED
    assert class_path(unpickle(entry["blob"])) == entry["provider_class"]


@pytest.mark.parametrize("resource", STATE["resources"], ids=lambda r: r["urn"].split("::")[-1])
def test_recorded_state_refreshes_and_applies_without_diff(resource: dict[str, Any]) -> None:
    provider = unpickle(resource["provider"])
    assert class_path(provider) == resource["provider_class"]
    account = resource["outputs"]["account_sid"]
    provider.api_factory = lambda _config: RecordedApi(resource["answers"], account)

    refreshed = provider.read(resource["id"], dict(resource["outputs"]))
    assert refreshed.id == resource["read_id"] == resource["id"]
    assert refreshed.outs == resource["read_outputs"]

    checked = provider.check(dict(resource["inputs"]), dict(resource["inputs"]))
    assert checked.failures == []
    diff = provider.diff(resource["id"], dict(refreshed.outs), checked.inputs)
    assert diff.changes is False, diff
    assert not diff.replaces
