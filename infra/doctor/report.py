"""The doctor's report as text (terminal), JSON (machines) and Markdown (job summary, PR)."""

from __future__ import annotations

import json

from infra.doctor.model import DoctorReport

FORMATS = ("text", "json", "markdown")
_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "skip": "⏭️"}


def _verdict(report: DoctorReport) -> str:
    return "HEALTHY" if report.healthy else "PROBLEMS"


def _summary(report: DoctorReport) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("fail", "warn", "pass", "skip"))
    return f"{counts}; {report.api_calls} Twilio API calls"


def render_text(report: DoctorReport) -> str:
    lines = [
        f"Doctor report for stack '{report.stack}' (account {report.account_sid}): "
        f"{_verdict(report)}",
        _summary(report),
    ]
    for check in report.checks:
        prevents = f"  [prevents {', '.join(check.prevents)}]" if check.prevents else ""
        lines.append(f"{_MARK[check.status]}  {check.title}{prevents}")
        lines += [f"      {d}" for d in check.details]
        if check.fix and check.status in ("fail", "warn"):
            lines.append(f"      -> fix: {check.fix}")
    return "\n".join(lines) + "\n"


def render_json(report: DoctorReport) -> str:
    body = {
        "stack": report.stack,
        "account_sid": report.account_sid,
        "status": "healthy" if report.healthy else "problems",
        "exit_code": report.exit_code,
        "api_calls": report.api_calls,
        "counts": {s: report.count(s) for s in ("fail", "warn", "pass", "skip")},
        "checks": [
            {
                "name": c.name,
                "title": c.title,
                "status": c.status,
                "prevents": list(c.prevents),
                "details": list(c.details),
                "fix": c.fix,
            }
            for c in report.checks
        ],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DoctorReport) -> str:
    icon = "🟢" if report.healthy else "🔴"
    lines = [
        f"## {icon} Doctor: stack `{report.stack}` "
        + ("is healthy" if report.healthy else "has problems"),
        "",
        _summary(report),
        "",
        "| Check | Status | Prevents | Details | Fix |",
        "|---|---|---|---|---|",
    ]
    for c in report.checks:
        details = "<br>".join(_cell(d) for d in c.details)
        fix = _cell(c.fix) if c.status in ("fail", "warn") else ""
        lines.append(
            f"| {_cell(c.title)} | {_ICON[c.status]} {c.status} | {', '.join(c.prevents)} | "
            f"{details} | {fix} |"
        )
    return "\n".join(lines) + "\n"


def render(report: DoctorReport, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)


__all__ = ["FORMATS", "render"]
