"""`twilio-voice app-config --stack NAME [--base FILE]`: the app's settings file, from the stack.

Prints the webhook app's flow settings (what `VOICE_SETTINGS_FILE` names) with what the stack
decides filled in, so the app enforces the estate it serves: `dial_countries`, the countries a
SIP user may dial out to, are the stack's `dialing_permissions` countries (every other country is
off on the account, so a dial there could only fail). `--base` is the operator's own settings file
(menus, SIP users, messages); its other keys are kept. The output is validated with the app's own
settings model before it is printed, and needs neither the stack's secrets nor credentials.
Exit 0 printed, 2 could not (unreadable stack or base file, or an invalid result).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import yaml

from infra.commands.command import EXIT_ERROR, EXIT_OK, Command, add_stack_arguments, read_spec
from infra.spec import Environment
from webhook_app.settings import FlowSettings, SettingsError, read_flow_settings


def stack_settings(env: Environment) -> dict[str, Any]:
    """The settings the stack decides; empty when it declares no dialing permissions."""
    permissions = env.dialing_permissions
    if permissions is None or permissions.inherit:
        # No section, or the parent account's countries: the stack does not know them.
        return {}
    return {"dial_countries": sorted({c.iso_code for c in permissions.countries})}


def app_config(
    project_dir: Path,
    stack: str,
    *,
    base: Path | None = None,
    fmt: str = "yaml",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    env = read_spec(project_dir, stack, err)
    if env is None:
        return EXIT_ERROR
    try:
        settings = read_flow_settings(base) if base else FlowSettings()
    except SettingsError as exc:
        print(f"{stack}: --base: {exc}", file=err)
        return EXIT_ERROR
    data = settings.model_dump(mode="json", exclude_none=True)
    data.update(stack_settings(env))
    try:
        FlowSettings.model_validate(data)
    except ValueError as exc:
        print(f"{stack}: the resulting settings are invalid: {exc}", file=err)
        return EXIT_ERROR
    if fmt == "json":
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        out.write(f"# twilio-voice app-config --stack {stack}: VOICE_SETTINGS_FILE for the app\n")
        out.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser)
    parser.add_argument("--base", type=Path, help="the operator's settings file to start from")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")


def run(args: argparse.Namespace) -> int:
    return app_config(args.project_dir, args.stack, base=args.base, fmt=args.format)


COMMAND = Command(
    name="app-config",
    help="Print the webhook app's settings file with what the stack decides (dial_countries).",
    add_arguments=add_arguments,
    run=run,
)
