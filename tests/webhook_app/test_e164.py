"""The one E.164 rule: the spec, the providers and the app settings accept the same numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from infra.resources.types import E164 as ProviderE164
from infra.spec.fields import E164 as SpecE164
from webhook_app.e164 import check_e164, e164_problem

CASES = {
    "+14155550100": None,
    "+442071838750": None,
    "+1 415 555 0100": "not_canonical",
    "+1415555010": "invalid",  # too short for NANP: possible elsewhere, valid nowhere
    "14155550100": "unparsable",
    "+999123": "unparsable",  # no such country code
    "": "unparsable",
}


@pytest.mark.parametrize(("value", "kind"), CASES.items())
def test_the_rule(value: str, kind: str | None) -> None:
    problem = e164_problem(value)
    assert (problem.kind if problem else None) == kind
    if kind == "not_canonical":
        assert problem is not None
        assert problem.formatted == "+14155550100"


def accepts(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except (ValidationError, ValueError):
        return False
    return True


SPEC = TypeAdapter(SpecE164)
PROVIDER = TypeAdapter(ProviderE164)


def settings_accepts(value: str) -> bool:
    try:
        check_e164(value)
    except ValueError:
        return False
    return True


@given(st.one_of(st.from_regex(r"\+?[0-9 ]{0,16}", fullmatch=True), st.sampled_from(list(CASES))))
def test_spec_providers_and_settings_agree(value: str) -> None:
    verdicts = {accepts(SPEC, value), accepts(PROVIDER, value), settings_accepts(value)}
    assert len(verdicts) == 1, value
