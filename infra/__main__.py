"""Two entry points in one file.

Pulumi runs `infra/` as the program (`main: infra/` in Pulumi.yaml): then the engine's monitor is
configured and we run `infra.program.main()`. `python -m infra ...` is the offline CLI.
"""

import sys


def _engine_running() -> bool:
    # The Pulumi language host imports and configures pulumi before running the program, so when
    # pulumi is not imported yet this is the CLI (which then also skips pulumi's ~1 s import).
    settings = sys.modules.get("pulumi.runtime.settings")
    return settings is not None and settings.get_monitor() is not None


if _engine_running():
    from infra.program import main as program_main

    program_main()
else:
    from infra.cli import main as cli_main

    sys.exit(cli_main())
