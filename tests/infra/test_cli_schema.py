"""`python -m infra schema`: a JSON schema that accepts the example stacks and catches typos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from infra import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["schema"]) == 0
    schema = json.loads(out.getvalue())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _stack(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / f"Pulumi.{name}.yaml").read_text())
    return document


@pytest.mark.parametrize("stack", ["prod", "dev", "local"])
def test_example_stacks_match_the_schema(validator: Draft202012Validator, stack: str) -> None:
    assert [e.message for e in validator.iter_errors(_stack(stack))] == []


@pytest.mark.parametrize(
    ("key", "value"),
    [("edge", "mars"), ("region", "eu1"), ("numbrs", []), ("public_base_url", 5)],
)
def test_schema_rejects_what_validate_rejects(
    validator: Draft202012Validator, key: str, value: object
) -> None:
    document = _stack("prod")
    document["config"]["twilio-voice:environment"][key] = value
    assert list(validator.iter_errors(document))
