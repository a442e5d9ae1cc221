"""The offline apply harness itself, against a file-backed provider through the real host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_provider import program_for  # tests/e2e is on sys.path (pytest rootdir mode)

from infra.offline import apply
from infra.offline.deployment import Op, StepError
from infra.offline.stack_config import engine_config
from infra.offline.state import MASK

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.store = tmp / "store"
        self.store.mkdir()
        self.state_path = tmp / "state.json"
        self.config = engine_config({"fake:store": str(self.store)}, "twilio-voice", "t")

    def target(self, spec: dict[str, Any]) -> apply.Target:
        return apply.Target(
            project_dir=ROOT,
            config=self.config,
            state_path=self.state_path,
            program=program_for(spec),
            workers=4,
            host_env={"PYTHONPATH": str(HERE)},
        )

    def live(self) -> dict[str, dict[str, Any]]:
        return {p.stem: json.loads(p.read_text()) for p in self.store.glob("*.json")}


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


SPEC = {
    "p1": {"size": 1, "children": ["c1", "c2"], "password": "hunter2-secret"},
    "p2": {"size": 2, "children": ["c3"]},
}


def test_up_noop_update_replace_remove_destroy(harness: Harness) -> None:
    first = apply.up(harness.target(SPEC))
    assert first.summary.count(Op.CREATE) == 5
    live = harness.live()
    assert len(live) == 5
    by_name = {v["name"]: v for v in live.values()}
    # children got their parent's REAL sid: registration waited for the parent's outputs
    assert by_name["c1"]["parent_sid"] == by_name["p1"]["sid"] == first.outputs["p1_sid"]
    text = harness.state_path.read_text()
    assert "hunter2-secret" not in text
    p1 = next(r for r in first.state.resources.values() if r.name == "p1")
    assert p1.inputs["password"] == MASK
    assert "password" in p1.secret_keys
    assert any(d.endswith("::p1") for d in first.state.resources[_urn(first, "c1")].dependencies)

    second = apply.up(harness.target(SPEC))
    assert second.summary.count(Op.SAME) == 5
    assert set(second.summary.calls) == {"Check", "Diff"}
    assert harness.live() == live

    changed = {**SPEC, "p2": {"size": 3, "children": ["c3"]}}
    third = apply.up(harness.target(changed))
    assert third.summary.count(Op.UPDATE) == 1
    assert third.summary.count(Op.SAME) == 4
    assert by_sid_name(harness.live())["p2"]["size"] == 3

    # zone forces a replacement: new sid, old one deleted at the end (create-before-delete) —
    # but p2 has a child, so the child is updated to the new parent sid first.
    replaced = {**SPEC, "p2": {"size": 3, "zone": "b", "children": ["c3"]}}
    fourth = apply.up(harness.target(replaced))
    assert fourth.summary.count(Op.REPLACE) == 1
    live = by_sid_name(harness.live())
    assert live["c3"]["parent_sid"] == live["p2"]["sid"] == fourth.outputs["p2_sid"]
    assert len(harness.live()) == 5

    dropped = {"p1": SPEC["p1"], "p2": {"size": 3, "zone": "b", "children": []}}
    fifth = apply.up(harness.target(dropped))
    assert fifth.summary.count(Op.DELETE) == 1
    assert "c3" not in by_sid_name(harness.live())

    gone = apply.destroy(harness.target(dropped))
    assert gone.summary.count(Op.DELETE) == 4
    assert harness.live() == {}
    assert json.loads(harness.state_path.read_text())["resources"] == []


def test_refresh_reports_out_of_band_changes(harness: Harness) -> None:
    apply.up(harness.target(SPEC))
    live = harness.live()
    sid_c3 = next(s for s, v in live.items() if v["name"] == "c3")
    sid_p1 = next(s for s, v in live.items() if v["name"] == "p1")
    (harness.store / f"{sid_c3}.json").unlink()
    edited = {**live[sid_p1], "size": 99}
    (harness.store / f"{sid_p1}.json").write_text(json.dumps(edited))

    result = apply.refresh(harness.target(SPEC))
    assert result.summary.count(Op.REFRESH_GONE) == 1
    assert result.summary.count(Op.REFRESH_CHANGED) == 1
    assert [k for urn, k in result.refresh_changes.items() if urn.endswith("::p1")] == [["size"]]
    assert len(result.state.resources) == 4

    again = apply.up(harness.target(SPEC))  # converges back: recreate c3, update p1's size
    assert again.summary.count(Op.CREATE) == 1
    assert again.summary.count(Op.UPDATE) == 1
    assert by_sid_name(harness.live())["p1"]["size"] == 1
    apply.destroy(harness.target(SPEC))
    assert harness.live() == {}


def test_protected_resources_are_not_destroyed_until_unprotected(harness: Harness) -> None:
    spec = {"keep": {"protect": True}}
    apply.up(harness.target(spec))
    with pytest.raises(StepError, match="protected"):
        apply.destroy(harness.target(spec))
    assert len(harness.live()) == 1
    assert apply.unprotect(harness.state_path, "twilio-voice", "t") == 1
    apply.destroy(harness.target(spec))
    assert harness.live() == {}


def test_check_failure_names_the_resource_and_property(harness: Harness) -> None:
    bad = {"nameless": {"label": "", "children": []}}
    pattern = r"Check urn:pulumi:t::twilio-voice::.*Parent::nameless: name"
    with pytest.raises(StepError, match=pattern):
        apply.up(harness.target(bad))


def by_sid_name(live: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in live.values()}


def _urn(result: apply.Result, name: str) -> str:
    return next(u for u, r in result.state.resources.items() if r.name == name)
