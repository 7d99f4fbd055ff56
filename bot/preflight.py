"""`deploybot check`: whether the settings reach a current database, Slack and Hiveon, and hold a
valid encryption key, each found without changing anything.

Each check gives one `Finding`: its subject, whether it passed and what was found. None of them
carries a secret: a database URL is shown without its password, tokens and keys only by the name
of their setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bot import migrations
from bot.config import Mode, Settings
from bot.key_check import Verdict, check_api_key
from bot.store import Store
from bot.vendor import HiveonClient

DATABASE = "database"
SLACK = "slack"
HIVEON = "hiveon"
ENCRYPTION_KEY = "encryption key"
SETTINGS = "settings"  # an invalid setting none of the four checks owns
# Longer than the Slack client's and the key check's own deadlines: this bounds a hung database.
CHECK_TIMEOUT_S = 20.0
_SLACK_TIMEOUT_S = 10
_MIGRATE = "run `deploybot migrate`"
_VALUE_ERROR = "Value error, "  # how pydantic starts the message of a validator's ValueError


@dataclass(frozen=True)
class Finding:
    """One check's outcome: what it is about, whether it passed, and what was found."""

    subject: str
    passed: bool
    detail: str


def read_settings(env: Mapping[str, str]) -> tuple[Settings, dict[str, str]]:
    """The settings in `env` with each invalid one left at its default, and the invalid ones'
    errors by setting name, so that every check still runs and the invalid ones are reported."""
    try:
        return Settings.from_env(env), {}
    except ValidationError as exc:
        invalid = {
            ".".join(str(part) for part in error["loc"]): error["msg"].removeprefix(_VALUE_ERROR)
            for error in exc.errors()
        }
    return Settings.from_env({k: v for k, v in env.items() if k not in invalid}), invalid


def subject_of(setting: str) -> str:
    """The check that owns a setting."""
    if setting == "DATABASE_URL":
        return DATABASE
    if setting == "DEPLOYBOT_ENCRYPTION_KEY":
        return ENCRYPTION_KEY
    if setting.startswith("SLACK_"):
        return SLACK
    if setting.startswith("HIVEON_"):
        return HIVEON
    return SETTINGS


async def run(settings: Settings, invalid: Mapping[str, str]) -> list[Finding]:
    """Every check, at once: database, Slack, Hiveon, encryption key, then a line for each other
    invalid setting. A check whose own settings are invalid reports them instead of running."""

    def refused(subject: str) -> Finding | None:
        errors = [
            f"{name} is invalid: {why}"
            for name, why in invalid.items()
            if subject_of(name) == subject
        ]
        return Finding(subject, passed=False, detail="; ".join(errors)) if errors else None

    async def bounded(subject: str, check: Callable[[], Awaitable[Finding]]) -> Finding:
        if (finding := refused(subject)) is not None:
            return finding
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                return await check()
        except TimeoutError:
            return Finding(subject, passed=False, detail=f"no answer within {CHECK_TIMEOUT_S:g} s")

    found = await asyncio.gather(
        bounded(DATABASE, lambda: database(settings.database_url)),
        bounded(SLACK, lambda: slack(settings)),
        bounded(HIVEON, lambda: hiveon(settings)),
    )
    key = refused(ENCRYPTION_KEY) or encryption_key(settings)
    others = [
        Finding(SETTINGS, passed=False, detail=f"{name} is invalid: {why}")
        for name, why in invalid.items()
        if subject_of(name) == SETTINGS
    ]
    return [*found, key, *others]


async def database(database_url: str) -> Finding:
    """Reachable, and at the newest revision of the migrations."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return Finding(DATABASE, passed=False, detail="DATABASE_URL is not a database URL")
    shown = url.render_as_string(hide_password=True)
    if _missing_sqlite_file(url):
        return Finding(DATABASE, passed=False, detail=f"{shown}: no such file; {_MIGRATE}")
    try:
        store = Store.from_url(database_url)
    except (ArgumentError, ValueError) as exc:
        return Finding(DATABASE, passed=False, detail=f"{shown}: {_first_line(exc)}")
    try:
        async with store.engine.connect() as connection:
            revision, has_tables = await connection.run_sync(_revision)
    except (SQLAlchemyError, OSError) as exc:
        return Finding(DATABASE, passed=False, detail=f"{shown}: not reachable: {_first_line(exc)}")
    finally:
        await store.close()
    newest = migrations.head()
    if revision == newest:
        return Finding(
            DATABASE,
            passed=True,
            detail=f"{shown}: reachable, schema at the newest revision ({newest})",
        )
    if revision is None and has_tables:
        detail = f"{shown}: reachable; its tables predate migrations: {_MIGRATE}"
    elif revision is None:
        detail = f"{shown}: reachable, but it holds no schema yet: {_MIGRATE}"
    elif not _known(revision):
        detail = (
            f"{shown}: reachable, at revision {revision}, which this deploybot does not know "
            f"(its newest is {newest}): a newer release migrated it"
        )
    else:
        detail = (
            f"{shown}: reachable, at revision {revision}, not the newest ({newest}): {_MIGRATE}"
        )
    return Finding(DATABASE, passed=False, detail=detail)


def _missing_sqlite_file(url: URL) -> bool:
    """True for a SQLite file that does not exist, which connecting would create."""
    path = url.database if url.get_backend_name() == "sqlite" else None
    return path not in {None, "", ":memory:"} and not Path(path or "").exists()


def _known(revision: str) -> bool:
    """True when the revision is one of this release's migrations."""
    try:
        ScriptDirectory.from_config(migrations.alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def _revision(connection: Connection) -> tuple[str | None, bool]:
    """The revision the database records (None without one), and whether it has tables of the
    bot's (a database downgraded to nothing keeps Alembic's own, empty)."""
    revision = MigrationContext.configure(connection).get_current_revision()
    return revision, bool(set(inspect(connection).get_table_names()) - {"alembic_version"})


async def slack(settings: Settings) -> Finding:
    """One workspace: the bot token passes `auth.test`. OAuth installs: their settings are all
    set. Either way, HTTP mode's signing secret or Socket Mode's app token is set."""
    missing = _missing_slack_settings(settings)
    if missing is not None:
        return Finding(SLACK, passed=False, detail=missing)
    mode = "Socket Mode" if settings.mode is Mode.SOCKET else "HTTP mode"
    if settings.oauth_enabled or settings.slack_bot_token is None:
        detail = f"OAuth installs of client {_plain(settings.slack_client_id or '')}, {mode}"
        return Finding(SLACK, passed=True, detail=detail)
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=_SLACK_TIMEOUT_S,
    )
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        error = _plain(str(exc.response.get("error")))
        return Finding(SLACK, passed=False, detail=f"auth.test refused SLACK_BOT_TOKEN: {error}")
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        detail = f"{settings.slack_api_url} could not be reached ({type(exc).__name__})"
        return Finding(SLACK, passed=False, detail=detail)
    team, user = _plain(str(identity.get("team"))), _plain(str(identity.get("user")))
    detail = f"auth.test: SLACK_BOT_TOKEN is {user} in workspace {team}, {mode}"
    return Finding(SLACK, passed=True, detail=detail)


