"""Subcommands of `twilio-voice` / `python -m infra`: one module each, exposing `COMMAND`
(`infra.commands.command.Command`)."""
