"""`python -m infra schema`: the JSON schema of a stack file, for editor completion and checks."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from infra.commands.command import EXIT_OK, Command
from infra.spec import Environment
from infra.spec.stackfile import DEFAULT_PROJECT, config_key


def stack_file_schema(project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """JSON schema of `Pulumi.<stack>.yaml`: other config keys are free, the spec is strict."""
    spec = Environment.model_json_schema()
    defs = spec.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Pulumi stack file of {project}",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {config_key(project): spec},
                "required": [config_key(project)],
            }
        },
        "required": ["config"],
        "$defs": defs,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="Pulumi project name")


def run(args: argparse.Namespace) -> int:
    json.dump(stack_file_schema(args.project), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return EXIT_OK


COMMAND = Command(
    name="schema",
    help="Print the JSON schema of Pulumi.<stack>.yaml (for editors: yaml-language-server).",
    add_arguments=add_arguments,
    run=run,
)