def _missing_slack_settings(settings: Settings) -> str | None:
    """What the Slack settings lack to serve, if anything."""
    if settings.slack_bot_token is None and not settings.oauth_enabled:
        credentials = (
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_id,
            settings.slack_client_secret,
        )
        if any(value is not None for value in credentials):
            return (
                "incomplete: set SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (OAuth installs)"
            )
        return "no Slack credentials: `deploybot` would start the local playground"
    if settings.mode is Mode.UNCONFIGURED:
        return "neither SLACK_SIGNING_SECRET (HTTP mode) nor SLACK_APP_TOKEN (Socket Mode) is set"
    if settings.oauth_enabled and settings.encryption_key is None:
        return "OAuth installs store each bot token encrypted: set DEPLOYBOT_ENCRYPTION_KEY"
    return None


async def hiveon(settings: Settings) -> Finding:
    """Hiveon accepts the default key (`HIVEON_API_KEY`), asked without starting anything."""
    if settings.uses_sandbox_vendor:
        detail = "HIVEON_API_URL=sandbox: the built-in stand-in, which deploys nothing real"
        return Finding(HIVEON, passed=True, detail=detail)
    api_url = settings.hiveon_api_url
    if settings.hiveon_api_key is None:
        if settings.encryption_key is None:
            detail = (
                "no default key (HIVEON_API_KEY is unset), and without DEPLOYBOT_ENCRYPTION_KEY "
                "no workspace can store a key of its own: nothing can be deployed"
            )
            return Finding(HIVEON, passed=False, detail=detail)
        detail = (
            f"no default key (HIVEON_API_KEY is unset): each workspace deploys on {api_url} with "
            f"the key its admins set with `{settings.command} api-key`"
        )
        return Finding(HIVEON, passed=True, detail=detail)
    vendor = HiveonClient(base_url=api_url, timeout_s=settings.hiveon_timeout_s)
    try:
        check = await check_api_key(vendor, settings.hiveon_api_key.get_secret_value())
    finally:
        await vendor.aclose()
    if check.verdict is Verdict.ACCEPTED:
        return Finding(HIVEON, passed=True, detail=f"{api_url} accepts HIVEON_API_KEY")
    if check.verdict is Verdict.REFUSED:
        detail = f"{api_url} refused HIVEON_API_KEY (HTTP {check.status})"
    else:
        detail = f"{api_url} could not check HIVEON_API_KEY: {check.reason}"
    return Finding(HIVEON, passed=False, detail=detail)


def encryption_key(settings: Settings) -> Finding:
    """`DEPLOYBOT_ENCRYPTION_KEY` holds Fernet keys; it may be unset only without OAuth."""
    if settings.encryption_key is None:
        if settings.oauth_enabled:
            detail = "not set: OAuth installs store each bot token encrypted with it"
            return Finding(ENCRYPTION_KEY, passed=False, detail=detail)
        detail = (
            "not set: workspace admins cannot store Hiveon keys of their own; "
            "deployments use HIVEON_API_KEY"
        )
        return Finding(ENCRYPTION_KEY, passed=True, detail=detail)
    # Settings refused it unless every comma-separated entry is a Fernet key.
    count = len(
        [key for key in settings.encryption_key.get_secret_value().split(",") if key.strip()]
    )
    detail = "one Fernet key" if count == 1 else f"{count} Fernet keys; the first encrypts"
    return Finding(ENCRYPTION_KEY, passed=True, detail=detail)


def _first_line(exc: BaseException) -> str:
    """The driver's own message when there is one (SQLAlchemy's adds SQL and a link)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _plain(text: str) -> str:
    """Text from elsewhere, printable: no escape sequence reaches the terminal."""
    return "".join(character if character.isprintable() else "?" for character in text)
