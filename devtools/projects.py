"""A scratch copy of the project in the layout users have, for the engine tests and benchmarks.

`Pulumi.yaml` as committed (runtime python, virtualenv `.venv`), `.venv` linked to the running
interpreter's virtualenv (it has the project installed), and the program folder `infra/` holding
only the program's `__main__.py` and the policy pack: everything else comes from the installed
`infra` package, as in a user's checkout. Stack files are the caller's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The files `pulumi` reads from the program folder (the rest is imported from the package).
PROGRAM_FILES = (
    "infra/__main__.py",
    "infra/policy/__main__.py",
    "infra/policy/PulumiPolicy.yaml",
    "infra/policy/config.json",
)


def lay_out(folder: Path) -> Path:
    """Create `folder` as a project Pulumi can run; return it."""
    (folder / "infra" / "policy").mkdir(parents=True)
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    (folder / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    for name in PROGRAM_FILES:
        (folder / name).write_text((ROOT / name).read_text())
    return folder
