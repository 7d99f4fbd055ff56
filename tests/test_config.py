"""Settings: parsing, modes, and `.env.example` kept in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError

from bot.config import Mode, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_design() -> None:
    """With nothing set, every default is design §3's."""
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
