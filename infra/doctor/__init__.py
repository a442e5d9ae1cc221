"""`twilio-voice doctor`: checks a stack's estate the way Twilio's troubleshooting table does.

`run_checks` runs every check (`infra.doctor.tls`, `infra.doctor.checks`) and returns a
`DoctorReport`; `infra.doctor.report` renders it; `infra.commands.doctor` is the command.
"""

from __future__ import annotations

from infra.doctor.model import Check, DoctorReport
from infra.doctor.run import run_checks

__all__ = ["Check", "DoctorReport", "run_checks"]
