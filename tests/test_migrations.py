"""Schema migrations on SQLite and PostgreSQL: they build exactly the models, run safely when
replicas start together, upgrade files made before migrations, and `python -m bot migrate`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from bot.migrations import HEAD, alembic_config, head
from bot.migrations.models import target_metadata
from bot.store import Store
from bot.testing.processes import ROOT
from tests.databases import query, tables

EVERY_TABLE = {
    "alembic_version",
    "deployments",
    "workspaces",
    "workspace_changes",
    "presets",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
}
# What `create_all` made before migrations existed (deploybot 4e23d73), OAuth tables last.
LEGACY_SCHEMA = """
CREATE TABLE deployments (
    id INTEGER NOT NULL, team_id VARCHAR(32) NOT NULL, enterprise_id VARCHAR(32),
    user_id VARCHAR(32) NOT NULL, channel_id VARCHAR(32) NOT NULL, message_channel VARCHAR(32),
    message_ts VARCHAR(32), external_deployment_id VARCHAR(255) NOT NULL,
    deployment_id VARCHAR(255), status VARCHAR(32) NOT NULL, http_status INTEGER, error TEXT,
    request JSON NOT NULL, response_url TEXT, created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL, vendor_status VARCHAR(32), vendor_status_at DATETIME,
    fail_reason TEXT, next_poll_at DATETIME, poll_interval_s FLOAT, follow_until DATETIME,
    PRIMARY KEY (id), UNIQUE (team_id, external_deployment_id)
);
CREATE INDEX ix_deployments_next_poll_at ON deployments (next_poll_at);
CREATE TABLE workspaces (
    scope VARCHAR(64) NOT NULL, enterprise_id VARCHAR(32), team_id VARCHAR(32),
    api_key_encrypted TEXT, api_key_hint VARCHAR(8), api_key_set_by VARCHAR(32),
    api_key_set_at DATETIME, allowed_channels JSON NOT NULL, allowed_users JSON NOT NULL,
    allowed_usergroups JSON NOT NULL, access_set_by VARCHAR(32), access_set_at DATETIME,
    PRIMARY KEY (scope)
);
CREATE TABLE workspace_changes (
    id INTEGER NOT NULL, scope VARCHAR(64) NOT NULL, enterprise_id VARCHAR(32),
    team_id VARCHAR(32), user_id VARCHAR(32) NOT NULL, at DATETIME NOT NULL,
    action VARCHAR(32) NOT NULL, detail JSON NOT NULL, PRIMARY KEY (id)
);
CREATE INDEX ix_workspace_changes_scope ON workspace_changes (scope);
"""
LEGACY_OAUTH_SCHEMA = """
CREATE TABLE slack_bots (
    id INTEGER NOT NULL, client_id VARCHAR(32) NOT NULL, app_id VARCHAR(32) NOT NULL,
    enterprise_id VARCHAR(32), enterprise_name VARCHAR(200), team_id VARCHAR(32),
    team_name VARCHAR(200), bot_token VARCHAR(200), bot_id VARCHAR(32), bot_user_id VARCHAR(32),
    bot_scopes VARCHAR(1000), bot_refresh_token VARCHAR(200), bot_token_expires_at DATETIME,
    is_enterprise_install BOOLEAN NOT NULL, installed_at DATETIME NOT NULL, PRIMARY KEY (id)
);
CREATE INDEX slack_bots_idx ON slack_bots (client_id, enterprise_id, team_id, installed_at);
CREATE TABLE slack_installations (
    id INTEGER NOT NULL, client_id VARCHAR(32) NOT NULL, app_id VARCHAR(32) NOT NULL,
    enterprise_id VARCHAR(32), enterprise_name VARCHAR(200), enterprise_url VARCHAR(200),
    team_id VARCHAR(32), team_name VARCHAR(200), bot_token VARCHAR(200), bot_id VARCHAR(32),
    bot_user_id VARCHAR(32), bot_scopes VARCHAR(1000), bot_refresh_token VARCHAR(200),
    bot_token_expires_at DATETIME, user_id VARCHAR(32) NOT NULL, user_token VARCHAR(200),
    user_scopes VARCHAR(1000), user_refresh_token VARCHAR(200), user_token_expires_at DATETIME,
    incoming_webhook_url VARCHAR(200), incoming_webhook_channel VARCHAR(200),
    incoming_webhook_channel_id VARCHAR(200), incoming_webhook_configuration_url VARCHAR(200),
    is_enterprise_install BOOLEAN NOT NULL, token_type VARCHAR(32),
    installed_at DATETIME NOT NULL, PRIMARY KEY (id)
);
CREATE INDEX slack_installations_idx
    ON slack_installations (client_id, enterprise_id, team_id, user_id, installed_at);
