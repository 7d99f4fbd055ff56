"""Settings: the bot's whole configuration, read once from the environment by the entry point.

A leaf: it imports nothing of the bot, so every layer may import it (and the defaults and
formats here) without a circle. It checks what it can at start-up: a bad setting stops the
bot with one line saying which and why, before anything is served.
"""

from __future__ import annotations

import binascii
import re
from base64 import urlsafe_b64decode
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

SANDBOX = "sandbox"
# How long a replica's hold on a deployment lasts unless renewed (bot.store).
DEFAULT_LEASE_S = 30.0
GENERATE_HINT = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
_FERNET_KEY_BYTES = 32


def fernet_keys(setting: str) -> list[bytes]:
    """The Fernet keys in a comma-separated setting; ValueError (never quoting a key) if invalid."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if not entries:
        raise ValueError(f"must hold at least one Fernet key; generate one with {GENERATE_HINT}")
    for position, entry in enumerate(entries, start=1):
        try:
            raw = urlsafe_b64decode(entry.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != _FERNET_KEY_BYTES:
            raise ValueError(
                f"entry {position} is not a Fernet key (32 bytes, url-safe base64); "
                f"generate one with {GENERATE_HINT}"
            )
    return [entry.encode("ascii") for entry in entries]


def is_header_safe(value: str) -> bool:
    """True for printable ASCII without spaces: what an HTTP header such as `X-API-Key` carries."""
    return bool(value) and value.isascii() and value.isprintable() and " " not in value


def _split_ids(value: object) -> object:
    """Accept `U1,U2 U3` from the environment as a set of Slack IDs."""
    if isinstance(value, str):
        return frozenset(value.replace(",", " ").split())
    return value


EVERY_WORKSPACE = "*"
# Slack team IDs start with T, Enterprise Grid org IDs with E.
_WORKSPACE_ID = re.compile(r"[TE][A-Z0-9]{1,31}")


def _workspace_ids(value: frozenset[str] | None, *, star: bool) -> frozenset[str] | None:
    """Refuse at start-up what is not a team or enterprise ID (a workspace's name, say)."""
    for entry in value or ():
        if entry == EVERY_WORKSPACE and star:
            continue
        if not _WORKSPACE_ID.fullmatch(entry):
            allowed = " or * for every workspace" if star else ""
            raise ValueError(
                f"{entry!r} is not a Slack team ID (T…) or enterprise ID (E…){allowed}"
            )
    return value


class Mode(StrEnum):
    """How the bot talks to Slack."""

    HTTP = "http"
    SOCKET = "socket"
    UNCONFIGURED = "unconfigured"


class Settings(BaseModel):
    """Every setting the README's configuration table lists; secrets are `SecretStr` so they
    never print."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, alias="SLACK_CLIENT_SECRET")
    hiveon_api_url: str = Field("https://api.hiveon.ai", alias="HIVEON_API_URL")
    hiveon_api_key: SecretStr | None = Field(None, alias="HIVEON_API_KEY")
    hiveon_timeout_s: float = Field(15.0, gt=0, le=300, alias="HIVEON_TIMEOUT_S")
    database_url: str = Field("sqlite:///deploybot.sqlite3", alias="DATABASE_URL")
    encryption_key: SecretStr | None = Field(None, alias="DEPLOYBOT_ENCRYPTION_KEY")
    command: str = Field("/deploy", pattern=r"^/[a-z0-9_-]{1,31}$", alias="DEPLOYBOT_COMMAND")
    admins: Annotated[frozenset[str], BeforeValidator(_split_ids)] = Field(
        frozenset(), alias="DEPLOYBOT_ADMINS"
    )
    port: int = Field(3000, ge=1, le=65535, alias="PORT")
    follow_minutes: float = Field(30.0, gt=0, le=24 * 60, alias="DEPLOYBOT_FOLLOW_MINUTES")
    # How long a deployment waits for an approval before it expires (workspaces that ask).
    approval_minutes: float = Field(60.0, gt=0, le=7 * 24 * 60, alias="DEPLOYBOT_APPROVAL_MINUTES")
    # How long a replica's hold on a deployment lasts unless renewed (bot.store).
    lease_s: float = Field(DEFAULT_LEASE_S, ge=1, le=600, alias="DEPLOYBOT_LEASE_S")
    # OAuth mode: the workspaces (team or org IDs) that may deploy on HIVEON_API_KEY; `*`: all.
    default_key_teams: Annotated[frozenset[str], BeforeValidator(_split_ids)] = Field(
        frozenset(), alias="DEPLOYBOT_DEFAULT_KEY_TEAMS"
    )
    # OAuth mode: the only workspaces (team or org IDs) that may install and use deploybot.
    allowed_teams: Annotated[frozenset[str] | None, BeforeValidator(_split_ids)] = Field(
        None, alias="DEPLOYBOT_ALLOWED_TEAMS"
    )
    # The threshold of the bot's logs; no level logs a request body (bot.logs).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    # `json`: one JSON object per line, with the request's workspace, user and external ID.
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    # When set, `GET /metrics` needs `Authorization: Bearer <this>`.
    metrics_token: SecretStr | None = Field(None, alias="DEPLOYBOT_METRICS_TOKEN")
    # Where the server listens; unset: every interface for the bot, loopback for the playground.
    # Set to a non-loopback address without Slack credentials, it serves the setup page.
    host: str | None = Field(None, alias="DEPLOYBOT_HOST")
    # Server processes on one port, sharing the work through PostgreSQL (HTTP mode only).
    workers: int = Field(1, ge=1, le=64, alias="DEPLOYBOT_WORKERS")

    @field_validator("hiveon_api_key", mode="before")
    @classmethod
    def _clean_api_key(cls, value: object) -> object:
        """Strip a key mounted from a file (trailing newline); refuse one no header can carry."""
        if isinstance(value, str):
            value = value.strip()
            if not is_header_safe(value):
                raise ValueError("must be printable ASCII without spaces")
        return value

    @field_validator("default_key_teams", mode="after")
    @classmethod
    def _check_default_key_teams(cls, value: frozenset[str]) -> frozenset[str]:
        return _workspace_ids(value, star=True) or frozenset()

    @field_validator("allowed_teams", mode="after")
    @classmethod
    def _check_allowed_teams(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        return _workspace_ids(value, star=False)

    @field_validator("encryption_key", mode="after")
    @classmethod
    def _check_encryption_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse at start-up what is not a comma-separated list of Fernet keys."""
        if value is not None:
            fernet_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _workers_share_postgresql(self) -> Self:
        """Several workers are several replicas: they need a database they can share."""
        if self.workers > 1 and not self.database_url.startswith(("postgres://", "postgresql")):
            raise ValueError(
                "DEPLOYBOT_WORKERS above 1 needs DATABASE_URL on PostgreSQL: "
                "a SQLite file serves one process"
            )
        if self.workers > 1 and self.slack_app_token is not None:
            raise ValueError("DEPLOYBOT_WORKERS above 1 is for HTTP mode, not Socket Mode")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Build settings from an environment; empty values count as unset."""
        return cls.model_validate({name: value for name, value in env.items() if value.strip()})

    @property
    def mode(self) -> Mode:
        """Socket Mode with an app token, HTTP with a signing secret, else unconfigured."""
        if self.slack_bot_token is None and not self.oauth_enabled:
            return Mode.UNCONFIGURED
        if self.slack_app_token is not None:
            return Mode.SOCKET
        if self.slack_signing_secret is not None:
            return Mode.HTTP
        return Mode.UNCONFIGURED

    @property
    def oauth_enabled(self) -> bool:
        """True when the bot installs into many workspaces with Slack's OAuth flow."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    def default_key_serves(self, enterprise_id: str | None, team_id: str | None) -> bool:
        """True when a workspace without a key of its own may deploy on `HIVEON_API_KEY`: any
        with one Slack workspace (`SLACK_BOT_TOKEN`); with OAuth installs, only those listed
        in `DEPLOYBOT_DEFAULT_KEY_TEAMS` (by team, or by their org)."""
        if not self.oauth_enabled:
            return True
        teams = self.default_key_teams
        return EVERY_WORKSPACE in teams or bool({team_id, enterprise_id} & teams)

    def team_allowed(self, enterprise_id: str | None, team_id: str | None) -> bool:
        """True when `DEPLOYBOT_ALLOWED_TEAMS` lets this workspace (or its org) use deploybot."""
        if self.allowed_teams is None or not self.oauth_enabled:
            return True
        return bool({team_id, enterprise_id} & self.allowed_teams)

    @property
    def uses_sandbox_vendor(self) -> bool:
        """True when the vendor is the in-process sandbox rather than a real API."""
        return self.hiveon_api_url == SANDBOX
