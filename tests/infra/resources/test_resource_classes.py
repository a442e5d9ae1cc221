"""The typed Resource classes under Pulumi mocks: type tokens, declared outputs, secret outputs."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

import infra.resources as resources
from infra.resources import KINDS, TYPE_PREFIX
from infra.resources.base import TwilioResource

SEEN: list[pulumi.runtime.MockResourceArgs] = []


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        SEEN.append(args)
        outs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        return f"{args.name}-id", {**outs, "sid": f"{args.name}-sid"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def _mocks() -> None:
    SEEN.clear()
    pulumi.runtime.set_mocks(_Mocks(), project="twilio-voice", stack="test", preview=False)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_resource_class_with_its_type_token(kind: str) -> None:
    cls = getattr(resources, kind)
    assert issubclass(cls, TwilioResource)
    assert cls._resource_type_name == f"dynamic/twilio:{kind}"
    assert cls.provider_class.kind is KINDS[kind]
    assert TYPE_PREFIX == "pulumi-python:dynamic/twilio:"


@pulumi.runtime.test
def test_outputs_are_declared_and_inputs_pass_through() -> Any:
    domain = resources.SipDomain(
        "pbx", domain_name="acme.sip.twilio.com", voice_url="https://a.example/v"
    )
    assert all(hasattr(domain, name) for name in KINDS["SipDomain"].output_names)

    def check(values: list[Any]) -> None:
        assert values == ["pbx-sid", "https://a.example/v"]
        args = next(a for a in SEEN if a.name == "pbx")
        assert args.typ == "pulumi-python:dynamic/twilio:SipDomain"
        assert args.inputs["domain_name"] == "acme.sip.twilio.com"
        assert "voice_fallback_url" not in args.inputs  # unset inputs are not sent

    return pulumi.Output.all(domain.sid, domain.voice_url).apply(check)


def test_unknown_input_names_fail_at_program_time() -> None:
    with pytest.raises(TypeError, match="voice_ulr"):
        resources.SipDomain("pbx", domain_name="acme.sip.twilio.com", voice_ulr="https://x")


def test_credential_marks_its_fingerprint_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[pulumi.ResourceOptions | None] = []
    original = pulumi.dynamic.Resource.__init__

    def spy(self: Any, provider: Any, name: str, props: Any, opts: Any = None) -> None:
        captured.append(opts)
        original(self, provider, name, props, opts)

    monkeypatch.setattr(pulumi.dynamic.Resource, "__init__", spy)
    resources.Credential(
        "alice",
        credential_list_sid="CL" + "a" * 32,
        username="alice",
        password=pulumi.Output.secret("Str0ngPassw0rd"),
        opts=pulumi.ResourceOptions(protect=True),
    )
    opts = captured[-1]
    assert opts is not None
    assert opts.additional_secret_outputs == ["password_hash"]
    assert opts.protect is True  # the caller's options are kept


def test_registering_resources_leaves_the_stock_pickler_in_place() -> None:
    # pulumi's serialize_provider re-wraps pickle._Pickler._batch_setitems on every call; left
    # alone, ~970 resources in one program end in RecursionError (and each one is slower).
    import pickle

    before = pickle._Pickler._batch_setitems
    for i in range(1100):
        resources.IpRecord(f"rec-{i}", ip_address="203.0.113.10")
    assert pickle._Pickler._batch_setitems is before


def test_registering_resources_keeps_a_patch_that_was_there_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whatever another library installed stays; only pulumi's per-registration wrapper goes.
    import pickle

    stock = pickle._Pickler._batch_setitems

    def foreign(self: Any, items: Any) -> Any:
        return stock(self, items)

    monkeypatch.setattr(pickle._Pickler, "_batch_setitems", foreign)
    resources.IpRecord("rec", ip_address="203.0.113.10")
    assert pickle._Pickler._batch_setitems is foreign