CREATE TABLE slack_oauth_states (
    id INTEGER NOT NULL, state VARCHAR(200) NOT NULL, expire_at DATETIME NOT NULL,
    PRIMARY KEY (id)
);
"""


def differences(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models: nothing, if the
    migrations are right."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, target_metadata()))


async def schema_differences(database_url: str) -> list[Any]:
    """`differences` of the database at `database_url`."""
    store = Store.from_url(database_url)
    try:
        async with store.engine.connect() as connection:
            return await connection.run_sync(differences)
    finally:
        await store.close()


def revision(database_url: str) -> str:
    """The revision alembic_version records."""
    [(version,)] = query(database_url, "SELECT version_num FROM alembic_version")
    return str(version)


async def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    """An empty database migrated to the newest revision has every table, column, type, index
    and constraint the models (and slack_sdk's stores) declare, and nothing else."""
    store = Store.from_url(database_url)
    await store.migrate()
    await store.close()
    assert await schema_differences(database_url) == []
    assert tables(database_url) == EVERY_TABLE
    assert revision(database_url) == head() == HEAD == "0008"


async def test_migrating_again_changes_nothing(database_url: str) -> None:
    """A second start migrates nothing and keeps the rows."""
    store = Store.from_url(database_url)
    await store.migrate()
    query(
        database_url,
        "INSERT INTO workspace_changes (scope, user_id, at, action, detail)"
        " VALUES ('T1', 'U1', :at, 'api_key_set', '{}')",
        at=datetime.now(UTC),
    )
    await store.migrate()
    await store.close()
    assert query(database_url, "SELECT scope, user_id FROM workspace_changes") == [("T1", "U1")]
    assert revision(database_url) == head()


async def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    """Downgrading to nothing drops every table; upgrading again rebuilds the same schema."""
    store = Store.from_url(database_url)
    await store.migrate()
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
    assert tables(database_url) == {"alembic_version"}
    await store.migrate()
    await store.close()
    assert await schema_differences(database_url) == []


@pytest.mark.parametrize(("oauth", "stamped"), [(False, "0001"), (True, "0002")])
async def test_a_sqlite_file_from_before_migrations_is_stamped_and_upgraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, *, oauth: bool, stamped: str
) -> None:
    """A file `create_all` made before migrations existed (with the OAuth tables when OAuth had
    run) is marked as the revision it matches, then upgraded: its rows stay, the schema ends
    exactly like a new one's. (Only SQLite predates migrations: PostgreSQL came with them.)"""
    path = tmp_path / "deploybot.sqlite3"
    with closing(sqlite3.connect(path)) as legacy:
        legacy.executescript(LEGACY_SCHEMA + (LEGACY_OAUTH_SCHEMA if oauth else ""))
        legacy.execute(
            "INSERT INTO deployments (team_id, user_id, channel_id, external_deployment_id,"
            " status, request, created_at, updated_at) VALUES ('T1', 'U1', 'C1', 'ext-old',"
            " 'started', ?, '2026-11-01 10:00:00', '2026-11-01 10:00:00')",
            (json.dumps({"machine_id": "m-1"}),),
        )
        legacy.commit()
    url = f"sqlite:///{path}"
    caplog.set_level("INFO", logger="bot.migrations")

    store = Store.from_url(url)
    await store.migrate()
    try:
        row = await store.find(team_id="T1", external_deployment_id="ext-old")
        assert row is not None
        assert (row.status, row.request, row.lease_owner) == (
            "started",
            {"machine_id": "m-1"},
            None,
        )
        assert row.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    finally:
        await store.close()
    assert f"the database predates migrations: marking it as revision {stamped}" in caplog.text
    assert revision(url) == head()
    assert tables(url) == EVERY_TABLE
    assert await schema_differences(url) == []


