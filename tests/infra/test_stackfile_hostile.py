"""Stack files come from pull requests: hostile YAML ends in exit 1/2 with one line, quickly.

Every command that reads a stack file goes through `infra.spec.safeyaml` (go-yaml v3's alias
rule, which Pulumi applies to the same file, a nesting limit and bounded integers), and
validation stays linear in the number of issues.
"""

from __future__ import annotations

import io
import itertools
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_samples import valid_spec, write_project

from infra import cli
from infra.commands.validate import validate
from infra.spec.safeyaml import MAX_DEPTH, allowed_alias_ratio, load_stack_yaml

REPO = Path(__file__).resolve().parents[2]

LAUGHS = "x-defaults:\n" + "".join(
    f"  {name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)  # *i stands for 9**9 = 387,420,489 strings in 700 bytes


def stack_text(env_line: str = "", top: str = "") -> str:
    """A valid prod stack file, with `top` before `config:` and `env_line` first in the spec."""
    spec = valid_spec()
    if env_line:
        del spec["edge"]
    body = yaml.safe_dump(spec, sort_keys=False)
    env = "".join(f"    {line}\n" for line in [env_line, *body.splitlines()] if line)
    return f"{top}config:\n  twilio-voice:environment:\n{env}"


# id -> (stack file text, what the one line says)
HOSTILE: dict[str, tuple[str, str]] = {
    "alias-bomb-outside-the-spec": (stack_text(top=LAUGHS), "excessive aliasing"),
    "self-referencing-alias": (stack_text(top="x-loop: &loop [*loop]\n"), "contains it"),
    "deep-nesting": (
        stack_text(env_line="edge: " + "[" * 100_000 + "]" * 100_000),
        f"deeper than {MAX_DEPTH} levels",
    ),
    "deep-block-nesting": (
        stack_text(top="x-deep:\n" + "".join(f"{'  ' * i} k{i}:\n" for i in range(1, 2000))),
        f"deeper than {MAX_DEPTH} levels",
    ),
    "4400-digit-integer": (stack_text(env_line="edge: " + "7" * 4400), "integer of 4,400"),
    "yaml-syntax-error": (stack_text(env_line="edge: [unclosed"), "invalid YAML at line"),
}


def _write(tmp_path: Path, text: str) -> Path:
    write_project(tmp_path, "other", {})
    (tmp_path / "Pulumi.prod.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _assert_one_clear_line(err: str, says: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[:2000]
    assert "Pulumi.prod.yaml: invalid YAML at line " in lines[0]
    assert says in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize("command", ["validate", "drift"])
def test_hostile_stack_files_end_in_exit_2_with_one_line(
    tmp_path: Path, case: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text, says = HOSTILE[case]
    project = _write(tmp_path, text)
    code = cli.main([command, "--stack", "prod", "--project-dir", str(project)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_ERROR, captured
    _assert_one_clear_line(captured.err, says)
    assert captured.err.startswith("prod: cannot read the stack: ")


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize(
    "argv",
    [["-m", "infra", "validate"], ["-m", "infra", "drift"]],
    ids=["validate", "drift"],
)
def test_an_alias_bomb_in_the_spec_is_refused_without_expanding_it(
    tmp_path: Path, argv: list[str]
) -> None:
    """Expanded, `*i` is gigabytes (pydantic's error message would print all of it)."""
    project = _write(tmp_path, stack_text(env_line="edge: *i", top=LAUGHS))
    result = subprocess.run(
        [sys.executable, *argv, "--stack", "prod", "--project-dir", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_limit_memory,
    )
    assert result.returncode in (1, 2)
    _assert_one_clear_line(result.stderr, "excessive aliasing")


# --- the alias rule is go-yaml v3's ----------------------------------------------------------


class _Refused(Exception):
    pass


def _go_yaml_refuses(text: str) -> bool:
    """go-yaml v3's decoder walk, naively: every alias really expanded (small documents only)."""
    events: Iterator[Any] = iter(yaml.parse(text))
    anchors: dict[str, Any] = {}

    def build(event: Any) -> Any:
        if isinstance(event, yaml.AliasEvent):
            return ("alias", event.anchor)
        node: Any
        if isinstance(event, yaml.ScalarEvent):
            node = ("scalar", [])
        else:
            sequence = isinstance(event, yaml.SequenceStartEvent)
            end: Any = yaml.SequenceEndEvent if sequence else yaml.MappingEndEvent
            node = ("collection", [])
            for child in events:
                if isinstance(child, end):
                    break
                node[1].append(build(child))
        if event.anchor:
            anchors[event.anchor] = node
        return node

    root = None
    for event in events:
        if isinstance(event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.MappingStartEvent):
            root = build(event)
    decode_count, alias_count, alias_depth = 1, 0, 0

    def unmarshal(node: Any) -> None:
        nonlocal decode_count, alias_count, alias_depth
        decode_count += 1
        if alias_depth > 0:
            alias_count += 1
        if decode_count <= 400_000:
            allowed = 0.99
        elif decode_count >= 4_000_000:
            allowed = 0.10
        else:
            allowed = 0.99 - 0.89 * (decode_count - 400_000) / 3_600_000
        if alias_count > 100 and decode_count > 1000 and alias_count / decode_count > allowed:
            raise _Refused
        if node[0] == "alias":
            alias_depth += 1
            unmarshal(anchors[node[1]])
            alias_depth -= 1
        else:
            for child in node[1]:
                unmarshal(child)

    try:
        unmarshal(root)
    except _Refused:
        return True
    return False


def _aliased_document(levels: int, fanout: int, repeats: int, padding: int, first: bool) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * fanout)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fanout)}]")
    uses = f"uses: [{', '.join([f'*l{levels - 1}'] * repeats)}]"
    pad = f"pad: [{', '.join(['p'] * padding)}]"
    return "\n".join([*lines, *([uses, pad] if first else [pad, uses])]) + "\n"


def _loader_refuses(text: str) -> bool:
    try:
        load_stack_yaml(text)
    except yaml.YAMLError as exc:
        return "excessive aliasing" in str(exc)
    return False


def test_the_alias_rule_decides_as_go_yaml_v3_does() -> None:
    verdicts = []
    for levels, fanout, repeats, padding, first in itertools.product(
        (2, 3), (3, 9), (1, 5, 20, 60), (0, 300, 3000), (True, False)
    ):
        text = _aliased_document(levels, fanout, repeats, padding, first)
        refused = _loader_refuses(text)
        assert refused == _go_yaml_refuses(text), (levels, fanout, repeats, padding, first)
        verdicts.append(refused)
    assert any(verdicts)
    assert not all(verdicts)


def test_the_ratio_slides_from_99_to_10_percent() -> None:
    assert allowed_alias_ratio(1_000) == allowed_alias_ratio(400_000) == 0.99
    assert allowed_alias_ratio(2_200_000) == pytest.approx(0.545)
    assert allowed_alias_ratio(4_000_000) == allowed_alias_ratio(10**9) == 0.10


def test_ordinary_aliases_and_merge_keys_still_load() -> None:
    text = "base: &b {flow: ivr_main}\nnumbers: [{<<: *b, e164: '+14155550100'}, *b]\nn: 12\n"
    assert load_stack_yaml(text) == {
        "base": {"flow": "ivr_main"},
        "numbers": [{"flow": "ivr_main", "e164": "+14155550100"}, {"flow": "ivr_main"}],
        "n": 12,
    }


# --- validation is linear in the number of issues --------------------------------------------


class _OverBudget(BaseException):
    pass


def _function_calls(tmp_path: Path, unknown_keys: int, budget: int | None = None) -> int:
    """Python and C function calls made by `validate` for a spec with that many unknown keys."""
    spec = valid_spec()
    spec.update({f"unknown_key_{i}": i for i in range(unknown_keys)})
    folder = tmp_path / str(unknown_keys)
    folder.mkdir()
    project = write_project(folder, "prod", spec)
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += 1
        if budget is not None and calls > budget:
            raise _OverBudget

    err = io.StringIO()
    sys.setprofile(count)
    try:
        code = validate(project, "prod", out=io.StringIO(), err=err)
    except _OverBudget:
        pytest.fail(f"{unknown_keys} unknown keys took over {budget:,} calls: not linear")
    finally:
        sys.setprofile(None)
    assert code == cli.EXIT_INVALID
    assert err.getvalue().count("unknown key 'unknown_key_") == unknown_keys
    return calls


@pytest.mark.slow
def test_validation_is_linear_in_the_number_of_unknown_keys(tmp_path: Path) -> None:
    """10x the keys may cost at most 20x the calls (the quadratic scan it replaces: ~100x)."""
    small = _function_calls(tmp_path, 2_000)
    large = _function_calls(tmp_path, 20_000, budget=20 * small)
    assert large / small < 20
