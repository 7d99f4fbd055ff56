"""Entry point: read `.env` and the environment, then serve over HTTP or Socket Mode.

`deploybot` (the console script) and `python -m bot` both start here. `deploybot migrate` only
creates or upgrades the database's schema, and exits; `deploybot check` checks the settings
(bot.cli, bot.preflight).
"""

from __future__ import annotations

import gc

# Importing the bot builds a hundred thousand objects that live as long as the process (and no
# garbage to speak of); the collector, left on, walks them again and again while they are
# made: a third of the import time. It is off until they exist; then they are frozen (never
# walked again) and it is on for whatever comes next.
gc.disable()

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime

import uvicorn
from dotenv import load_dotenv
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette

from bot import cli, logs
from bot.app import SHUTDOWN_REQUESTS_S, build_bot, migrate
from bot.config import Mode, Settings
from bot.models import utc_now
from bot.oauth import TokensNotStorableError
from bot.server import create_asgi_app, create_socket_mode_app
from bot.setup_page import create_setup_app, serves_setup_page

gc.freeze()
gc.enable()

log = logging.getLogger(__name__)

SETUP = """\
deploybot's Slack credentials are incomplete, so it cannot connect to Slack.

1. Create the Slack app: https://api.slack.com/apps → Create New App → From a manifest,
   pick your workspace and paste manifest.json from this repository. For HTTP mode,
   replace https://deploybot.example.com with your bot's public URL first; for Socket Mode
   (no public URL, good for a laptop) set "socket_mode_enabled": true and drop the URLs.
2. Install it to the workspace, then put these in .env (copy .env.example):
     SLACK_BOT_TOKEN=xoxb-…        OAuth & Permissions → Bot User OAuth Token
     SLACK_SIGNING_SECRET=…        Basic Information → Signing Secret (HTTP mode)
     SLACK_APP_TOKEN=xapp-…        Basic Information → App-Level Tokens, scope
                                   connections:write (Socket Mode only)
     HIVEON_API_KEY=…              your Hiveon vendor API key
                                   (or HIVEON_API_URL=sandbox to try without one)
3. Run `make run` again.
"""


_SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)


def main(*, clock: Callable[[], datetime] = utc_now) -> int:
    """Run the bot in the foreground until interrupted, or the command the arguments name.

    `clock` is the guardrails' (approval expiry, automatic stops, freezes): the tests' server
    processes start here with one they move (bot.testing.clocked).
    """
    command = cli.parse(sys.argv[1:])
    load_dotenv(override=False)  # the real environment wins over .env
    if command is cli.Command.CHECK:
        return cli.check(dict(os.environ), out=sys.stdout)
    return _serve_or_migrate(command, clock)


def _serve_or_migrate(command: cli.Command, clock: Callable[[], datetime] = utc_now) -> int:
    """Serve, or migrate: both with settings that must be valid."""
    try:
        settings = Settings.from_env(os.environ)
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            sys.stderr.write(f"deploybot: invalid setting {name}: {error['msg']}\n")
        return 2
    if command is cli.Command.SERVE and settings.workers > 1 and settings.mode is Mode.HTTP:
        # Each worker reads the same environment and builds its own bot: keep it whole.
        _configure_logs(settings)
        return _serve_workers(settings)
    # Libraries (Bolt, slack_sdk) read these on their own when present; only Settings may.
    for name in _SLACK_VARIABLES:
        os.environ.pop(name, None)
    _configure_logs(settings)
    if command is cli.Command.MIGRATE:
        return _migrate(settings)  # only DATABASE_URL matters: no Slack credentials needed
    return _serve(settings, clock)


def _configure_logs(settings: Settings) -> None:
    """Log as the settings say, every secret they hold masked."""
    secrets = [
        secret.get_secret_value()
        for secret in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
            settings.hiveon_api_key,
            settings.encryption_key,
            settings.metrics_token,
        )
        if secret is not None
    ]
    logs.configure(
        secrets=[*secrets, *_database_password(settings)],
        level=settings.log_level,
        form=settings.log_format,
    )


def _serve_workers(settings: Settings) -> int:
    """`DEPLOYBOT_WORKERS` server processes on one port, uvicorn's supervisor over them: each
    builds its own bot (`worker_app`) and they share the work as replicas do, by PostgreSQL."""
    log.info("starting %d worker processes on port %s", settings.workers, settings.port)
    uvicorn.run(
        "bot.__main__:worker_app",
        factory=True,
        workers=settings.workers,
        host=settings.host or "0.0.0.0",  # noqa: S104 — platforms route $PORT from outside
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_REQUESTS_S,
    )
    return 0


def worker_app() -> Starlette:
    """One worker's ASGI app: the settings its supervisor validated, from the environment it
    inherited, and a bot of its own (connections, leases and all)."""
    settings = Settings.from_env(os.environ)
    for name in _SLACK_VARIABLES:
        os.environ.pop(name, None)
    _configure_logs(settings)
    return create_asgi_app(build_bot(settings))


def _serve(settings: Settings, clock: Callable[[], datetime] = utc_now) -> int:
    """Serve Slack (HTTP or Socket Mode), the setup page or the playground, by the settings."""
    if settings.mode is Mode.UNCONFIGURED and serves_setup_page(settings):
        # Deployed on a platform before its Slack app exists: say what is missing, stay up.
        log.warning("no Slack app is configured: serving the setup page on port %s", settings.port)
        uvicorn.run(
            create_setup_app(settings),
            host=settings.host or "0.0.0.0",  # noqa: S104 — the platform's public address
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_REQUESTS_S,
        )
        return 0
    if settings.mode is Mode.UNCONFIGURED:
        if _has_slack_credentials(settings):
            sys.stderr.write(SETUP)  # some set, not enough: say what a real Slack app needs
            return 1
        # No Slack app at all: the local playground on the sandbox vendor (README).
        from bot.playground import local  # noqa: PLC0415 — only a laptop without Slack needs it

        return local.run(settings, announce=_say)
    # Socket Mode needs no public URL, but $PORT still serves /healthz for probes; uvicorn
    # runs both modes, so SIGTERM and Ctrl-C stop either one gracefully.
    serve = create_socket_mode_app if settings.mode is Mode.SOCKET else create_asgi_app
    try:
        bot = build_bot(settings, clock=clock)
    except TokensNotStorableError as exc:
        sys.stderr.write(f"deploybot: {exc}\n")
        return 2
    uvicorn.run(
        serve(bot),
        # Every interface unless DEPLOYBOT_HOST says: platforms route $PORT from outside.
        host=settings.host or "0.0.0.0",  # noqa: S104
        port=settings.port,
        log_config=None,  # our handler, with secrets masked
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_REQUESTS_S,
    )
    return 0


def _has_slack_credentials(settings: Settings) -> bool:
    """True when any Slack credential is set, even if too few to connect."""
    return any(
        value is not None
        for value in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_id,
            settings.slack_client_secret,
        )
    )


def _database_password(settings: Settings) -> list[str]:
    """The password in DATABASE_URL, if any: masked in logs like the other secrets."""
    password = make_url(settings.database_url).password
    return [str(password)] if password else []


def _migrate(settings: Settings) -> int:
    """`deploybot migrate`: create or upgrade the database's schema, then exit."""
    try:
        asyncio.run(migrate(settings.database_url))
    except (SQLAlchemyError, OSError, ValueError) as exc:
        sys.stderr.write(f"deploybot: could not migrate DATABASE_URL: {exc}\n")
        return 1
    return 0


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
