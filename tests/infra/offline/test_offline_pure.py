"""Pure pieces of the offline harness: config shaping, secrets, state file, ordering."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

from infra.offline.deployment import apply_ignore_changes, run_dependents_first, split_secrets
from infra.offline.mocks import EngineUrnMonitor, pristine_pickler
from infra.offline.stack_config import EncryptedConfigError, engine_config
from infra.offline.state import (
    MASK,
    ResourceRecord,
    StackState,
    StateError,
    load_state,
    mask_secrets,
    save_state,
)


def test_engine_config_namespaces_keys_and_serializes_objects() -> None:
    cfg = engine_config(
        {"environment": {"edge": "ashburn", "n": [1]}, "twilio:accountSid": "AC1", "flag": True},
        "twilio-voice",
        "dev",
    )
    assert cfg.values == {
        "twilio-voice:environment": '{"edge": "ashburn", "n": [1]}',
        "twilio:accountSid": "AC1",
        "twilio-voice:flag": "true",
    }
    assert cfg.secret_keys == frozenset()


def test_encrypted_leaf_marks_the_key_secret_or_names_its_path() -> None:
    raw = {"twilio-voice:environment": {"lists": [{"password": {"secure": "v1:abc"}}]}}
    cfg = engine_config(raw, "twilio-voice", "prod", decrypt=lambda path, _c: f"plain<{path}>")
    env = json.loads(cfg.values["twilio-voice:environment"])
    assert env["lists"][0]["password"] == "plain<twilio-voice:environment.lists[0].password>"
    assert cfg.secret_keys == {"twilio-voice:environment"}
    with pytest.raises(EncryptedConfigError, match=r"environment\.lists\[0\]\.password"):
        engine_config(raw, "twilio-voice", "prod")


def test_split_secrets_finds_nested_secrets_and_strips_wrappers() -> None:
    inputs = {
        "a": rpc.wrap_rpc_secret("s3cret"),
        "b": {"inner": [rpc.wrap_rpc_secret("x")]},
        "c": "plain",
    }
    plain, secret = split_secrets(inputs)
    assert plain == {"a": "s3cret", "b": {"inner": ["x"]}, "c": "plain"}
    assert secret == {"a", "b"}
    assert mask_secrets(plain, secret) == {"a": MASK, "b": MASK, "c": "plain"}


def test_ignore_changes_keeps_recorded_values_but_not_masked_secrets() -> None:
    news = {"a": 2, "b": "new", "pw": "new-secret"}
    old = {"a": 1, "pw": MASK}
    assert apply_ignore_changes(news, old, ["a", "b", "pw"]) == {"a": 1, "pw": "new-secret"}


def test_state_round_trip_and_stack_guard(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = StackState("twilio-voice", "dev")
    state.resources["u1"] = ResourceRecord("u1", "t", "n", "ID1", {"a": 1}, {"b": 2}, "blob")
    save_state(path, state)
    assert load_state(path, "twilio-voice", "dev") == state
    with pytest.raises(StateError, match="not twilio-voice/prod"):
        load_state(path, "twilio-voice", "prod")
    path.write_text("{not json")
    with pytest.raises(StateError, match=r"not an infra\.offline state file"):
        load_state(path, "twilio-voice", "dev")


def record(urn: str, *deps: str) -> ResourceRecord:
    return ResourceRecord(urn, "t", urn, urn, {}, {}, "blob", dependencies=list(deps))


def test_dependents_run_before_what_they_depend_on() -> None:
    records = [record("a"), record("b", "a"), record("c", "b"), record("d", "a")]
    done: list[str] = []
    lock = threading.Lock()

    def work(r: ResourceRecord) -> None:
        with lock:
            assert all(x.urn in done for x in records if r.urn in x.dependencies), r.urn
            done.append(r.urn)

    assert run_dependents_first(records, work, workers=4) == []
    assert sorted(done) == ["a", "b", "c", "d"]
    assert done[-1] == "a"


def test_after_a_failure_nothing_new_starts() -> None:
    records = [record("a"), record("b", "a")]
    started: list[str] = []

    def work(r: ResourceRecord) -> None:
        started.append(r.urn)
        raise RuntimeError(f"boom {r.urn}")

    errors = run_dependents_first(records, work, workers=2)
    assert [str(e) for e in errors] == ["boom b"]
    assert started == ["b"]


def test_urns_follow_the_engine_not_the_mock_monitor() -> None:
    monitor = EngineUrnMonitor.__new__(EngineUrnMonitor)
    pulumi.runtime.set_mocks(_NoMocks(), project="p", stack="s")
    stack_urn = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
    comp = monitor.make_urn(stack_urn, "x:index:Comp", "c")
    assert comp == "urn:pulumi:s::p::x:index:Comp::c"
    child = monitor.make_urn(comp, "pulumi-python:dynamic/twilio:Trunk", "t")
    assert child == "urn:pulumi:s::p::x:index:Comp$pulumi-python:dynamic/twilio:Trunk::t"
    grandchild = monitor.make_urn(child, "k:m:T", "g")
    assert grandchild == "urn:pulumi:s::p::x:index:Comp$pulumi-python:dynamic/twilio:Trunk$k:m:T::g"


def test_pristine_pickler_undoes_the_sdk_wrappers() -> None:
    import pickle

    from pulumi.dynamic.dynamic import ResourceProvider, serialize_provider

    pristine_pickler()
    stock = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    for _ in range(3):
        serialize_provider(ResourceProvider())
    assert pickle._Pickler._batch_setitems is not stock  # type: ignore[attr-defined]
    pristine_pickler()
    assert pickle._Pickler._batch_setitems is stock  # type: ignore[attr-defined]


class _NoMocks:
    def new_resource(self, args: object) -> tuple[str, dict[str, object]]:
        return "", {}

    def call(self, args: object) -> dict[str, object]:
        return {}
