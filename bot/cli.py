"""The command line: `deploybot` serves; `deploybot migrate`, `deploybot check`; `--help`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import logs
from bot.deployment import MASK

# The settings whose values never appear in what `check` prints or logs.
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "HIVEON_API_KEY",
    "DEPLOYBOT_ENCRYPTION_KEY",
)
# Shorter values would mask ordinary words; real tokens and keys are far longer.
_MIN_SECRET_LENGTH = 4


class Command(StrEnum):
    """What `deploybot` was asked to do."""

    SERVE = "serve"
    MIGRATE = "migrate"
    CHECK = "check"


_HELP = {
    Command.SERVE: (
        "serve Slack's requests over HTTP or Socket Mode, as the settings say (the default); "
        "without Slack credentials, the local playground"
    ),
    Command.MIGRATE: "create or upgrade the database's schema (DATABASE_URL), then exit",
    Command.CHECK: (
        "check the settings, one line each: the database (reachable, schema current), Slack, "
        "Hiveon's key, the encryption key; exit 1 if any fails"
    ),
}


def parser() -> argparse.ArgumentParser:
    """`deploybot [serve|migrate|check]`."""
    parse = argparse.ArgumentParser(
        prog="deploybot",
        usage="%(prog)s [-h] [COMMAND]",
        description="A Slack app that starts container deployments on Hiveon GPU machines.",
        epilog=(
            "Settings come from environment variables, and from .env in the current directory "
            "(the environment wins); .env.example lists them."
        ),
    )
    commands = parse.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for command, text in _HELP.items():
        commands.add_parser(command.value, help=text, description=text)
    return parse


def parse(argv: Sequence[str]) -> Command:
    """The command in `argv` (the arguments after the program's name); serving by default."""
    return Command(parser().parse_args(argv).command or Command.SERVE)


def check(env: Mapping[str, str], *, out: TextIO) -> int:
    """`deploybot check`: one line per check on `out`; 0 when every check passed, else 1."""
    secrets = secret_values(env)
    # Libraries that warn do so on stderr, masked like the bot's own logs.
    logs.configure(secrets=secrets, level="WARNING")
    from bot import preflight  # noqa: PLC0415 — serving never pays for the checks' imports

    settings, invalid = preflight.read_settings(env)
    findings = asyncio.run(preflight.run(settings, invalid))
    width = max(len(finding.subject) for finding in findings)
    for finding in findings:
        line = (
            f"{'ok' if finding.passed else 'FAIL':<4}  {finding.subject:<{width}}  {finding.detail}"
        )
        out.write(f"{mask(line, secrets)}\n")
    return 0 if all(finding.passed for finding in findings) else 1


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The secrets among the settings, as given: tokens, keys and the database's password."""
    values = [env[name].strip() for name in SECRET_SETTINGS if env.get(name, "").strip()]
    # Each of several encryption keys, too: a message may quote one alone.
    values += [key.strip() for key in env.get("DEPLOYBOT_ENCRYPTION_KEY", "").split(",")]
    try:
        password = make_url(env.get("DATABASE_URL", "sqlite://")).password
    except ArgumentError:
        password = None
    return [*values, *([str(password)] if password else [])]


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret in it replaced: whatever a library's message quoted."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text
