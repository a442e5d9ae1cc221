"""`twilio-voice import --stack NAME [--public-base-url URL]`: write a stack file from an account.

Reads the live account with list endpoints only (pages, not per-resource reads; a read-only API
key is enough), maps webhook URLs under the app's base URL back to flows and any other URL to an
explicit external target, and writes `Pulumi.<NAME>.yaml`, validated before it is written.
Credentials are written without passwords (Twilio never returns them): they are adopted and
their passwords left unmanaged until set. Twilio holds no call flow either: URLs of the app with
`?flow=<name>` become `call_flow: <name>`, and the flows' declaration comes from the artifact the
app serves (`--call-flows flows.json`, what `twilio-voice app-config` wrote for it).
Exit codes: 0 written, 1 the result does not validate (written with `.invalid` appended, for
review), 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import yaml

from infra.client import RetryPolicy, resolve_credentials
from infra.commands.command import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Command, add_stack_arguments
from infra.commands.drift import CountingApi
from infra.drift.report import mask_sid
from infra.errors import ConfigurationError, TwilioApiError
from infra.importer import (
    build_environment,
    counts,
    declare_call_flows,
    guess_base_url,
    header,
    read_account,
)
from infra.spec import SpecError, StackFileError, load_environment
from infra.spec.stackfile import config_key, project_name
from webhook_app.callflow import artifact

LOCAL = "local"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument(
        "--public-base-url",
        help="the webhook app's base URL: URLs under it become flows (default: guessed from "
        "the URLs that end in one of the app's routes)",
    )
    parser.add_argument(
        "--call-flows",
        type=Path,
        metavar="FLOWS_JSON",
        help="the artifact the app serves (VOICE_SETTINGS_FILE): the call flows the account's "
        "?flow= URLs enter are declared from it",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing Pulumi.<stack>.yaml"
    )


class _Dumper(yaml.SafeDumper):
    """Block style, keys in spec order, E.164 numbers quoted like the example stacks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if value.startswith("+") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def import_stack(
    project_dir: Path,
    stack: str,
    *,
    public_base_url: str | None = None,
    call_flows: Path | None = None,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        key = config_key(project_name(project_dir))
    except StackFileError as exc:
        print(f"{stack}: {exc}", file=err)
        return EXIT_ERROR
    target = project_dir / f"Pulumi.{stack}.yaml"
    if target.exists() and not force:
        print(f"{stack}: {target.name} exists; pass --force to overwrite it", file=err)
        return EXIT_ERROR
    try:
        credentials = resolve_credentials({}, os.environ if environ is None else environ)
    except ConfigurationError as exc:
        print(f"{stack}: {exc}", file=err)
        return EXIT_ERROR
    served = None
    if call_flows is not None:
        try:
            served = artifact.read(call_flows)
        except artifact.ArtifactError as exc:
            print(f"{stack}: --call-flows: {exc}", file=err)
            return EXIT_ERROR
    api = CountingApi(credentials, retry)
    try:
        items = read_account(api)
    except TwilioApiError as exc:
        print(f"{stack}: reading the account failed: {exc}", file=err)
        return EXIT_ERROR
    base = public_base_url or guess_base_url(items)
    if base is None:
        print(
            f"{stack}: no webhook URL ends in one of the app's routes, so the base URL cannot be "
            "guessed; pass --public-base-url https://<the app's host>",
            file=err,
        )
        return EXIT_ERROR
    imported = build_environment(items, base, credentials.account_sid, local=stack == LOCAL)
    env = imported.environment
    hint = None
    if served is not None:
        missing = declare_call_flows(imported, served.call_flows)
        if missing:
            hint = (
                f"{stack}: the account enters flows {', '.join(missing)}, which {call_flows} "
                "does not declare: is it the artifact the app at this base URL serves?"
            )
    elif imported.call_flows:
        hint = (
            f"{stack}: the account's webhooks enter the app's call flows "
            f"{', '.join(sorted(imported.call_flows))} (URLs with ?flow=), and Twilio holds no "
            "call flow: pass --call-flows flows.json, the artifact the app serves "
            "(VOICE_SETTINGS_FILE), to import their declaration"
        )
    document = {"config": {"twilio:accountSid": credentials.account_sid, key: env}}
    text = header(imported, mask_sid(credentials.account_sid), api.calls, stack)
    text += yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    try:
        load_environment(env, stack, secrets_decrypted=False)
    except SpecError as exc:
        bad = target.with_name(target.name + ".invalid")
        bad.write_text(text, encoding="utf-8")
        print(exc.format(), file=err)
        if hint:
            print(hint, file=err)
        print(f"{stack}: the imported spec does not validate; written to {bad.name}", file=err)
        return EXIT_INVALID
    target.write_text(text, encoding="utf-8")
    print(
        f"{stack}: wrote {target.name}: {counts(env)}; {api.calls} REST calls "
        f"(account {mask_sid(credentials.account_sid)}, base URL {base})",
        file=out,
    )
    if imported.unmanaged_passwords:
        print(
            f"  {len(imported.unmanaged_passwords)} credential password(s) not managed (Twilio "
            "never returns them); the file's header says how to set them",
            file=out,
        )
    for line in imported.skipped:
        print(f"  not imported: {line}", file=out)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    return import_stack(
        args.project_dir,
        args.stack,
        public_base_url=args.public_base_url,
        call_flows=args.call_flows,
        force=args.force,
    )


COMMAND = Command(
    name="import",
    help="Write Pulumi.<stack>.yaml from a live Twilio account (list calls only; exit 0/1/2).",
    add_arguments=add_arguments,
    run=run,
)
