"""Shared fixtures: every test runs without tokens, `.env` or network settings of the developer."""

from __future__ import annotations

import os

import pytest

_PREFIXES = ("SLACK_", "HIVEON_", "DEPLOYBOT_")
_NAMES = ("DATABASE_URL", "PORT")


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--playground-screenshot PATH`: the browser test saves the README's picture there."""
    parser.addoption(
        "--playground-screenshot",
        metavar="PATH",
        default=None,
        help="save a screenshot of the playground, mid-deployment, to PATH",
    )


@pytest.fixture(autouse=True)
def _scrub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the bot's settings from the environment so no test sees a developer's tokens."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _NAMES:
            monkeypatch.delenv(name)
