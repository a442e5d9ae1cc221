"""The program's registrations and drift's declared items equal the recorded golden snapshots.

Recorded once (tests/infra/golden/record.py) for every sample estate before the plan refactor
of issue 11; a difference is a behaviour change of `pulumi up` or of `python -m infra drift`.
"""

from __future__ import annotations

from typing import Any

import pytest
from golden_support import estates, read, snapshot

LARGE = {"scale-1000", "drift-scale-1000"}


def _by_urn(snap: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["type"], r["name"]): r for r in snap["registrations"]}


@pytest.mark.xdist_group("pulumi-mocks")
@pytest.mark.parametrize(
    "estate",
    [pytest.param(e, marks=pytest.mark.slow) if e in LARGE else e for e in estates()],
)
def test_snapshot_equals_golden(estate: str) -> None:
    stack, config, golden = read(estate)
    now = snapshot(stack, config)
    want, have = _by_urn(golden), _by_urn(now)
    assert sorted(have) == sorted(want), "registered resources differ"
    for urn, registration in want.items():
        assert have[urn] == registration, urn
    assert now["outputs"] == golden["outputs"]
    assert now["declared"] == golden["declared"]


def test_every_estate_is_recorded() -> None:
    assert set(estates()) >= {
        "local",
        "dev",
        "prod",
        "sample",
        "ordering",
        "scale-100",
        "scale-1000",
        "drift-scale-1000",
    }
