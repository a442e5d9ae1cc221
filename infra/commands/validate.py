"""`python -m infra validate --stack <name>`: check a stack's spec offline and summarise it."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.kinds import KINDS, KindMeta
from infra.plan import Plan, plan
from infra.spec import (
    Environment,
    SpecError,
    SpecIssue,
    StackFileError,
    load_stack_file,
    spec_warnings,
)
from infra.spec.secret import Secret
from infra.spec.stackfile import stack_file, stack_file_locator
from infra.urls import CALL_FLOW_ROUTES, call_flow_url, webhook
from webhook_app.callflow.artifact import content_hash


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="github: also print each problem as a GitHub Actions annotation on its YAML line",
    )


def run(args: argparse.Namespace) -> int:
    return validate(
        args.project_dir, args.stack, out=sys.stdout, err=sys.stderr, github=args.format == "github"
    )


def validate(
    project_dir: Path, stack: str, *, out: TextIO, err: TextIO, github: bool = False
) -> int:
    """Exit 0 valid (summary on `out`, warnings on `err`), 1 invalid (every issue on `err`),
    2 unreadable. Warnings (an unreachable menu, a flow nothing enters) never fail it."""
    try:
        file_name = stack_file(project_dir, stack).name
        env = load_stack_file(project_dir, stack)
    except StackFileError as exc:
        print(f"{stack}: cannot read the stack: {exc}", file=err)
        return EXIT_ERROR
    except SpecError as exc:
        locate = stack_file_locator(project_dir, stack)
        print(exc.format(_where(file_name, locate)), file=err)
        if github:
            for issue in exc.issues:
                out.write(annotation(file_name, locate(issue.path), issue.format(stack), issue))
        if exc.shape:
            print(
                "(names and cross references are checked once these are fixed)",
                file=err,
            )
        return EXIT_INVALID
    out.write(summary(stack, env, project_dir / f"Pulumi.{stack}.yaml"))
    found = spec_warnings(env, stack)
    if found:
        locate = stack_file_locator(project_dir, stack)
        where = _where(file_name, locate)
        for issue in found:
            print(issue.format(stack, where(issue)), file=err)
            if github:
                out.write(annotation(file_name, locate(issue.path), issue.format(stack), issue))
    return EXIT_OK


def _where(
    file_name: str, locate: Callable[[str], int | None]
) -> Callable[[SpecIssue], str | None]:
    def where(issue: SpecIssue) -> str | None:
        line = locate(issue.path)
        return None if line is None else f"{file_name}:{line}"

    return where


def annotation(
    file_name: str, line: int | None, message: str, issue: SpecIssue | None = None
) -> str:
    """A GitHub Actions `::error` (or, for a warning, `::warning`) workflow command, shown on
    the PR diff at that line."""
    escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    where = f"file={file_name}" + (f",line={line}" if line is not None else "")
    if issue is not None and issue.warning:
        return f"::warning {where},title=environment spec warning::{escaped}\n"
    return f"::error {where},title=invalid environment spec::{escaped}\n"


def _count(count: int, kind: KindMeta) -> str:
    return f"{count} {kind.noun if count == 1 else kind.plural}"


def declares(estate: Plan) -> list[str]:
    """`3 numbers`, `1 credential list (2 credentials)`, ...: per spec list, from the plan."""
    per_kind = Counter(node.kind for node in estate.nodes)
    counts = []
    for kind in KINDS:
        if kind.spec_key is None:
            continue
        text = _count(per_kind[kind.name], kind)
        entries = [k for k in KINDS if k.parent == kind.name and not k.association]
        if entries:
            text += f" ({', '.join(_count(per_kind[k.name], k) for k in entries)})"
        counts.append(text)
    return counts


def summary(stack: str, env: Environment, path: Path) -> str:
    """A short human summary of what the stack declares."""
    all_creds = [cred for _, cred in env.credentials_with_paths()]
    creds = [c for c in all_creds if c.password is not None]
    unmanaged = len(all_creds) - len(creds)
    secure = sum(1 for c in creds if c.password is not None and c.password.is_secure)
    plain = len(creds) - secure
    counts = declares(plan(env))
    overrides = [
        *(f"number {n.e164} {n.region}" for n in env.numbers if n.region),
        *(f"SIP domain {d.name} {d.region}" for d in env.sip_domains if d.region),
        *(f"trunk {t.name} {t.region}" for t in env.trunks if t.region),
    ]
    region = env.region or "Twilio default (us1)"
    if overrides:
        region += f"; per resource: {', '.join(overrides)}"
    auth: str = env.credentials.auth
    if env.credentials.api_key_sid:
        auth += f" {env.credentials.api_key_sid}"
    lines = [
        f"{stack}: valid ({path.name})",
        f"  account   {env.credentials.account_sid or 'not pinned'} (auth: {auth})",
        f"  edge      {env.edge or 'Twilio default'}",
        f"  region    {region}",
        f"  base URL  {env.public_base_url}",
        "  declares  " + ", ".join(counts[:4]),
        "            " + ", ".join(counts[4:7]),
        "            " + ", ".join(counts[7:]),
        "  webhooks  (flows used -> method and URL)",
    ]
    flows = env.flows_used()
    width = max((len(f) for f in flows), default=0)
    for flow in flows:
        hook = webhook(env.public_base_url, flow)
        lines.append(f"    {flow:<{width}}  {hook.method} {hook.url}")
    if not flows:
        lines.append("    (none)")
    lines += _call_flows_summary(env)
    if not all_creds:
        lines.append("  passwords none declared")
    elif not creds:
        lines.append(
            f"  passwords none managed: {unmanaged} credential(s) exist in Twilio without a "
            "managed password (never sent or rotated; set one to manage it)"
        )
    else:
        lines.append(f"  passwords {secure} of {len(creds)} are Pulumi secrets")
        if unmanaged:
            lines.append(f"            {unmanaged} more not managed (exist in Twilio, no password)")
        encrypted = sum(1 for c in creds if c.password and not c.password.has_plaintext)
        if encrypted:
            lines.append(
                f"            {encrypted} still encrypted: their strength is checked when the "
                f"Pulumi program decrypts them, not here"
            )
        if plain:
            lines.append(
                f"            {plain} in plain text (allowed on the local stack only); "
                f"strength checked"
            )
    for clist in env.credential_lists if all_creds else ():
        users = ", ".join(f"{c.username} ({_password_kind(c.password)})" for c in clist.credentials)
        lines.append(f"    {clist.name}: {users or 'no credentials'}")
    dialing = env.dialing_permissions
    if dialing is not None:
        allowed = "; ".join(
            f"{c.iso_code} ({', '.join(c.risk_classes)})" for c in dialing.countries
        )
        inherit = "" if dialing.inherit is None else f"; inherit: {str(dialing.inherit).lower()}"
        lines.append(f"  dialing   {allowed or 'no country'}; every other country off{inherit}")
    return "\n".join(lines) + "\n"


def _call_flows_summary(env: Environment) -> list[str]:
    """The declared call flows, what enters each (with its URL), and the artifact's hash."""
    flows = env.call_flows
    if flows is None:
        return ["  call flows none declared: the app serves its built-in flow"]
    lines = [
        f"  call flows {len(flows.flows)} ({', '.join(flows.flows)}); default "
        f"{flows.entry_flow}; hash {content_hash(flows, env.dial_countries())}",
    ]
    entries = [(path, entry) for path, entry in env.entry_points() if entry.call_flow]
    width = max((len(path) for path, _ in entries), default=0)
    for path, entry in entries:
        assert entry.call_flow is not None
        route = CALL_FLOW_ROUTES[path.split("[", 1)[0]]
        url = call_flow_url(env.public_base_url, route, entry.call_flow)
        lines.append(f"    {path:<{width}}  {entry.call_flow}: {url}")
    for name, flow in flows.flows.items():
        lines.append(
            f"    flow {name}: {len(flow.menus)} menu{'s' * (len(flow.menus) != 1)}, "
            f"{flow.voice} ({flow.language}), recording {flow.recording.mode}"
        )
    return lines


def _password_kind(password: Secret | None) -> str:
    if password is None:
        return "password not managed"
    return "secure" if password.is_secure else "plain text"


COMMAND = Command(
    name="validate",
    help="Validate Pulumi.<stack>.yaml's environment spec offline and print a summary.",
    add_arguments=add_arguments,
    run=run,
)
