"""Subcommands of `python -m infra`: one module each, exposing `COMMAND` (`infra.cli.Command`)."""
