"""Render a drift report as text (terminal), JSON (machines) or Markdown (PR comment, summary)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from infra.drift.kinds import label
from infra.drift.model import DriftReport, Finding, Value

FORMATS = ("text", "json", "markdown")


def mask_sid(sid: str) -> str:
    """Enough of an Account SID to recognise it, not enough to paste it elsewhere."""
    return f"{sid[:4]}…{sid[-4:]}" if len(sid) > 12 else sid


def redact(value: Value) -> Value:
    """Hide basic-auth credentials a webhook URL may carry (`https://user:pass@host/...`)."""
    if isinstance(value, str) and "@" in value and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def _show(value: Value) -> str:
    value = redact(value)
    return "(not set)" if value is None else json.dumps(value)


def _verdict(report: DriftReport) -> str:
    if report.drifted:
        return "DRIFT"
    return "CLEAN (with unmanaged info)" if report.findings else "CLEAN"


def _summary(report: DriftReport) -> str:
    return (
        f"{report.count('missing')} missing, {report.count('changed')} changed, "
        f"{report.count('unmanaged')} unmanaged; {report.declared_count} declared and "
        f"{report.live_count} live resources compared with {report.api_calls} API calls"
    )


def _title(finding: Finding) -> str:
    sid = f" ({finding.sid})" if finding.sid else ""
    return f"{label(finding.kind)} {finding.key}{sid}"


def render_text(report: DriftReport) -> str:
    lines = [
        f"Drift report for stack {report.stack!r} "
        f"(account {mask_sid(report.account_sid)}): {_verdict(report)}",
        _summary(report),
    ]
    for f in report.findings:
        tag = f.status.upper() + ("" if f.fails else " (info)")
        lines.append(f"{tag:<17} {_title(f)}")
        for c in f.changes:
            lines.append(f"{'':<19}{c.field}: declared {_show(c.declared)}, live {_show(c.live)}")
        lines.append(f"{'':<19}-> {f.hint}")
    if report.not_compared:
        lines.append("Not compared:")
        lines.extend(f"  - {label(n.kind)} {n.field}: {n.reason}" for n in report.not_compared)
    return "\n".join(lines) + "\n"


def render_json(report: DriftReport) -> str:
    doc: dict[str, Any] = {
        "stack": report.stack,
        "account_sid": mask_sid(report.account_sid),
        "status": "drift" if report.drifted else "clean",
        "exit_code": report.exit_code,
        "strict": report.strict,
        "counts": {s: report.count(s) for s in ("missing", "changed", "unmanaged")},
        "declared_count": report.declared_count,
        "live_count": report.live_count,
        "api_calls": report.api_calls,
        "findings": [
            {
                "status": f.status,
                "kind": f.kind,
                "label": label(f.kind),
                "key": f.key,
                "sid": f.sid,
                "fails": f.fails,
                "changes": [
                    {"field": c.field, "declared": redact(c.declared), "live": redact(c.live)}
                    for c in f.changes
                ],
                "hint": f.hint,
            }
            for f in report.findings
        ],
        "not_compared": [
            {"kind": n.kind, "field": n.field, "reason": n.reason} for n in report.not_compared
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(value: Value) -> str:
    shown = _show(value)
    return _cell(shown if value is None else f"`{shown.replace('`', '')}`")


def render_markdown(report: DriftReport) -> str:
    icon = "🔴" if report.drifted else "🟢"
    lines = [
        f"### {icon} Drift report: stack `{report.stack}` — {_verdict(report)}",
        "",
        f"Account `{mask_sid(report.account_sid)}`: {_summary(report)}.",
        "",
    ]
    if report.findings:
        lines += [
            "| Status | Resource | SID | Field | Declared | Live | Fix |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in report.findings:
            status = f.status + ("" if f.fails else " (info)")
            what = _cell(f"{label(f.kind)} `{f.key}`")
            sid = f"`{f.sid}`" if f.sid else ""
            rows = [(c.field, _code(c.declared), _code(c.live)) for c in f.changes] or [
                ("", "", "")
            ]
            for name, want, have in rows:
                lines.append(
                    f"| {status} | {what} | {sid} | {name} | {want} | {have} | {_cell(f.hint)} |"
                )
        lines.append("")
    if report.not_compared:
        lines.append("<details><summary>Not compared</summary>")
        lines.append("")
        lines.extend(f"- {label(n.kind)} `{n.field}`: {n.reason}" for n in report.not_compared)
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[DriftReport], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}


def render(report: DriftReport, fmt: str) -> str:
    return RENDERERS[fmt](report)
