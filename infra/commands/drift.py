"""`python -m infra drift --stack <name>`: compare the stack's spec with the live account.

Exit codes: 0 no drift, 1 drift, 2 error (unreadable or invalid stack, missing or rejected
credentials, Twilio unreachable). Needs no Pulumi CLI or backend, only read access to Twilio.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from infra.client import CONFIG_KEYS, RetryPolicy, TwilioApi, resolve_credentials
from infra.commands.command import (
    EXIT_ERROR,
    Command,
    add_stack_arguments,
    emit_report,
    read_spec,
)
from infra.drift.collect import Lister, collect_live
from infra.drift.compare import compare
from infra.drift.declared import declared_items
from infra.drift.kinds import NOT_COMPARED
from infra.drift.model import DriftReport
from infra.drift.report import FORMATS, mask_sid, render
from infra.errors import ConfigurationError, TwilioApiError
from infra.spec import Environment, StackFileError
from infra.spec.stackfile import read_stack_config


class CountingApi(TwilioApi):
    """`TwilioApi` that counts HTTP requests (retries included), for the report."""

    calls = 0

    def send_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        self.calls += 1
        return super().send_once(method, url, params=params, data=data)


def detect(env: Environment, api: Lister, stack: str, *, strict: bool = False) -> DriftReport:
    """Compare `env` with the account `api` reads (`api_calls` is filled in by the caller)."""
    declared = declared_items(env)
    live = collect_live(api, declared)
    return DriftReport(
        stack=stack,
        account_sid=api.account_sid,
        findings=compare(declared, live, strict=strict),
        not_compared=NOT_COMPARED,
        declared_count=len(declared),
        live_count=len(live),
        api_calls=0,
        strict=strict,
    )


def stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """The plain `twilio:*` settings of `Pulumi.<stack>.yaml` (secure values cannot be read)."""
    try:
        config, _ = read_stack_config(project_dir, stack)
    except StackFileError:
        return {}
    keys = set(CONFIG_KEYS.values())
    return {k: v for k, v in config.items() if k in keys and isinstance(v, str)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", type=Path, help="write the report here instead of stdout")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail on phone numbers in the account that the stack does not declare",
    )


def drift(
    project_dir: Path,
    stack: str,
    *,
    fmt: str = "text",
    output: Path | None = None,
    strict: bool = False,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    env = read_spec(project_dir, stack, err)
    if env is None:
        return EXIT_ERROR
    try:
        credentials = resolve_credentials(
            stack_config(project_dir, stack), os.environ if environ is None else environ
        )
    except ConfigurationError as exc:
        print(f"{stack}: {exc}", file=err)
        return EXIT_ERROR
    pinned = env.credentials.account_sid
    if pinned and pinned != credentials.account_sid:
        print(
            f"{stack}: the credentials are for account {mask_sid(credentials.account_sid)} but "
            f"the stack belongs to {mask_sid(pinned)} (credentials.account_sid); use that "
            f"account's credentials",
            file=err,
        )
        return EXIT_ERROR
    api = CountingApi(credentials, retry)
    try:
        report = detect(env, api, stack, strict=strict)
    except TwilioApiError as exc:
        # The message is Twilio's plus a hint; credentials never appear in it.
        print(f"{stack}: drift check failed: {exc}", file=err)
        return EXIT_ERROR
    report = dataclasses.replace(report, api_calls=api.calls)
    verdict = "drift" if report.drifted else "no drift"
    if not emit_report(render(report, fmt), output, stack, verdict, out, err):
        return EXIT_ERROR
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    return drift(
        args.project_dir, args.stack, fmt=args.format, output=args.output, strict=args.strict
    )


COMMAND = Command(
    name="drift",
    help="Compare Pulumi.<stack>.yaml's spec with the live Twilio account (exit 0/1/2).",
    add_arguments=add_arguments,
    run=run,
)
