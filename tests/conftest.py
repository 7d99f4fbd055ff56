"""Shared fixtures: every test runs without tokens, `.env` or network settings of the developer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox import SandboxVendor
from bot.testing import postgres
from tests.databases import POSTGRESQL, SQLITE, Databases

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


# --- databases: every storage and end-to-end suite runs on SQLite and on PostgreSQL ----------

# PostgreSQL runs as a server of its own: its half of the storage tests is end-to-end.
BACKENDS = (SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.e2e))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of the session's PostgreSQL server (bot/testing/postgres.py); fails without."""
    with postgres.server() as admin_url:
        if admin_url is None:
            pytest.fail(postgres.MISSING, pytrace=False)
        yield admin_url


def _databases(request: pytest.FixtureRequest, backend: str, directory: Path) -> Databases:
    return Databases(backend, directory, lambda: str(request.getfixturevalue("postgres_server")))


@pytest.fixture(name="database_url", params=BACKENDS)
def _database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test, on each backend in turn."""
    databases = _databases(request, request.param, tmp_path)
    yield databases.new()
    databases.drop_all()


@pytest.fixture(name="backend", scope="module", params=BACKENDS)
def _backend(request: pytest.FixtureRequest) -> str:
    """The database backend a module's end-to-end run uses: each module runs on both."""
    return str(request.param)


@pytest.fixture(name="databases", scope="module")
def _module_databases(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    """Empty databases of the module's backend, made on demand, dropped after the module."""
    databases = _databases(request, backend, tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


# --- the end-to-end suites' fake Hiveon ------------------------------------------------------


@pytest.fixture(name="sandbox", scope="module")
def _sandbox(vendor: tuple[SandboxVendor, str]) -> SandboxVendor:
    """The sandbox Hiveon of the module's `vendor` fixture (e2e_support.hiveon_on_loopback)."""
    return vendor[0]
