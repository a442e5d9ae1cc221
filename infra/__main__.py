"""The Pulumi program (`main: infra/` in Pulumi.yaml), and `python -m infra <command>`.

Pulumi runs this file with the engine's monitor configured: then it is only the program
(`infra.program.main()`). The CLI is the `twilio-voice` console script (`infra.cli`); this file
still hands other runs to it because `python -m infra validate|drift|schema` is what the README,
the workflows and existing users call, and `-m infra` can only ever run this file.
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
