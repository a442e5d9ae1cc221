"""Record the golden snapshots (tests/infra/golden/data) from the code as it is now.

    .venv/bin/python tests/infra/golden/record.py [estate ...]

Estates: the three example stacks, the test suite's sample spec, the generated scale estates of
tests/e2e/test_scale.py (100 and 1,000 numbers) and the 1,000-number drift estate of
tests/infra/drift/test_drift_scale.py. Only re-record for a deliberate behaviour change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
ROOT = TESTS.parent
for extra in (ROOT, TESTS, TESTS / "infra", TESTS / "e2e", HERE):
    sys.path.insert(0, str(extra))

from golden_support import snapshot, write  # noqa: E402
from program_mocks import EngineConfig, engine_config  # noqa: E402

DRIFT_SCALE_ACCOUNT = "AC" + "5ca1e" * 6 + "00"


def _sample() -> EngineConfig:
    from spec_samples import valid_spec

    return engine_config("dev", valid_spec())


def _ordering() -> EngineConfig:
    """The sample with a SIP domain whose BYOC trunk's from_domain is declared after it."""
    from spec_samples import valid_spec

    spec = valid_spec()
    pbx, soft = spec["sip_domains"]
    third = {
        "name": "third",
        "domain_name": "acme-third.sip.twilio.com",
        "flow": "sip_inbound",
        "byoc_trunk": "carrier-b",
        "region": "ie1",
    }
    spec["sip_domains"] = [soft, third, pbx]
    spec["byoc_trunks"].append({"name": "carrier-b", "flow": "byoc_inbound"})
    spec["source_ip_mappings"].append({"ip_record": "sbc1", "sip_domain": "third"})
    return engine_config("dev", spec)


def _scale(numbers: int) -> Callable[[], EngineConfig]:
    def build() -> EngineConfig:
        try:
            from test_scale import scale_spec  # tests/e2e, read as it is
        except ModuleNotFoundError:  # the e2e scale test is gone: keep the recorded estate
            from golden_support import read

            return read(f"scale-{numbers}")[1]
        return engine_config("local", scale_spec(numbers))

    return build


def _drift_scale() -> EngineConfig:
    from emulator.numbers import generated_numbers

    spec: dict[str, Any] = {  # as tests/infra/drift/test_drift_scale.py declares it
        "public_base_url": "https://voice.example.com",
        "credentials": {"account_sid": DRIFT_SCALE_ACCOUNT},
        "numbers": [{"e164": n, "flow": "ivr_main"} for n in generated_numbers(1000)],
    }
    return engine_config("dev", spec)


ESTATES: dict[str, tuple[str, Callable[[], EngineConfig]]] = {
    "local": ("local", lambda: engine_config("local")),
    "dev": ("dev", lambda: engine_config("dev")),
    "prod": ("prod", lambda: engine_config("prod")),
    "sample": ("dev", _sample),
    "ordering": ("dev", _ordering),
    "scale-100": ("local", _scale(100)),
    "scale-1000": ("local", _scale(1000)),
    "drift-scale-1000": ("scale", _drift_scale),
}


def main(names: list[str]) -> None:
    for name in names or list(ESTATES):
        stack, build = ESTATES[name]
        config = build()
        snap = snapshot(stack, config)
        write(name, stack, config, snap)
        print(
            f"{name}: {len(snap['registrations'])} registrations, {len(snap['declared'])} declared"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
