"""Settings: parsing, modes, and `.env.example` kept in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError

from bot.config import Mode, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_design() -> None:
    """With nothing set, every default is the README's configuration table's."""
    settings = Settings.from_env({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.hiveon_api_url == "https://api.hiveon.ai"
    assert settings.hiveon_timeout_s == 15.0
    assert settings.database_url == "sqlite:///deploybot.sqlite3"
    assert settings.command == "/deploy"
    assert settings.port == 3000
    assert settings.admins == frozenset()
    assert settings.lease_s == 30.0
    assert settings.log_level == "INFO"
    assert settings.mode is Mode.UNCONFIGURED


def test_modes_follow_the_credentials() -> None:
    """A bot token and signing secret serve HTTP; an app token as well switches to Socket Mode."""
    http = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    socket = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1"}
    )
    assert http.mode is Mode.HTTP
    assert socket.mode is Mode.SOCKET
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).mode is Mode.UNCONFIGURED


def test_empty_values_count_as_unset() -> None:
    """A copied `.env.example` with blank values behaves like no setting at all."""
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "", "PORT": " ", "HIVEON_API_KEY": ""})
    assert settings.slack_bot_token is None
    assert settings.port == 3000
    assert settings.hiveon_api_key is None


def test_admins_accept_commas_and_spaces() -> None:
    """`DEPLOYBOT_ADMINS` takes user IDs separated by commas or spaces."""
    settings = Settings.from_env({"DEPLOYBOT_ADMINS": "U1, U2 U3"})
    assert settings.admins == frozenset({"U1", "U2", "U3"})


def test_log_level_takes_the_four_level_names_only() -> None:
    """`LOG_LEVEL` is DEBUG, INFO, WARNING or ERROR; any other value stops start-up, named."""
    assert Settings.from_env({"LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"
    assert Settings.from_env({"LOG_LEVEL": "ERROR"}).log_level == "ERROR"
    for wrong in ("LOUD", "debug", "CRITICAL", "10"):
        with pytest.raises(ValidationError) as caught:
            Settings.from_env({"LOG_LEVEL": wrong})
        assert "LOG_LEVEL" in str(caught.value)


def test_invalid_values_do_not_echo_the_environment() -> None:
    """A bad setting names the variable without printing the other values (tokens included)."""
    with pytest.raises(ValidationError) as caught:
        Settings.from_env({"PORT": "eighty", "SLACK_BOT_TOKEN": "xoxb-very-secret"})
    assert "PORT" in str(caught.value)
    assert "xoxb-very-secret" not in str(caught.value)


def test_an_api_key_is_stripped_and_checked() -> None:
    """A key mounted from a file loses its newline; a key no header can carry stops start-up."""
    settings = Settings.from_env({"HIVEON_API_KEY": "hk-123\n"})
    assert settings.hiveon_api_key is not None
    assert settings.hiveon_api_key.get_secret_value() == "hk-123"
    with pytest.raises(ValidationError) as caught:
        Settings.from_env({"HIVEON_API_KEY": "hk 123 secret"})
    assert "HIVEON_API_KEY" in str(caught.value)
    assert "hk 123 secret" not in str(caught.value)


def test_secrets_never_print() -> None:
    """Tokens and keys are hidden in the settings' repr."""
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-hidden", "HIVEON_API_KEY": "hk-hidden"})
    assert "xoxb-hidden" not in repr(settings)
    assert "hk-hidden" not in repr(settings)


def test_env_example_lists_every_setting() -> None:
    """`.env.example` names exactly the variables the settings read, each with a comment."""
    example = ROOT / ".env.example"
    names = set(dotenv_values(example))
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert names == aliases
    lines = example.read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"{line} has no comment above it"


OAUTH = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x"}


def test_the_default_key_serves_every_workspace_of_a_single_workspace_install() -> None:
    """With `SLACK_BOT_TOKEN` the default key serves the workspace, whatever else is set."""
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert settings.default_key_serves(None, "T1")
    assert settings.team_allowed(None, "T1")


def test_with_oauth_the_default_key_serves_only_listed_teams_and_orgs() -> None:
    """With OAuth installs the default key serves nobody unless listed, by team or by org;
    `*` serves everyone; comma and space both separate."""
    assert not Settings.from_env(OAUTH).default_key_serves(None, "T1")
    listed = Settings.from_env({**OAUTH, "DEPLOYBOT_DEFAULT_KEY_TEAMS": "T1, EORG T2"})
    assert listed.default_key_teams == frozenset({"T1", "T2", "EORG"})
    assert listed.default_key_serves(None, "T1")
    assert listed.default_key_serves("EORG", "T9")
    assert not listed.default_key_serves("EOTHER", "T9")
    assert Settings.from_env({**OAUTH, "DEPLOYBOT_DEFAULT_KEY_TEAMS": "*"}).default_key_serves(
        None, "T9"
    )


def test_allowed_teams_restrict_oauth_installs_only_when_set() -> None:
    """Unset, every workspace may install; set, only the listed teams and members of listed
    orgs may."""
    assert Settings.from_env(OAUTH).team_allowed(None, "T9")
    allowed = Settings.from_env({**OAUTH, "DEPLOYBOT_ALLOWED_TEAMS": "T1 EORG"})
    assert allowed.team_allowed(None, "T1")
    assert allowed.team_allowed("EORG", "T5")
    assert not allowed.team_allowed(None, "T9")
    assert not allowed.team_allowed(None, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEPLOYBOT_DEFAULT_KEY_TEAMS", "acme-workspace"),
        ("DEPLOYBOT_DEFAULT_KEY_TEAMS", "t1234"),
        ("DEPLOYBOT_ALLOWED_TEAMS", "*"),
        ("DEPLOYBOT_ALLOWED_TEAMS", "T1 U123"),
    ],
)
def test_workspace_lists_refuse_what_is_not_a_team_or_org_id(name: str, value: str) -> None:
    """A workspace name, a user ID or a lowercase ID in a workspace list stops the start with
    a message saying what is expected; `*` only means "every workspace" for the default key."""
    with pytest.raises(ValidationError, match=r"is not a Slack team ID \(T…\) or enterprise ID"):
        Settings.from_env({**OAUTH, name: value})
