"""Settings: the bot's whole configuration, read once from the environment by the entry point."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from bot.crypto import parse_keys
from bot.store import LEASE_S
from bot.vendor import HiveonClient

SANDBOX = "sandbox"


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
    """Every setting of design §3; secrets are `SecretStr` so they never print."""

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
    # How long a replica's hold on a deployment lasts unless renewed (bot.store).
    lease_s: float = Field(LEASE_S, ge=1, le=600, alias="DEPLOYBOT_LEASE_S")
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

    @field_validator("hiveon_api_key", mode="before")
    @classmethod
    def _clean_api_key(cls, value: object) -> object:
        """Strip a key mounted from a file (trailing newline); refuse one no header can carry."""
        if isinstance(value, str):
            value = value.strip()
            if not HiveonClient.is_sendable_key(value):
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
            parse_keys(value.get_secret_value())
        return value

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