def migrate_command(cwd: Path, database_url: str) -> subprocess.Popen[str]:
    """`python -m bot migrate` with DATABASE_URL and nothing else of deploybot's settings."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.e2e  # three `python -m bot migrate` processes
def test_python_m_bot_migrate_by_three_processes_at_once_upgrades_once(
    database_url: str, tmp_path: Path
) -> None:
    """`python -m bot migrate`, run by three processes at the same moment with only
    DATABASE_URL set (no Slack credentials), as replicas starting together do: the lock lets
    one upgrade while the others wait and find nothing to do; all exit 0, serving nothing."""
    processes = [migrate_command(tmp_path, database_url) for _ in range(3)]
    outcomes = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outcomes
    upgraded = [err for _, err in outcomes if "database schema upgraded" in err]
    assert len(upgraded) == 1
    assert f"from revision none to {head()}" in upgraded[0]
    assert revision(database_url) == head()
    assert tables(database_url) == EVERY_TABLE


@pytest.mark.e2e  # `python -m bot migrate`, then a fresh interpreter to see what it imports
def test_a_start_on_a_schema_at_the_newest_revision_never_imports_alembic(
    database_url: str, tmp_path: Path
) -> None:
    """Once migrated, a process starting reads the revision and leaves Alembic unimported
    (start-up time and memory); the schema stays at its revision."""
    migrated = migrate_command(tmp_path, database_url)
    _, err = migrated.communicate(timeout=60)
    assert migrated.returncode == 0, err
    code = (
        "import asyncio, sys\n"
        "from bot.store import Store\n"
        "store = Store.from_url(sys.argv[1])\n"
        "asyncio.run(store.migrate())\n"
        "asyncio.run(store.close())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'alembic', 'mako'}))\n"
    )
    result = subprocess.run(  # noqa: S603 — this interpreter, our own code
        [sys.executable, "-c", code, database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]", result.stderr
    assert revision(database_url) == HEAD


@pytest.mark.e2e  # a `python -m bot migrate` process
def test_python_m_bot_migrate_explains_an_unreachable_database(tmp_path: Path) -> None:
    """A database that cannot be reached is one clear line and exit status 1: no traceback,
    no password."""
    process = migrate_command(tmp_path, "postgres://deploybot:pg-secret@127.0.0.1:9/deploybot")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.startswith("deploybot: could not migrate DATABASE_URL:")
    assert "Connection refused" in err
    assert "Traceback" not in err
    assert "pg-secret" not in err


async def test_a_deployment_id_claimed_twice_in_a_workspace_keeps_only_its_first_claim(
    database_url: str,
) -> None:
    """Upgrading a database where a later submission recorded a deployment ID an earlier one of
    the same workspace holds (an external ID typed as someone else's deployment ID) clears the
    later claim, marks it unknown and stops following it; other workspaces keep theirs; from
    then on a second claim cannot be written."""
    store = Store.from_url(database_url)
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0003"))
    rows = [("T1", "ext-alice", "dep-A"), ("T1", "dep-A", "dep-A"), ("T2", "ext-other", "dep-A")]
    for team, external_id, deployment_id in rows:
        query(
            database_url,
            "INSERT INTO deployments (team_id, user_id, channel_id, external_deployment_id,"
            " deployment_id, status, request, created_at, updated_at, next_poll_at)"
            " VALUES (:team, 'U1', 'C1', :external_id, :deployment_id, 'started', '{}', :at, :at,"
            " :at)",
            team=team,
            external_id=external_id,
            deployment_id=deployment_id,
            at=datetime.now(UTC),
        )
    await store.migrate()
    await store.close()
    found = query(
        database_url,
        "SELECT team_id, external_deployment_id, deployment_id, status, error,"
        " next_poll_at IS NULL FROM deployments ORDER BY id",
    )
    cleared = "deployment ID cleared: an earlier submission of this workspace holds it"
    assert found == [
        ("T1", "ext-alice", "dep-A", "started", None, False),
        ("T1", "dep-A", None, "unknown", cleared, True),
        ("T2", "ext-other", "dep-A", "started", None, False),
    ]
    with pytest.raises(IntegrityError):
        query(
            database_url,
            "UPDATE deployments SET deployment_id = 'dep-A' WHERE external_deployment_id = 'dep-A'",
        )
